"""Errors raised by the chain layer.

Everything web3.py, eth-tester, py-evm or ``requests`` can raise is translated at
the boundary of :mod:`chain` into one of these, so callers catch ``ChainError``
(or a builtin it also inherits) and never a third-party type. Every message says
what to do about it.

::

    ChainError
    ├── ChainUnavailable (ConnectionError)        node unreachable, RPC failure
    ├── ChainDataLocked (RuntimeError)            embedded data dir in use by another process
    ├── ChainDataMismatch (ValueError)            embedded data dir made with other settings
    ├── ReadOnlyChain (PermissionError)           write on a read-only chain or reader
    ├── WrongChainId (ValueError)                 node serves another chain than configured
    ├── ChainReset (RuntimeError)                 recorded deployment belongs to an older genesis
    ├── ArtifactError (RuntimeError)              compiled contract artifact missing or malformed
    ├── BlockNotFound (LookupError)               no such block on the canonical chain
    ├── ContractNotFound (LookupError)            no code at the configured address
    ├── ContractMismatch (ValueError)             other code at the configured address
    ├── AnchorEventNotFound (LookupError)         a transaction anchored nothing in this registry
    ├── HistoricalStateUnavailable (LookupError)  node pruned the state of an old block
    ├── InvalidAnchorInput (ValueError)           root/tree size of the wrong type or size
    ├── InvalidPledgeInput (ValueError)           pledge id / bytes32 of the wrong type or size
    └── TransactionError                          a transaction failed; carries ``tx_hash``
        ├── InsufficientFunds (ValueError)        signer cannot pay for gas
        ├── TransactionTimeout (TimeoutError)     not mined / confirmed in time
        ├── TransactionReorged (RuntimeError)     its block left the canonical chain
        └── ContractReverted                      revert; ``error_name``, ``error_args`` decoded from the ABI
            ├── MissingRole (PermissionError)     either contract: the sender lacks the writer role
            │   EvidenceRegistry
            ├── ZeroRoot (ValueError)
            ├── RootAlreadyAnchored
            ├── TreeSizeNotGrowing (ValueError)   ``tree_size``, ``latest_tree_size``
            ├── UnknownBatch (LookupError)
            ├── UnknownRoot (LookupError)
            │   PledgeRegistry
            ├── ZeroPledgeValue (ValueError)      ``field`` names the zero argument
            ├── SameParty (ValueError)
            ├── AssetAlreadyPledged (ValueError)  ``asset_id``, ``active_pledge_id``
            ├── UnknownPledge (LookupError)       ``pledge_id``
            ├── PledgeNotActive                   ``pledge_id``, ``status`` (2 released, 3 enforced)
            ├── NotRegistrar (PermissionError)    ``pledge_id``, ``registrar``, ``caller``
            ├── NotAParty (PermissionError)       ``pledge_id``, ``party``
            ├── NotPledgee (PermissionError)      ``pledge_id``, ``party`` (the pledgor)
            ├── ZeroRegistrar (ValueError)        ``add_registrar`` given the zero address
            └── RegistrarFundingFailed            ``account``, ``amount``: the account refused the wei

Errors are decoded against the ABIs of every contract the package ships, so a
custom error without a class here still arrives with its name and arguments.
"""  # noqa: E501 - the tree of errors above is wider than 100 columns

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils import keccak, to_checksum_address

__all__ = [
    "AnchorEventNotFound",
    "ArtifactError",
    "AssetAlreadyPledged",
    "BlockNotFound",
    "ChainDataLocked",
    "ChainDataMismatch",
    "ChainError",
    "ChainReset",
    "ChainUnavailable",
    "ContractMismatch",
    "ContractNotFound",
    "ContractReverted",
    "HistoricalStateUnavailable",
    "InsufficientFunds",
    "InvalidAnchorInput",
    "InvalidPledgeInput",
    "MissingRole",
    "NotAParty",
    "NotPledgee",
    "NotRegistrar",
    "PledgeNotActive",
    "ReadOnlyChain",
    "RegistrarFundingFailed",
    "RootAlreadyAnchored",
    "SameParty",
    "TransactionError",
    "TransactionReorged",
    "TransactionTimeout",
    "TreeSizeNotGrowing",
    "UnknownBatch",
    "UnknownPledge",
    "UnknownRoot",
    "WrongChainId",
    "ZeroPledgeValue",
    "ZeroRegistrar",
    "ZeroRoot",
    "revert_error_class",
]


class ChainError(Exception):
    """Root of every error raised by :mod:`chain`."""


class ChainUnavailable(ChainError, ConnectionError):
    """The chain node cannot be reached or answered with an RPC failure."""


class ChainDataLocked(ChainError, RuntimeError):
    """Another process holds the embedded chain's data directory."""


class ChainDataMismatch(ChainError, ValueError):
    """The embedded chain's data directory was created with different settings."""


class ReadOnlyChain(ChainError, PermissionError):
    """A write was attempted through a read-only chain or an ``AnchorReader``."""


class WrongChainId(ChainError, ValueError):
    """The node serves a different chain than the one configured."""

    def __init__(self, expected: int, actual: int, *, setting: str = "expected_chain_id") -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"the chain node reports chain id {actual}, but {expected} is configured: "
            f"point the RPC URL at a node of chain {expected}, or set {setting}={actual} "
            "if that chain is the one you mean"
        )


class ChainReset(ChainError, RuntimeError):
    """The deployment recorded for this chain id was made on a chain with another genesis."""


class ArtifactError(ChainError, RuntimeError):
    """A compiled contract artifact is missing or malformed."""


class BlockNotFound(ChainError, LookupError):
    """The requested block is not (or no longer) on the node's canonical chain."""


class ContractNotFound(ChainError, LookupError):
    """No contract code exists at the configured address."""


class ContractMismatch(ChainError, ValueError):
    """The code at the configured address is not the expected contract."""


class HistoricalStateUnavailable(ChainError, LookupError):
    """The node no longer keeps the state of the requested block (it prunes old state)."""


class AnchorEventNotFound(ChainError, LookupError):
    """A transaction emitted no anchoring event of the registry asked about.

    ``tx_hash`` is the transaction; the message says whether it is unknown to the
    node, failed, or anchored nothing (or something else) in this registry.
    """

    def __init__(self, message: str, *, tx_hash: str) -> None:
        self.tx_hash = tx_hash
        super().__init__(message)


class InvalidAnchorInput(ChainError, ValueError):
    """A root or tree size has the wrong type or size (checked before any RPC)."""


class InvalidPledgeInput(ChainError, ValueError):
    """A pledge id, hash or timestamp has the wrong type or size (checked before any RPC)."""


class TransactionError(ChainError):
    """A transaction could not be sent, mined or confirmed."""

    def __init__(self, message: str, *, tx_hash: str | None = None) -> None:
        self.tx_hash = tx_hash
        super().__init__(message if tx_hash is None else f"{message} (tx {tx_hash})")


class InsufficientFunds(TransactionError, ValueError):
    """The signing account cannot pay for the transaction's gas."""


class TransactionTimeout(TransactionError, TimeoutError):
    """A transaction was not mined, or not confirmed, within the configured time."""


class TransactionReorged(TransactionError, RuntimeError):
    """A mined transaction's block is no longer part of the canonical chain."""


class ContractReverted(TransactionError):
    """A contract call or transaction reverted.

    ``error_name`` and ``error_args`` come from decoding the revert data against the
    ABIs the client knows (custom errors, ``Error(string)``, ``Panic(uint256)``);
    ``error_name`` is ``None`` when the data matched nothing (``data`` keeps it raw).
    """

    hint: str = ""

    def __init__(
        self,
        error_name: str | None,
        error_args: Mapping[str, Any] | None = None,
        *,
        data: bytes = b"",
        tx_hash: str | None = None,
        contract: str | None = None,
        address: str | None = None,
        function: str | None = None,
    ) -> None:
        self.error_name = error_name
        self.error_args: dict[str, Any] = dict(error_args or {})
        self.data = data
        self.contract = contract
        self.address = address
        self.function = function
        where = (
            f"{contract}.{function}" if contract and function else (function or contract or "call")
        )
        if error_name is None:
            what = f"unrecognised revert data 0x{data.hex()}" if data else "no revert data"
        else:
            shown = ", ".join(f"{k}={_show(v)}" for k, v in self.error_args.items())
            what = f"{error_name}({shown})"
        message = f"{where} reverted with {what}"
        hint = self._hint()
        if hint:
            message = f"{message}: {hint}"
        super().__init__(message, tx_hash=tx_hash)

    def _hint(self) -> str:
        return self.hint


class ZeroRoot(ContractReverted, ValueError):
    hint = "the Merkle root is all zero bytes; anchor the real root of the log"


class RootAlreadyAnchored(ContractReverted):
    hint = (
        "this root is already on chain; call anchor_receipt_for_root() to get the "
        "existing anchor (anchor_root() does this by itself)"
    )


class TreeSizeNotGrowing(ContractReverted, ValueError):
    """The registry refused a checkpoint whose tree size is not larger than the latest one's."""

    @property
    def tree_size(self) -> int:
        return int(self.error_args.get("treeSize", 0))

    @property
    def latest_tree_size(self) -> int:
        return int(self.error_args.get("latestTreeSize", 0))

    def _hint(self) -> str:
        if self.tree_size == 0:
            return "tree_size is 0: an empty log has no checkpoint to anchor"
        return (
            f"the registry already holds a checkpoint of {self.latest_tree_size} leaves, and a log "
            f"only grows: a checkpoint of {self.tree_size} leaves after it means the log would "
            "have shrunk or forked (another log, or this one rebuilt, anchoring into the same "
            "registry). "
            "latest_checkpoint() shows the anchored one; check that the log and the registry "
            "belong together, and never rebuild a log that has been anchored"
        )


class UnknownBatch(ContractReverted, LookupError):
    hint = "no checkpoint has this id; ids run from 1 to batchCount()"


class UnknownRoot(ContractReverted, LookupError):
    hint = "this root was never anchored on this contract"


class MissingRole(ContractReverted, PermissionError):
    def _hint(self) -> str:
        account = self.error_args.get("account", "the sending account")
        role = self.error_args.get("neededRole")
        role_hex = "0x" + role.hex() if isinstance(role, bytes) else str(role)
        name = _ROLE_NAMES.get(role, role_hex) if isinstance(role, bytes) else role_hex
        where = f" on {self.contract or 'the contract'} at {self.address}" if self.address else ""
        return (
            f"account {account} lacks {name} ({role_hex}); an account holding the role's admin "
            f"role must call grantRole({role_hex}, {account}){where}, or configure the private "
            "key of an account that has the role"
        )


# -- PledgeRegistry ---------------------------------------------------------------------
_PLEDGE_PARTIES = "ipnotary.sdk.pledges (asset_id, party_hash, terms_digest)"


class ZeroPledgeValue(ContractReverted, ValueError):
    @property
    def field(self) -> str:
        return str(self.error_args.get("field", "a value"))

    def _hint(self) -> str:
        return (
            f"{self.field} is all zero bytes; pass the 32-byte commitment computed with "
            f"{_PLEDGE_PARTIES}"
        )


class SameParty(ContractReverted, ValueError):
    def _hint(self) -> str:
        return (
            f"pledgor and pledgee are the same party {_show(self.error_args.get('party'))}; "
            "a pledge is given by the asset's owner to another party (the creditor): "
            "check which identifiers were hashed"
        )


class AssetAlreadyPledged(ContractReverted, ValueError):
    @property
    def asset_id(self) -> bytes | None:
        value = self.error_args.get("assetId")
        return value if isinstance(value, bytes) else None

    @property
    def active_pledge_id(self) -> int:
        return int(self.error_args.get("activePledgeId", 0))

    def _hint(self) -> str:
        pledge_id = self.active_pledge_id
        return (
            f"the asset already has active pledge {pledge_id} and can carry only one; "
            f"get_pledge({pledge_id}) shows its parties and terms: release or enforce it "
            "first, or amend() its terms if the same parties changed their agreement"
        )


class UnknownPledge(ContractReverted, LookupError):
    @property
    def pledge_id(self) -> int:
        return int(self.error_args.get("pledgeId", 0))

    def _hint(self) -> str:
        return (
            f"no pledge has id {self.pledge_id} on this registry; ids run from 1 to "
            "pledge_count(): check the id and the registry address"
        )


_STATUS_NAMES = {1: "active", 2: "released", 3: "enforced"}


class PledgeNotActive(ContractReverted):
    @property
    def pledge_id(self) -> int:
        return int(self.error_args.get("pledgeId", 0))

    @property
    def status(self) -> int:
        return int(self.error_args.get("status", 0))

    def _hint(self) -> str:
        state = _STATUS_NAMES.get(self.status, f"in status {self.status}")
        return (
            f"pledge {self.pledge_id} is already {state} and can no longer change; "
            f"get_pledge({self.pledge_id}) shows when, and a new pledge on the asset "
            "needs register()"
        )


class NotRegistrar(ContractReverted, PermissionError):
    """The pledge was registered by another account; only that one may change it."""

    @property
    def pledge_id(self) -> int:
        return int(self.error_args.get("pledgeId", 0))

    @property
    def registrar(self) -> str | None:
        """The registering account, EIP-55 checksummed."""
        return _address(self.error_args.get("registrar"))

    @property
    def caller(self) -> str | None:
        """The refused account, EIP-55 checksummed."""
        return _address(self.error_args.get("caller"))

    def _hint(self) -> str:
        return (
            f"pledge {self.pledge_id} was registered by {self.registrar}, and only that account "
            f"may amend, release or enforce it, not {self.caller}: send the change through the "
            "registrar that registered it (get_pledge() names it)"
        )


class NotAParty(ContractReverted, PermissionError):
    @property
    def pledge_id(self) -> int:
        return int(self.error_args.get("pledgeId", 0))

    @property
    def party(self) -> bytes | None:
        value = self.error_args.get("party")
        return value if isinstance(value, bytes) else None

    def _hint(self) -> str:
        return (
            f"{_show(self.party)} is neither the pledgor nor the pledgee of pledge "
            f"{self.pledge_id}; a release or an enforcement names the pledgee, whose consent "
            f"it carries: pass the pledgee hash get_pledge({self.pledge_id}) shows"
        )


class NotPledgee(ContractReverted, PermissionError):
    @property
    def pledge_id(self) -> int:
        return int(self.error_args.get("pledgeId", 0))

    @property
    def party(self) -> bytes | None:
        value = self.error_args.get("party")
        return value if isinstance(value, bytes) else None

    def _hint(self) -> str:
        return (
            f"{_show(self.party)} is the pledgor of pledge {self.pledge_id}, and only the "
            "pledgee can consent to its release or enforce it: obtain the pledgee's signed consent"
        )


class ZeroRegistrar(ContractReverted, ValueError):
    hint = "a registrar account cannot be the zero address"


class RegistrarFundingFailed(ContractReverted):
    @property
    def account(self) -> str | None:
        return _address(self.error_args.get("account"))

    @property
    def amount(self) -> int:
        return int(self.error_args.get("amount", 0))

    def _hint(self) -> str:
        return (
            f"{self.account} refused the {self.amount} wei sent with its registrar role (a "
            "contract without a receive function?); a registrar is an account with a key: grant "
            "the role without wei, or use another account"
        )


# OpenZeppelin roles are keccak256 of their names; DEFAULT_ADMIN_ROLE is zero.
_ROLE_NAMES: dict[bytes, str] = {bytes(32): "DEFAULT_ADMIN_ROLE"} | {
    keccak(text=name): name for name in ("ANCHORER_ROLE", "REGISTRAR_ROLE")
}

_REVERT_CLASSES: dict[str, type[ContractReverted]] = {
    "EvidenceRegistryZeroRoot": ZeroRoot,
    "EvidenceRegistryTreeSizeNotGrowing": TreeSizeNotGrowing,
    "EvidenceRegistryRootAlreadyAnchored": RootAlreadyAnchored,
    "EvidenceRegistryUnknownBatch": UnknownBatch,
    "EvidenceRegistryUnknownRoot": UnknownRoot,
    "AccessControlUnauthorizedAccount": MissingRole,
    "PledgeRegistryZeroValue": ZeroPledgeValue,
    "PledgeRegistrySameParty": SameParty,
    "PledgeRegistryAssetAlreadyPledged": AssetAlreadyPledged,
    "PledgeRegistryUnknownPledge": UnknownPledge,
    "PledgeRegistryNotActive": PledgeNotActive,
    "PledgeRegistryNotAParty": NotAParty,
    "PledgeRegistryNotPledgee": NotPledgee,
    "PledgeRegistryNotRegistrar": NotRegistrar,
    "PledgeRegistryZeroRegistrar": ZeroRegistrar,
    "PledgeRegistryFundingFailed": RegistrarFundingFailed,
}


def revert_error_class(error_name: str | None) -> type[ContractReverted]:
    """The most specific :class:`ContractReverted` subclass for a decoded error name."""
    if error_name is None:
        return ContractReverted
    return _REVERT_CLASSES.get(error_name, ContractReverted)


def _address(value: Any) -> str | None:
    return None if value is None else to_checksum_address(str(value))


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
