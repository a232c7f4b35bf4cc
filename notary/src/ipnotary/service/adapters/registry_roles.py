"""Who may do what in the deployment's registries: read, grant and renounce their roles.

``notary deploy`` deploys both registries with the service's chain key, which then holds every
role: ``DEFAULT_ADMIN_ROLE`` (grants and revokes roles), ``ANCHORER_ROLE`` in the
``EvidenceRegistry`` and ``REGISTRAR_ROLE`` in the ``PledgeRegistry``. A key that is online on
every API host should not also be able to hand the registries to someone else, so the operator
moves the EvidenceRegistry's admin role to a key kept offline (``notary registry grant admin``
to that key's account, then ``notary registry renounce admin --successor``), and uses that
offline key only to grant ``ANCHORER_ROLE`` to a new anchoring account when the online one is
rotated (docs/operations.md, *Rotating the anchoring account*).

The PledgeRegistry's admin role stays with the service's key: the service provisions each pledge
registrar's account with ``addRegistrar`` as it first writes for it, which needs that role.

Transactions are sent by the chain key of the settings (``NOTARY_CHAIN_PRIVATE_KEY``), through the
same sender as anchoring; each waits for its receipt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from eth_utils import keccak, to_checksum_address

from ipnotary.chain import EvidenceRegistryClient, load_artifact
from ipnotary.service.errors import Conflict, InvalidInput

__all__ = ["REGISTRIES", "ROLES", "RoleGrant", "grant_role", "holds_role", "renounce_role"]

ROLES: Mapping[str, bytes] = {
    "admin": bytes(32),  # OpenZeppelin's DEFAULT_ADMIN_ROLE
    "anchorer": keccak(text="ANCHORER_ROLE"),
    "registrar": keccak(text="REGISTRAR_ROLE"),
}
# The registry each role belongs to, and its contract name.
REGISTRIES: Mapping[str, str] = {"evidence": "EvidenceRegistry", "pledge": "PledgeRegistry"}
_ROLE_IN = {"anchorer": "evidence", "registrar": "pledge"}


@dataclass(frozen=True)
class RoleGrant:
    """One role change sent: which registry, what, the transaction."""

    registry: str
    address: str
    role: str
    account: str
    action: str  # "grant" or "renounce"
    tx_hash: str


def _role(name: str) -> bytes:
    try:
        return ROLES[name]
    except KeyError:
        raise InvalidInput(f"unknown role {name!r}: one of {', '.join(ROLES)}") from None


def _registry_address(client: EvidenceRegistryClient, registry: str) -> str:
    if registry == "evidence":
        return str(client.registry_address)
    if registry == "pledge":
        return str(client.pledge_registry().registry_address)
    raise InvalidInput(f"unknown registry {registry!r}: evidence or pledge")


def _contract(client: EvidenceRegistryClient, registry: str) -> Any:
    w3 = client.sender.connection.w3
    address = _registry_address(client, registry)
    return w3.eth.contract(
        address=to_checksum_address(address), abi=load_artifact(REGISTRIES[registry]).abi
    )


def holds_role(client: EvidenceRegistryClient, role: str, account: str, *, registry: str) -> bool:
    """Whether ``account`` holds ``role`` in ``registry`` (``evidence`` or ``pledge``)."""
    contract = _contract(client, registry)
    return bool(contract.functions.hasRole(_role(role), to_checksum_address(account)).call())


def _registry_of(role: str, registry: str | None) -> str:
    chosen = registry or _ROLE_IN.get(role, "evidence")
    if role in _ROLE_IN and _ROLE_IN[role] != chosen:
        raise InvalidInput(f"the {role} role exists in the {_ROLE_IN[role]} registry only")
    return chosen


def _send(client: EvidenceRegistryClient, registry: str, function: str, args: list[Any]) -> str:
    contract = _contract(client, registry)
    sender = client.sender
    tx = {"to": contract.address, "data": contract.encode_abi(function, args), "value": 0}
    deadline = sender.deadline()
    tx_hash = sender.send(
        cast(Any, tx), function=function, contract=REGISTRIES[registry], address=contract.address
    )
    receipt = sender.await_receipt(
        tx_hash, deadline, retry_hint=f"run the command again: {function} is safe to repeat"
    )
    if receipt["status"] != 1:
        raise sender.replayed_revert(
            receipt, contract.address, tx["data"], function=function, contract=REGISTRIES[registry]
        )
    return str(tx_hash)


def grant_role(
    client: EvidenceRegistryClient, role: str, account: str, *, registry: str | None = None
) -> RoleGrant:
    """Grant ``role`` to ``account``, sent by the client's key (which needs the admin role)."""
    registry = _registry_of(role, registry)
    account = to_checksum_address(account)
    if not holds_role(client, "admin", str(client.account), registry=registry):
        raise Conflict(
            f"the chain key's account {client.account} does not hold the admin role in the "
            f"{REGISTRIES[registry]}: run this with the admin's key in NOTARY_CHAIN_PRIVATE_KEY"
        )
    tx = _send(client, registry, "grantRole", [_role(role), account])
    return RoleGrant(registry, _registry_address(client, registry), role, account, "grant", tx)


def renounce_role(
    client: EvidenceRegistryClient,
    role: str,
    *,
    registry: str | None = None,
    successor: str | None = None,
) -> RoleGrant:
    """The client's own account gives up ``role``. Giving up the admin role needs a ``successor``
    that already holds it: a registry without an admin could never grant a role again."""
    registry = _registry_of(role, registry)
    own = str(client.account)
    if role == "admin":
        if successor is None:
            raise InvalidInput(
                "renouncing the admin role needs --successor, an account that holds it already "
                "(grant it first: `notary registry grant admin ACCOUNT`)"
            )
        if to_checksum_address(successor) == to_checksum_address(own):
            raise InvalidInput("the successor is this key's own account")
        if not holds_role(client, "admin", successor, registry=registry):
            raise Conflict(
                f"{successor} does not hold the admin role in the {REGISTRIES[registry]}: "
                "renouncing now would leave it without an admin; grant it first"
            )
        if registry == "pledge":
            raise InvalidInput(
                "the PledgeRegistry's admin role stays with the service's key: the service adds "
                "each pledge registrar's account with it (docs/operations.md)"
            )
    tx = _send(client, registry, "renounceRole", [_role(role), to_checksum_address(own)])
    return RoleGrant(registry, _registry_address(client, registry), role, own, "renounce", tx)
