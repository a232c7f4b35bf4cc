"""One connection to a chain, shared by every reader and sender of this package.

:class:`ChainConnection` wraps a ``Web3``: it checks the chain id once, reads
blocks, finds the block of a point in time, and is the one place where everything
third-party that can go wrong (web3.py, eth-tester, py-evm, ``requests``) becomes a
:mod:`ipnotary.chain.errors` error (:meth:`ChainConnection.rpc`). Reverts are decoded
against the ABIs of every contract the package ships, so the same connection
serves the EvidenceRegistry and the PledgeRegistry.

:class:`ContractView` is the base of the read-only contract views
(:class:`ipnotary.chain.client.AnchorReader`, :class:`ipnotary.chain.pledges.PledgeReader`): bind an
address, check its code is the compiled artifact's, translate errors with the
contract's name attached.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self, cast
from urllib.parse import unquote, urlsplit

import requests
from eth_utils import keccak, to_checksum_address
from eth_utils.exceptions import ValidationError as EthUtilsValidationError
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BlockNotFound as Web3BlockNotFound
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    Web3Exception,
    Web3RPCError,
)
from web3.providers.rpc import HTTPProvider

if TYPE_CHECKING:  # py-evm is loaded only when an embedded chain is opened
    from ipnotary.chain._embedded import EmbeddedChain

from ipnotary.chain._artifacts import ContractArtifact, RevertDecoder, load_artifact
from ipnotary.chain.errors import (
    BlockNotFound,
    ChainError,
    ChainUnavailable,
    ContractMismatch,
    ContractNotFound,
    ContractReverted,
    HistoricalStateUnavailable,
    InsufficientFunds,
    WrongChainId,
    revert_error_class,
)
from ipnotary.chain.types import Address, BlockHash, BlockInfo, BlockNumber, ChainId

__all__ = ["KNOWN_CONTRACTS", "ChainConnection", "ContractView", "node_name"]

KNOWN_CONTRACTS: Final = ("EvidenceRegistry", "PledgeRegistry")
"""Contracts whose custom errors every connection decodes."""


class ChainConnection:
    """A ``Web3`` on a known chain, with every failure translated into
    :mod:`ipnotary.chain.errors`."""

    def __init__(
        self,
        w3: Web3,
        *,
        endpoint: str | None = None,
        embedded: EmbeddedChain | None = None,
        expected_chain_id: int | None = None,
    ) -> None:
        """``endpoint`` names the node in messages; ``embedded`` is only used for hints.

        A URL is shown by its origin only (:func:`node_name`), and third-party error texts are
        cleaned of the rest of the provider's URL: it may hold credentials.
        The connection never closes ``embedded``: whoever opened it does.
        """
        self.w3 = w3
        uri = getattr(w3.provider, "endpoint_uri", None)
        self.endpoint = node_name(endpoint or str(uri or type(w3.provider).__name__))
        self._private = _private_parts(str(uri or ""), endpoint or "")
        self.embedded = embedded
        self.decoder = RevertDecoder(load_artifact(name).abi for name in KNOWN_CONTRACTS)
        with self.rpc("reading the chain id"):
            actual = int(self.w3.eth.chain_id)
        if expected_chain_id is not None and actual != expected_chain_id:
            raise WrongChainId(expected_chain_id, actual)
        self.chain_id = ChainId(actual)

    # -- blocks -------------------------------------------------------------------

    def head(self) -> BlockNumber:
        with self.rpc("reading the head block number"):
            return BlockNumber(self.w3.eth.block_number)

    def block(self, block: int | str) -> BlockInfo:
        with self.rpc(f"reading block {block}"):
            try:
                data = self.w3.eth.get_block(cast(Any, block))
            except Web3BlockNotFound:
                raise BlockNotFound(f"block {block} is not on chain {self.chain_id}") from None
        return BlockInfo(
            number=BlockNumber(data["number"]),
            hash=BlockHash(hex_str(data["hash"])),
            timestamp=int(data["timestamp"]),
        )

    def genesis_hash(self) -> BlockHash:
        return self.block(0).hash

    def block_at_or_before(self, timestamp: int) -> BlockInfo:
        """The newest canonical block whose timestamp is ``timestamp`` or earlier.

        Binary search over block numbers (block times never decrease), about
        ``log2(head)`` block reads. If ``timestamp`` is later than the head block the
        head is returned, and a block mined later may still carry a time at or
        before ``timestamp``: ask again once the chain has passed that time.
        """
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            raise TypeError(
                f"timestamp must be an int of Unix seconds, got {type(timestamp).__name__}"
            )
        head = self.block("latest")
        if head.timestamp <= timestamp:
            return head
        low = self.block(0)
        if low.timestamp > timestamp:
            raise BlockNotFound(
                f"chain {self.chain_id} has no block at or before {timestamp} "
                f"({_utc(timestamp)}): its genesis block is from {low.timestamp} "
                f"({_utc(low.timestamp)}); nothing was recorded on it that early"
            )
        high_number = int(head.number)  # invariant: low.timestamp <= timestamp < time(high)
        while high_number - int(low.number) > 1:
            middle = self.block((int(low.number) + high_number) // 2)
            if middle.timestamp <= timestamp:
                low = middle
            else:
                high_number = int(middle.number)
        return low

    # -- contracts ------------------------------------------------------------------

    def bind(self, artifact: ContractArtifact, address: str) -> Contract:
        try:
            checksummed = to_checksum_address(address)
        except (ValueError, TypeError) as exc:
            raise ContractNotFound(
                f"{address!r} is not an Ethereum address; set the contract address to the "
                f"0x-prefixed 20-byte address of the deployed {artifact.name}"
            ) from exc
        return self.w3.eth.contract(address=checksummed, abi=cast(Any, list(artifact.abi)))

    def verify_code(self, artifact: ContractArtifact, address: str) -> None:
        """Raise unless the code at ``address`` is exactly ``artifact``'s runtime code."""
        self.match_code(address, (artifact,))

    def match_code(self, address: str, candidates: Sequence[ContractArtifact]) -> ContractArtifact:
        """The artifact among ``candidates`` whose runtime code is exactly the code at ``address``.

        ``candidates[0]`` is the current build (named in messages); the others are
        frozen earlier versions that may be read. Raises :class:`ContractNotFound` or
        :class:`ContractMismatch` when none matches.
        """
        current = candidates[0]
        with self.rpc("reading the contract code", contract=current.name, address=address):
            code = bytes(self.w3.eth.get_code(cast(Any, address)))
            head = self.w3.eth.block_number
        if not code:
            raise ContractNotFound(
                f"no contract code at {address} on chain {self.chain_id} (head block {head}): "
                "check the configured contract address and that the node is the right one, "
                f"or leave the address unset to deploy a new {current.name}"
            )
        for artifact in candidates:
            if code == artifact.deployed_bytecode:
                return artifact
        expected = current.deployed_bytecode
        also = " (nor an earlier version it reads)" if len(candidates) > 1 else ""
        raise ContractMismatch(
            f"the code at {address} on chain {self.chain_id} is not the {current.name} "
            f"this version was built with{also} ({len(code)} bytes, keccak "
            f"0x{keccak(code).hex()[:16]}..; expected {len(expected)} bytes, keccak "
            f"0x{keccak(expected).hex()[:16]}..): configure the address of a registry deployed "
            "by this version, or leave it unset to deploy one"
        )

    def has_code(self, address: str, block: int | str) -> bool:
        with self.rpc(f"reading the contract code at block {block}"):
            return bool(self.w3.eth.get_code(cast(Any, address), cast(Any, block)))

    # -- error translation --------------------------------------------------------------

    @contextmanager
    def rpc(
        self,
        action: str,
        *,
        function: str | None = None,
        tx_hash: str | None = None,
        contract: str | None = None,
        address: str | None = None,
    ) -> Iterator[None]:
        """Translate every third-party failure inside the block into :mod:`ipnotary.chain.errors`.

        ``contract`` (a name) and ``address`` say whose revert it is, for the message.
        """
        try:
            yield
        except ChainError:
            raise
        except ContractLogicError as exc:
            raise self.reverted(
                revert_data(exc.data),
                self.scrub(str(exc.message or exc)),
                function=function,
                tx_hash=tx_hash,
                contract=contract,
                address=address,
            ) from exc
        except (
            requests.ConnectionError,
            requests.Timeout,
            ProviderConnectionError,
            TimeExhausted,
            ConnectionError,
        ) as exc:
            raise ChainUnavailable(
                f"cannot reach the chain node ({self.endpoint}) while {action}: "
                f"{self.scrub(str(exc))}; check that the node is running and the RPC URL setting"
            ) from exc
        except requests.RequestException as exc:
            raise ChainUnavailable(
                f"the chain node ({self.endpoint}) failed while {action}: {self.scrub(str(exc))}"
            ) from exc
        except Web3RPCError as exc:
            message = self.scrub(rpc_message(exc))
            data = revert_data(rpc_error_data(exc))
            if data or "revert" in message.lower():
                # Hardhat executes a transaction on send and reports its revert right there.
                raise self.reverted(
                    data,
                    message,
                    function=function,
                    tx_hash=tx_hash,
                    contract=contract,
                    address=address,
                ) from exc
            if is_insufficient_funds(message):
                raise self.insufficient_funds(message, tx_hash) from exc
            if _is_pruned_state(message):
                raise HistoricalStateUnavailable(
                    f"the chain node ({self.endpoint}) no longer has the state needed for "
                    f"{action} ({message}): read old blocks through an archive node "
                    "(e.g. geth --gcmode=archive), or ask about a more recent time"
                ) from exc
            raise ChainUnavailable(
                f"the chain node ({self.endpoint}) refused {action}: {message}"
            ) from exc
        except (Web3Exception, EthUtilsValidationError) as exc:
            raise ChainError(f"{action} failed on {self.endpoint}: {self.scrub(str(exc))}") from exc

    def scrub(self, text: str) -> str:
        """``text`` without the parts of the node's URL past its origin (``requests`` quotes
        the path in "Max retries exceeded with url: /v3/<API key>")."""
        for part in self._private:
            text = text.replace(part, "***")
        return text

    def reverted(
        self,
        data: bytes,
        message: str,
        *,
        function: str | None,
        tx_hash: str | None,
        contract: str | None,
        address: str | None,
    ) -> ContractReverted:
        decoded = self.decoder.decode(data)
        if decoded.name is None and not data:
            # Some nodes send only a reason text ("execution reverted: ...").
            return ContractReverted(
                "Error",
                {"message": message},
                tx_hash=tx_hash,
                contract=contract,
                address=address,
                function=function,
            )
        return revert_error_class(decoded.name)(
            decoded.name,
            decoded.args,
            data=data,
            tx_hash=tx_hash,
            contract=contract,
            address=address,
            function=function,
        )

    def insufficient_funds(self, message: str, tx_hash: str | None) -> InsufficientFunds:
        hint = "fund it, or configure the key of a funded account"
        if self.embedded is not None:
            funded = ", ".join(self.embedded.genesis_accounts) or "no account"
            hint = (
                f"the embedded chain funded only {funded} when it was created; configure "
                "that account's key, or start a new embedded chain in an empty directory"
            )
        return InsufficientFunds(
            f"the signing account cannot pay for gas on chain {self.chain_id} ({message}): {hint}",
            tx_hash=tx_hash,
        )


class ContractView:
    """Read-only view of one deployed contract of ours; base of the readers.

    Subclasses name their artifact in ``CONTRACT``, call :meth:`_open` and then
    :meth:`_attach`. A view closes the embedded chain it was given to own.
    """

    CONTRACT: ClassVar[str]

    def __init__(
        self,
        w3: Web3,
        *,
        registry_address: str,
        expected_chain_id: int | None = None,
        endpoint: str | None = None,
        embedded: EmbeddedChain | None = None,
    ) -> None:
        """Use any ``Web3`` (HTTP, IPC, an open :class:`EmbeddedChain`'s ``w3``).

        ``endpoint`` names the node in error messages; ``embedded`` is closed by :meth:`close`.
        The writing clients build their connection from a sender and do not call this.
        """
        connection = ChainConnection(
            w3, endpoint=endpoint, embedded=embedded, expected_chain_id=expected_chain_id
        )
        self._open(connection, owned=embedded)
        self._attach(registry_address)

    _conn: ChainConnection
    _artifact: ContractArtifact
    _contract: Contract

    def _open(self, connection: ChainConnection, *, owned: EmbeddedChain | None) -> None:
        self._conn = connection
        self._w3 = connection.w3
        self._chain_id = connection.chain_id
        self._owned_chain = owned
        self._artifact = load_artifact(self.CONTRACT)

    def _attach(self, address: str) -> None:
        self._contract = self._conn.bind(self._artifact, address)
        self._conn.verify_code(self._artifact, self._contract.address)

    # -- construction (for the read-only views; the writing clients have their own) ---------

    @classmethod
    def from_rpc(
        cls,
        url: str,
        *,
        registry_address: str,
        expected_chain_id: int | None = None,
        request_timeout: float = 10.0,
    ) -> Self:
        """Read the contract at ``registry_address`` through the JSON-RPC node at ``url``."""
        view: Self = cls(
            http_web3(url, request_timeout),
            registry_address=registry_address,
            expected_chain_id=expected_chain_id,
            endpoint=url,
        )
        return view

    @classmethod
    def from_embedded(
        cls, data_dir: str | os.PathLike[str], *, registry_address: str | None = None
    ) -> Self:
        """Read an embedded chain's directory without locking it (the service may run).

        Without ``registry_address`` the address the service recorded in the
        directory's ``deployments.json`` is used.
        """
        from ipnotary.chain._deployments import recorded_address
        from ipnotary.chain._embedded import EmbeddedChain

        chain = EmbeddedChain.open_read_only(data_dir)
        try:
            if registry_address is None:
                registry_address = recorded_address(data_dir, chain.chain_id, cls.CONTRACT)
            view: Self = cls(
                chain.w3,
                registry_address=registry_address,
                expected_chain_id=chain.chain_id,
                endpoint=f"embedded chain {Path(data_dir)}",
                embedded=chain,
            )
            return view
        except BaseException:
            chain.close()
            raise

    # -- public API -------------------------------------------------------------------

    @property
    def chain_id(self) -> ChainId:
        return self._chain_id

    @property
    def registry_address(self) -> Address:
        """Checksummed address of the contract this object talks to."""
        return Address(self._contract.address)

    @property
    def w3(self) -> Web3:
        """The underlying web3 instance (tests and tooling; errors are not translated)."""
        return self._w3

    def head(self) -> BlockNumber:
        """Number of the newest block."""
        return self._conn.head()

    def genesis_hash(self) -> BlockHash:
        """Hash of block 0 (0x-prefixed lower-case hex): names the chain better than its id.

        Chain ids are chosen freely, so two chains (a reset development chain, another
        network that took the same id) can share one, while a genesis block made at
        another time or with other accounts has another hash. A trust policy pins it.
        """
        return self._conn.genesis_hash()

    def block(self, block: int | str) -> BlockInfo:
        """A canonical block by number, by 0x-hash, or ``"latest"``."""
        return self._conn.block(block)

    def block_at_or_before(self, timestamp: int) -> BlockInfo:
        """The newest block stamped ``timestamp`` (Unix seconds) or earlier.

        State "as of" a time is the state at this block. Raises
        :class:`ipnotary.chain.errors.BlockNotFound` for a time before the genesis block.
        """
        return self._conn.block_at_or_before(timestamp)

    def check(self) -> None:
        """Readiness: the node answers, serves the configured chain, and the contract is ours."""
        with self._rpc("checking the chain id"):
            actual = int(self._w3.eth.chain_id)
        if actual != self._chain_id:
            raise WrongChainId(self._chain_id, actual)
        self._conn.verify_code(self._artifact, self._contract.address)

    def close(self) -> None:
        """Release the embedded chain this object owns (if any); unusable afterwards."""
        if self._owned_chain is not None:
            self._owned_chain.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- for subclasses -------------------------------------------------------------

    def _rpc(self, action: str, *, function: str | None = None, tx_hash: str | None = None) -> Any:
        bound = getattr(self, "_contract", None)  # not yet bound while deploying
        return self._conn.rpc(
            action,
            function=function,
            tx_hash=tx_hash,
            contract=self._artifact.name,
            address=None if bound is None else bound.address,
        )


# -- helpers shared by the chain modules ----------------------------------------------------


def http_web3(url: str, request_timeout: float) -> Web3:
    # No automatic retries: the caller (the anchoring worker) retries on its own
    # schedule and readiness should report an unreachable node at once.
    provider = HTTPProvider(
        url, request_kwargs={"timeout": request_timeout}, exception_retry_configuration=None
    )
    return Web3(provider)


def hex_str(value: Any) -> str:
    """0x-prefixed lower-case hex of bytes, HexBytes or a hex string."""
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


def revert_data(data: Any) -> bytes:
    """Raw revert bytes from the shapes nodes use: "0x..", {"data": "0x.."}, nested dicts."""
    for _ in range(3):
        if isinstance(data, Mapping):
            data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    return b""


def rpc_error_data(exc: Web3RPCError) -> Any:
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, Mapping):
        error = response.get("error")
        if isinstance(error, Mapping):
            return error.get("data")
    return None


def rpc_message(exc: Web3RPCError) -> str:
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, Mapping):
        error = response.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
    return str(exc.message if hasattr(exc, "message") else exc)


def is_insufficient_funds(message: str) -> bool:
    lowered = message.lower()
    return "insufficient funds" in lowered or "enough funds" in lowered


def _is_pruned_state(message: str) -> bool:
    lowered = message.lower()
    return any(
        text in lowered for text in ("missing trie node", "historical state", "state not available")
    )


def _utc(timestamp: int) -> str:
    try:
        return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return "out of range"


def node_name(endpoint: str) -> str:
    """How messages name a node: a URL by its origin (``scheme://host:port``) alone, since its
    user-info, path and query may hold credentials (``https://user:pass@host/v3/<API key>``);
    anything else (``embedded chain /data``) as given."""
    if "://" not in endpoint:
        return endpoint
    try:
        parts = urlsplit(endpoint.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "the chain node"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _private_parts(*urls: str) -> tuple[str, ...]:
    """What follows the origin in ``urls`` (user-info, path, query, fragment, and their pieces
    of 8 characters or more), as written and percent-decoded, longest first."""
    found: set[str] = set()
    for url in urls:
        if "://" not in url:
            continue
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            found.add(url.strip())
            continue
        userinfo, at, _ = parts.netloc.rpartition("@")
        if at:
            found.update({userinfo, *userinfo.split(":", 1)})
        rest = parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")
        found.update({rest, parts.path.rstrip("/"), parts.query, parts.fragment})
        found.update(s for s in parts.path.split("/") if len(s) >= 8)
        found.update(p.partition("=")[2] for p in parts.query.split("&"))
    found |= {unquote(p) for p in found}
    return tuple(sorted((p for p in found if len(p) >= 4), key=len, reverse=True))
