"""An in-process EVM chain whose blocks persist in a directory.

The embedded default of the product needs a chain without a node: py-evm runs the
EVM, eth-tester's ``PyEVMBackend`` gives it a JSON-RPC face, and web3's
``EthereumTesterProvider`` lets the *same* client code talk to it as to a real
node (transactions arrive signed, through ``eth_sendRawTransaction``).

Start reading at :class:`EmbeddedChain`. The layers underneath:

* :class:`SQLiteAtomicDB` - py-evm's key/value store over one SQLite table; each
  ``atomic_batch()`` is one SQLite transaction (WAL, ``synchronous=FULL``), so a
  block, its receipts and the canonical-head pointer land together or not at all.
* :class:`PersistentPyEVMBackend` - builds the chain on that store (genesis on the
  first start, the stored canonical head afterwards), stamps blocks with the wall
  clock time they are mined at, and looks transactions up by index instead of
  scanning every block.
* ``_EmbeddedProvider`` - serialises every request (py-evm is not thread-safe),
  reports the configured chain id, and turns py-evm failures into the JSON-RPC
  errors a geth node would send (revert data, "insufficient funds", "nonce too low").

Each transaction is mined into its own block before ``eth_sendRawTransaction``
returns, so an acknowledged transaction is already durable on disk.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, cast
from urllib.parse import quote

from eth.abc import AtomicWriteBatchAPI, BlockAPI, BlockHeaderAPI, SignedTransactionAPI
from eth.chains.base import MiningChain
from eth.constants import BLANK_ROOT_HASH
from eth.db.atomic import AtomicDBWriteBatch
from eth.db.backends.base import BaseAtomicDB
from eth.exceptions import Revert as EVMRevert
from eth.exceptions import TransactionNotFound as EVMTransactionNotFound
from eth.vm.forks import PragueVM
from eth.vm.spoof import SpoofTransaction
from eth_tester import EthereumTester
from eth_tester.backends.pyevm.main import (
    PyEVMBackend,
    _get_vm_for_block_number,
    get_default_genesis_params,
)
from eth_tester.backends.pyevm.serializers import (
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import TransactionFailed
from eth_tester.exceptions import TransactionNotFound as TesterTransactionNotFound
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_typing import BlockNumber, Hash32
from eth_utils import ValidationError as EthValidationError
from eth_utils import to_canonical_address, to_checksum_address
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.eth_tester.defaults import API_ENDPOINTS, static_return
from web3.types import RPCEndpoint, RPCResponse

from ipnotary.chain.errors import (
    ChainDataLocked,
    ChainDataMismatch,
    ChainUnavailable,
    ReadOnlyChain,
)
from ipnotary.chain.types import DEFAULT_CHAIN_ID

__all__ = [
    "DEFAULT_CHAIN_ID",
    "DEFAULT_GAS_LIMIT",
    "DEFAULT_GENESIS_BALANCE",
    "EmbeddedChain",
    "PersistentPyEVMBackend",
    "SQLiteAtomicDB",
]

DEFAULT_GAS_LIMIT = 30_000_000
DEFAULT_GENESIS_BALANCE = 10**6 * 10**18  # 1e6 ether: gas for millions of anchors
DB_FILE = "chain.sqlite3"
LOCK_FILE = "chain.lock"
_FORMAT = "ip-notary-embedded-chain/1"
_ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
_VM_NAME = "PragueVM"


class SQLiteAtomicDB(BaseAtomicDB):
    """py-evm's atomic key/value database over one SQLite table.

    Writes outside a batch commit on their own; ``atomic_batch()`` collects the
    batch in memory (py-evm's own ``AtomicDBWriteBatch``) and writes it in one
    SQLite transaction. ``synchronous=FULL`` makes every commit durable before it
    returns, which is what lets the chain acknowledge a transaction.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._depth = 0
        if read_only:
            # mode=ro: SQLite itself refuses writes; readers may run beside a writer (WAL).
            uri = f"file:{quote(str(path))}?mode=ro"
            self._conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False
            )
        else:
            # check_same_thread=False: EmbeddedChain serialises access with its own lock.
            self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL)"
                " WITHOUT ROWID"
            )
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )

    # -- key/value API used by py-evm --------------------------------------------

    def __getitem__(self, key: bytes) -> bytes:
        row = self._conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return cast(bytes, row[0])

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._refuse_if_read_only()
        self._conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    def __delitem__(self, key: bytes) -> None:
        self._refuse_if_read_only()
        if self._conn.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self._conn.execute("SELECT 1 FROM kv WHERE key = ?", (key,)).fetchone() is not None

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        self._refuse_if_read_only()
        batch = AtomicDBWriteBatch(self)
        try:
            yield batch
            diff = batch._diff()
            if len(diff):
                with self.transaction():
                    self._conn.executemany(
                        "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
                        diff.pending_items(),
                    )
                    self._conn.executemany(
                        "DELETE FROM kv WHERE key = ?", ((k,) for k in diff.deleted_keys())
                    )
        finally:
            # Same as py-evm's AtomicDB: a batch is unusable once its context ends.
            batch._track_diff = None  # type: ignore[assignment]
            batch._write_target_db = None  # type: ignore[assignment]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One SQLite transaction; nested uses (and batches inside) join the outer one.

        The chain wraps "apply a transaction and mine its block" in one of these: a
        single durable commit per block instead of one per py-evm batch.
        """
        self._refuse_if_read_only()
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self._conn.execute("COMMIT")

    # -- chain metadata, beside py-evm's keys ---------------------------------------

    def read_meta(self) -> dict[str, Any] | None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE name = 'chain'").fetchone()
        except sqlite3.OperationalError:  # read-only open of a file that has no tables
            return None
        return None if row is None else cast(dict[str, Any], json.loads(row[0]))

    def write_meta(self, meta: dict[str, Any]) -> None:
        self._refuse_if_read_only()
        self._conn.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('chain', ?)",
            (json.dumps(meta, sort_keys=True),),
        )

    def close(self) -> None:
        self._conn.close()

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            raise ReadOnlyChain(
                f"the embedded chain at {self.path} is open read-only; "
                "open it without read_only to write (only while no service uses it)"
            )


class _EmbeddedMiningChain(MiningChain):
    """Mirror of eth-tester's ``MainnetTesterPosChain``: post-merge Prague, no PoW.

    The VM schedule is pinned (not eth-tester's default) so a data directory keeps
    replaying with the VM it was created with when the libraries are upgraded.
    """

    vm_configuration = ((BlockNumber(0), PragueVM),)
    chain_id = DEFAULT_CHAIN_ID

    def create_header_from_parent(
        self, parent_header: BlockHeaderAPI, **header_params: Any
    ) -> BlockHeaderAPI:
        # Constant gas limit, as eth-tester does: no miner votes it up or down here.
        header_params["gas_limit"] = parent_header.gas_limit
        return super().create_header_from_parent(parent_header, **header_params)

    def get_transaction_builder(self) -> Any:
        return self.get_vm().get_transaction_builder()


def _chain_class(chain_id: int) -> type[_EmbeddedMiningChain]:
    # py-evm reads chain_id from the class (from_genesis is a classmethod).
    return type(f"EmbeddedChain{chain_id}", (_EmbeddedMiningChain,), {"chain_id": chain_id})


class _RevertWithData(Exception):
    """A call reverted; keeps the raw revert data eth-tester would turn into text."""

    def __init__(self, data: bytes, message: str = "execution reverted") -> None:
        super().__init__(message)
        self.data = data
        self.message = message


def _revert_from(error: BaseException | None) -> _RevertWithData:
    if isinstance(error, EVMRevert) and error.args and isinstance(error.args[0], bytes):
        return _RevertWithData(error.args[0])
    return _RevertWithData(b"", f"execution failed: {error!r}")


class PersistentPyEVMBackend(PyEVMBackend):
    """eth-tester's py-evm backend on a chain built from a persistent database.

    It holds no private keys: every transaction arrives signed. Snapshots and time
    travel are refused because they would rewrite or back-date evidence.
    """

    def __init__(self, chain: MiningChain, *, read_only: bool = False) -> None:
        # Not calling PyEVMBackend.__init__: it builds a throwaway in-memory chain.
        self.chain = chain
        self.account_keys = ()
        self.read_only = read_only

    # -- wall-clock block timestamps --------------------------------------------------

    def _refresh_pending_header(self) -> None:
        """Re-derive the pending header from the head, stamping it with *now*.

        MiningChain prepares the next header right after mining, so without this a
        transaction sent an hour later would carry an hour-old timestamp. Only an
        empty pending block is refreshed; one that holds transactions keeps its header.
        """
        if self.chain.header.transaction_root == BLANK_ROOT_HASH:
            head = self.chain.get_canonical_head()
            # Block times must rise by at least a second. Rather than stamp a block ahead of the
            # wall clock (a notary's timestamps must never claim a time that has not come yet),
            # wait for the next second: at most one block per second, each stamped honestly.
            delay = head.timestamp + 1 - time.time()
            if delay > 0:
                time.sleep(delay)
            self.chain.header = self.chain.create_header_from_parent(head)

    def send_raw_transaction(self, raw_transaction: bytes) -> bytes:
        self._refuse_writes()
        self._refresh_pending_header()
        return cast(bytes, super().send_raw_transaction(raw_transaction))

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = 20 * b"\x00") -> tuple[bytes, ...]:
        self._refuse_writes()
        hashes = []
        for _ in range(num_blocks):
            self._refresh_pending_header()
            hashes.extend(super().mine_blocks(1, coinbase))
        return tuple(hashes)

    def follow_head(self) -> None:
        """Read-only use: pick up blocks another process committed since the last look."""
        self.chain.header = self.chain.create_header_from_parent(self.chain.get_canonical_head())

    # -- refused operations -----------------------------------------------------------

    def _refuse_writes(self) -> None:
        if self.read_only:
            raise ReadOnlyChain(
                "the embedded chain is open read-only; it cannot accept transactions"
            )

    def send_transaction(self, transaction: Any) -> bytes:
        raise NotImplementedError("the embedded chain holds no keys; send signed raw transactions")

    def send_signed_transaction(
        self, signed_transaction: Any, block_number: Any = "latest"
    ) -> bytes:
        raise NotImplementedError("send signed raw transactions (eth_sendRawTransaction)")

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "the embedded chain never resets; delete its data directory instead"
        )

    def take_snapshot(self) -> bytes:
        raise NotImplementedError("snapshots would allow rewriting anchored evidence")

    def revert_to_snapshot(self, snapshot: Any) -> None:
        raise NotImplementedError("snapshots would allow rewriting anchored evidence")

    def time_travel(self, to_timestamp: int) -> int:
        raise NotImplementedError("block timestamps are evidence: they follow the wall clock")

    # -- transactions by index, not by scanning every block ------------------------

    def _locate_transaction(
        self, transaction_hash: bytes
    ) -> tuple[BlockAPI, SignedTransactionAPI, int, bool]:
        try:
            number, index = self.chain.chaindb.get_transaction_index(Hash32(transaction_hash))
        except EVMTransactionNotFound:
            pass
        else:
            block = self.chain.get_canonical_block_by_number(number)
            return block, block.transactions[index], index, False
        if self.chain.header.transaction_root != BLANK_ROOT_HASH:
            pending = self.chain.get_block()
            for index, transaction in enumerate(pending.transactions):
                if transaction.hash == transaction_hash:
                    return pending, transaction, index, True
        raise TesterTransactionNotFound(
            f"No transaction found for transaction hash: 0x{transaction_hash.hex()}"
        )

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        block, transaction, index, is_pending = self._locate_transaction(transaction_hash)
        return serialize_transaction(block, transaction, index, is_pending)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        block, transaction, index, is_pending = self._locate_transaction(transaction_hash)
        receipts = block.get_receipts(self.chain.chaindb)
        return serialize_transaction_receipt(
            block, receipts, transaction, index, is_pending, self.chain.get_vm()
        )

    # -- calls that keep their revert data -----------------------------------------

    def call(self, transaction: Any, block_number: Any = "latest") -> bytes:
        transaction = dict(transaction)
        transaction.setdefault("gas", self._max_available_gas())
        if not any(key in transaction for key in ("gas_price", "max_fee_per_gas")):
            # Like a node: a call without a fee costs nothing, so any sender can make it.
            transaction.update(max_fee_per_gas=0, max_priority_fee_per_gas=0)
        sender = transaction.get("from", 20 * b"\x00")
        unsigned = self._get_normalized_and_unsigned_evm_transaction(transaction, block_number)
        vm = _get_vm_for_block_number(self.chain, block_number)
        with vm.in_costless_state() as state:  # base fee 0, reverted on exit
            computation = state.apply_transaction(SpoofTransaction(unsigned, from_=sender))
        if computation.is_error:
            raise _revert_from(computation.error)
        return cast(bytes, computation.output)

    def estimate_gas(self, transaction: Any, block_number: Any = "latest") -> int:
        if not any(key in transaction for key in ("gas_price", "max_fee_per_gas")):
            # As nodes do: an estimate without a fee does not need the sender to be funded.
            transaction = {**transaction, "max_fee_per_gas": 0, "max_priority_fee_per_gas": 0}
        try:
            return cast(int, super().estimate_gas(transaction, block_number))
        except TransactionFailed as exc:
            raise _revert_from(exc.__cause__) from exc


# py-evm's validation messages, rewritten as geth words them so the client needs
# one translation for every backend.
_GETH_STYLE_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"cannot afford txn gas|enough balance"),
        "insufficient funds for gas * price + value",
    ),
    (re.compile(r"lower than block's base fee"), "max fee per gas less than block base fee"),
    (re.compile(r"exceeds gas limit"), "exceeds block gas limit"),
)
# [0-9], not \d (any script's digits): the chain layer reads numbers in ASCII only, as the SDK does.
_NONCE_ERROR = re.compile(r"Invalid transaction nonce: Expected ([0-9]+), but got ([0-9]+)")


def _geth_style_message(message: str) -> str:
    match = _NONCE_ERROR.search(message)
    if match:
        expected, got = int(match.group(1)), int(match.group(2))
        return f"nonce too {'low' if got < expected else 'high'}: {message}"
    for pattern, prefix in _GETH_STYLE_ERRORS:
        if pattern.search(message):
            return f"{prefix}: {message}"
    return message


class _EmbeddedProvider(EthereumTesterProvider):
    """``EthereumTesterProvider`` that is thread-safe and answers like a node."""

    _WRITE_METHODS = frozenset({"eth_sendRawTransaction", "evm_mine"})
    _CALL_METHODS = frozenset({"eth_call", "eth_estimateGas"})

    def __init__(
        self,
        tester: EthereumTester,
        backend: PersistentPyEVMBackend,
        db: SQLiteAtomicDB,
        *,
        chain_id: int,
        lock: threading.RLock,
    ) -> None:
        # What a node serves, and evm_mine. Snapshots, reverts and time travel would let
        # a caller rewrite or back-date evidence; the chain holds no keys to sign with.
        endpoints = {
            "web3": dict(API_ENDPOINTS["web3"]),
            "net": dict(API_ENDPOINTS["net"]),
            "eth": {
                name: handler
                for name, handler in API_ENDPOINTS["eth"].items()
                if name not in {"sendTransaction", "sign", "signTransaction"}
            },
            "evm": {"mine": API_ENDPOINTS["evm"]["mine"]},
        }
        endpoints["eth"]["chainId"] = static_return(chain_id)
        endpoints["net"]["version"] = static_return(str(chain_id))
        endpoints["eth"]["accounts"] = static_return([])
        super().__init__(tester, api_endpoints=endpoints)
        self._backend = backend
        self._db = db
        self._lock = lock
        self.closed = False

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock:
            if self.closed:
                raise ChainUnavailable("the embedded chain has been closed; open it again")
            if self._backend.read_only:
                if method in self._WRITE_METHODS:
                    raise ReadOnlyChain(
                        "the embedded chain is open read-only: it accepts no transactions"
                    )
                self._backend.follow_head()
                return self._dispatch(method, params)
            if method not in self._WRITE_METHODS:
                return self._dispatch(method, params)
            try:
                # Applying the transaction and mining its block commit together, once.
                with self._db.transaction():
                    return self._dispatch(method, params)
            except BaseException:
                # The database rolled back; drop py-evm's in-memory pending block too.
                self._backend.follow_head()
                raise

    def _dispatch(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if (
            method in self._CALL_METHODS
            and params
            and isinstance(params[0], dict)
            and params[0].get("from") is None
        ):
            # Nodes default a call's sender to the zero address; eth-tester insists on one.
            params = [{**params[0], "from": _ZERO_ADDRESS}, *params[1:]]
        try:
            return super().make_request(method, params)
        except _RevertWithData as exc:
            return self._error(3, exc.message, "0x" + exc.data.hex())
        except (EthValidationError, TesterValidationError) as exc:
            return self._error(-32000, _geth_style_message(str(exc)))

    def _error(self, code: int, message: str, data: str | None = None) -> RPCResponse:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self._current_request_id += 1
        return cast(RPCResponse, {"jsonrpc": "2.0", "id": self._current_request_id, "error": error})


class EmbeddedChain:
    """A persistent in-process chain, reachable through :attr:`w3`.

    Open it with :meth:`open` (one writer process per directory, enforced with a
    lock file) or :meth:`open_read_only` (any number of readers, also beside a
    running writer). Close it with :meth:`close` or use it as a context manager.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        db: SQLiteAtomicDB,
        chain: MiningChain,
        meta: dict[str, Any],
        read_only: bool,
        lock_fd: int | None,
    ) -> None:
        self.data_dir = data_dir
        self.read_only = read_only
        self.chain_id: int = meta["chain_id"]
        self.genesis_hash: str = meta["genesis_hash"]
        self.genesis_accounts: tuple[str, ...] = tuple(meta.get("genesis_accounts", ()))
        self._db = db
        self._lock_fd = lock_fd
        self._lock = threading.RLock()
        self.backend = PersistentPyEVMBackend(chain, read_only=read_only)
        tester = EthereumTester(backend=self.backend, auto_mine_transactions=True)
        self._provider = _EmbeddedProvider(
            tester, self.backend, db, chain_id=self.chain_id, lock=self._lock
        )
        self.w3 = Web3(self._provider)

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str],
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        genesis_accounts: Sequence[str] = (),
        genesis_balance: int = DEFAULT_GENESIS_BALANCE,
        gas_limit: int = DEFAULT_GAS_LIMIT,
    ) -> EmbeddedChain:
        """Open (creating on first use) the chain stored in ``data_dir`` for writing.

        ``genesis_accounts`` are funded with ``genesis_balance`` wei, and ``gas_limit``
        fixed, only when the chain is created; later opens ignore them. ``chain_id``
        must match the one the directory was created with.
        """
        path = Path(data_dir)
        path.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock_directory(path)
        try:
            db = SQLiteAtomicDB(path / DB_FILE)
            try:
                meta = db.read_meta()
                if meta is None:
                    chain, meta = _create_genesis(
                        db, chain_id, genesis_accounts, genesis_balance, gas_limit
                    )
                else:
                    _check_meta(meta, path, chain_id)
                    chain = _chain_class(chain_id)(db)
            except BaseException:
                db.close()
                raise
        except BaseException:
            _unlock_directory(lock_fd)
            raise
        return cls(data_dir=path, db=db, chain=chain, meta=meta, read_only=False, lock_fd=lock_fd)

    @classmethod
    def open_read_only(cls, data_dir: str | os.PathLike[str]) -> EmbeddedChain:
        """Open a chain for reading only; needs no lock, refuses every write."""
        path = Path(data_dir)
        db_path = path / DB_FILE
        if not db_path.is_file():
            raise ChainUnavailable(
                f"no embedded chain in {path}: expected {db_path}; check the data directory setting"
            )
        try:
            db = SQLiteAtomicDB(db_path, read_only=True)
            meta = db.read_meta()
        except sqlite3.Error as exc:
            raise ChainUnavailable(f"cannot read the embedded chain in {path}: {exc}") from exc
        if meta is None:
            db.close()
            raise ChainUnavailable(f"the embedded chain in {path} was never initialised")
        _check_meta(meta, path, meta["chain_id"])
        chain = _chain_class(meta["chain_id"])(db)
        return cls(data_dir=path, db=db, chain=chain, meta=meta, read_only=True, lock_fd=None)

    def close(self) -> None:
        """Release the database and the directory lock; later requests raise ChainUnavailable."""
        with self._lock:
            if self._provider.closed:
                return
            self._provider.closed = True
            self._db.close()
            if self._lock_fd is not None:
                _unlock_directory(self._lock_fd)
                self._lock_fd = None

    @property
    def closed(self) -> bool:
        return self._provider.closed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _create_genesis(
    db: SQLiteAtomicDB,
    chain_id: int,
    genesis_accounts: Sequence[str],
    genesis_balance: int,
    gas_limit: int,
) -> tuple[MiningChain, dict[str, Any]]:
    state: dict[Any, Any] = {
        to_canonical_address(account): {
            "balance": genesis_balance,
            "nonce": 0,
            "code": b"",
            "storage": {},
        }
        for account in genesis_accounts
    }
    params = get_default_genesis_params({"gas_limit": gas_limit, "timestamp": int(time.time())})
    chain = cast(MiningChain, _chain_class(chain_id).from_genesis(db, params, state))
    genesis = chain.get_canonical_block_header_by_number(BlockNumber(0))
    meta = {
        "format": _FORMAT,
        "vm": _VM_NAME,
        "chain_id": chain_id,
        "genesis_hash": "0x" + genesis.hash.hex(),
        "genesis_accounts": [to_checksum_address(a) for a in genesis_accounts],
        "created": genesis.timestamp,
    }
    # Written last: a crash during genesis leaves no meta, and the next open starts over.
    db.write_meta(meta)
    return chain, meta


def _check_meta(meta: dict[str, Any], path: Path, chain_id: int) -> None:
    if meta.get("format") != _FORMAT or meta.get("vm") != _VM_NAME:
        raise ChainDataMismatch(
            f"{path} holds an embedded chain of format {meta.get('format')!r} "
            f"({meta.get('vm')}), this version reads {_FORMAT!r} ({_VM_NAME}); "
            "use a matching version of the software or a new data directory"
        )
    if meta["chain_id"] != chain_id:
        raise ChainDataMismatch(
            f"the embedded chain in {path} was created with chain id {meta['chain_id']}, "
            f"not {chain_id}: set the chain id back to {meta['chain_id']}, "
            "or use a new data directory for a new chain"
        )


def _lock_directory(path: Path) -> int:
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        # flock is tied to this open file: the kernel drops it when the process dies,
        # so a kill -9 never leaves a stale lock behind.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise ChainDataLocked(
            f"the embedded chain in {path} is in use by another process (pid {holder}); "
            "stop that process first, or open the chain read-only to only read anchors"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def _unlock_directory(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
