"""Pledge status answers and how to check them against the ``PledgeRegistry`` contract.

The hashes that link off-chain details to on-chain state live here, in the SDK, so that the
service and every verifier compute them the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from client_sdk.canonical import canonical_json, parse_json
from client_sdk.errors import FormatError, VerificationError
from client_sdk.policy import TrustPolicy
from client_sdk.signing import key_id, public_key_from_b64, signature_is_valid

__all__ = [
    "ASSET_TAG",
    "PARTY_TAG",
    "PLEDGE_STATUS_MEDIA_TYPE",
    "TERMS_TAG",
    "VerifiedPledgeStatus",
    "asset_id",
    "party_hash",
    "terms_digest",
    "verify_pledge_status",
]

PLEDGE_STATUS_MEDIA_TYPE = "application/vnd.ipnotary.pledge-status+json;version=1"

ASSET_TAG = b"ipnotary/pledge-asset/v1\x00"
PARTY_TAG = b"ipnotary/pledge-party/v1\x00"
TERMS_TAG = b"ipnotary/pledge-terms/v1\x00"


def asset_id(asset_key: str) -> bytes:
    """bytes32 id of an asset from its normalised ``type:registration_number``."""
    return hashlib.sha256(ASSET_TAG + asset_key.encode("utf-8")).digest()


def party_hash(party_key: str) -> bytes:
    """bytes32 of a party from its typed identifier ``type:id``."""
    return hashlib.sha256(PARTY_TAG + party_key.encode("utf-8")).digest()


def terms_digest(terms: Mapping[str, Any]) -> bytes:
    """bytes32 of the pledge terms (canonical JSON)."""
    return hashlib.sha256(TERMS_TAG + canonical_json(dict(terms))).digest()


# -- verifying a pledge status answer ---------------------------------------------------------

MAX_PLEDGE_STATUS_BYTES = 256 * 1024


@dataclass(frozen=True)
class VerifiedPledgeStatus:
    """A pledge status whose details re-hash to the chain's values (checked on chain if asked)."""

    asset_key: str
    as_of: datetime
    pledged: bool
    pledge_id: int | None
    pledgor: dict[str, Any] | None
    pledgee: dict[str, Any] | None
    terms: dict[str, Any] | None
    block_number: int
    chain_checked: bool

    def pledge_status(self, asset_key: str, as_of: datetime) -> dict[str, Any] | None:
        """``claims.PledgeSource``: the pledge of this asset, or None."""
        if asset_key != self.asset_key:
            return None
        if not self.pledged:
            return None
        return {"pledge_id": self.pledge_id, "pledgee": (self.pledgee or {}).get("name"),
                "pledgor": (self.pledgor or {}).get("name")}


def _key(party: Mapping[str, Any]) -> str:
    return f"{party.get('id_type')}:{party.get('id')}"


def verify_pledge_status(
    document: bytes | str | Mapping[str, Any],
    *,
    reader: Any = None,
    policy: TrustPolicy | None = None,
    trusted_contracts: Mapping[int, str] | None = None,
) -> VerifiedPledgeStatus:
    """Check a ``/v1/pledges/status`` answer; raise ``VerificationError`` naming the failed step.

    ``reader`` is a ``chain.PledgeReader`` on the document's registry (any node of the chain):
    with it, the pledge state is read from the contract at the document's block, and the block is
    checked to be the last one at or before the time asked about. Without it only the signature
    and the hashes are checked.
    """
    doc = dict(document) if isinstance(document, Mapping) else parse_json(
        document, max_bytes=MAX_PLEDGE_STATUS_BYTES, what="pledge status")
    if doc.get("media_type") != PLEDGE_STATUS_MEDIA_TYPE:
        raise VerificationError("format", f"not a pledge status document: {doc.get('media_type')!r}")
    try:
        issuer, asset, chain_info = doc["issuer"], doc["asset"], doc["chain"]
        public = public_key_from_b64(issuer["public_key"])
        as_of = datetime.fromisoformat(str(doc["as_of"]).replace("Z", "+00:00"))
        asset_key = f"{asset['type']}:{asset['registration_number']}"
    except (KeyError, TypeError, ValueError, FormatError) as exc:
        raise VerificationError("format", f"pledge status is malformed: {exc}") from exc
    if key_id(public) != issuer.get("key_id") or not signature_is_valid(
            public, {k: v for k, v in doc.items() if k != "signature"}, doc.get("signature", {}).get("value", "")):
        raise VerificationError("signature", "the register's signature does not cover this document")
    if policy is not None and policy.issuer(str(issuer["key_id"])) is None:
        raise VerificationError("issuer", f"signed by key {issuer['key_id']}, which the trust "
                                          "policy does not list")
    if trusted_contracts is not None and str(trusted_contracts.get(chain_info["chain_id"], "")).lower() \
            != str(chain_info["contract"]).lower():
        raise VerificationError("contract", f"registry {chain_info['contract']} is not trusted")
    if asset_id(asset_key).hex() != doc.get("asset_id"):
        raise VerificationError("asset", "the asset id is not the hash of the asset's registration number")
    pledge = doc.get("pledge")
    if bool(doc.get("pledged")) != (pledge is not None):
        raise VerificationError("format", "'pledged' contradicts the pledge field")
    if pledge is not None:
        terms = pledge["terms"]
        if terms_digest(terms).hex() != pledge["terms_digest"]:
            raise VerificationError("terms", "the terms do not hash to the digest the chain holds")
        if party_hash(_key(terms["pledgor"])).hex() != pledge["pledgor_hash"] or \
                party_hash(_key(terms["pledgee"])).hex() != pledge["pledgee_hash"]:
            raise VerificationError("parties", "the parties do not hash to the chain's values")
    checked = False
    if reader is not None:
        _check_on_chain(doc, reader, as_of, asset_key, pledge)
        checked = True
    return VerifiedPledgeStatus(
        asset_key=asset_key, as_of=as_of, pledged=pledge is not None,
        pledge_id=int(pledge["pledge_id"]) if pledge else None,
        pledgor=dict(pledge["terms"]["pledgor"]) if pledge else None,
        pledgee=dict(pledge["terms"]["pledgee"]) if pledge else None,
        terms=dict(pledge["terms"]) if pledge else None,
        block_number=int(chain_info["block_number"]), chain_checked=checked,
    )


def _check_on_chain(doc: Mapping[str, Any], reader: Any, as_of: datetime, asset_key: str,
                    pledge: Mapping[str, Any] | None) -> None:
    from chain.errors import ChainError

    chain_info = doc["chain"]
    number = int(chain_info["block_number"])
    try:
        if int(reader.chain_id) != int(chain_info["chain_id"]):
            raise VerificationError("chain_id", f"the reader is on chain {reader.chain_id}, "
                                                f"the answer on {chain_info['chain_id']}")
        if str(reader.registry_address).lower() != str(chain_info["contract"]).lower():
            raise VerificationError("contract", "the reader reads another registry than the answer names")
        block = reader.block(number)
        if str(block.hash).lower() != str(chain_info["block_hash"]).lower():
            raise VerificationError("block", f"block {number} is not {chain_info['block_hash']} on this chain")
        moment = int(as_of.timestamp())
        if block.timestamp > moment:
            raise VerificationError("block", f"block {number} is later than the time asked about")
        if number < int(reader.head()):
            after = reader.block(number + 1)
            if after.timestamp <= moment:
                raise VerificationError("block", f"block {number + 1} is also before {as_of.isoformat()}: "
                                                 "the answer reads an older state than it should")
        active = int(reader.active_pledge_of(asset_id(asset_key), block=number))
        expected = int(pledge["pledge_id"]) if pledge else 0
        if active != expected:
            raise VerificationError("pledge", f"the chain says active pledge {active} at block {number}, "
                                              f"the answer says {expected}")
        if pledge is not None:
            on_chain = reader.get_pledge(active, block=number)
            if (on_chain.pledgor.hex(), on_chain.pledgee.hex(), on_chain.terms_digest.hex()) != (
                    pledge["pledgor_hash"], pledge["pledgee_hash"], pledge["terms_digest"]):
                raise VerificationError("pledge", "the pledge's parties or terms differ on chain")
    except ChainError as exc:
        raise VerificationError("chain", f"the chain could not be read: {exc}") from exc
