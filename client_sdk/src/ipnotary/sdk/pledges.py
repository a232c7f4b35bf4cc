"""Pledge status answers, the pledgee's signed consent, and how to check both against the
``PledgeRegistry`` contract.

The hashes that link off-chain details to on-chain state live here, in the SDK, so that the
service and every verifier compute them the same way.

A release or an enforcement needs the pledgee's consent: a *pledge act* (which pledge, on which
registry, release or enforce, which party, when, a nonce) signed with the Ed25519 key named as
``pledgee_key`` in the pledge's terms (so the chain's ``termsDigest`` pins the key). Start with
:func:`pledge_act` and :func:`sign_pledge_act` (the pledgee), :func:`check_pledge_consent` (the
registrar, before it sends anything) and :func:`verify_pledge_event` (anyone holding the anchored
``pledge_event`` record: the consent, its hash on chain, and the terms behind the key).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.certificate import format_timestamp, parse_time
from ipnotary.sdk.errors import FormatError, NotTrustedError, VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.records import PledgeEventRecord, parse_record
from ipnotary.sdk.signing import (
    b64decode,
    key_id,
    public_key_from_b64,
    public_key_to_b64,
    sign_document,
    signature_is_valid,
)

__all__ = [
    "ASSET_TAG",
    "CONSENT_TAG",
    "PARTY_TAG",
    "PLEDGE_ACTIONS",
    "PLEDGE_ACT_MEDIA_TYPE",
    "PLEDGE_STATUS_MEDIA_TYPE",
    "TERMS_TAG",
    "VerifiedPledgeEvent",
    "VerifiedPledgeStatus",
    "asset_id",
    "check_pledge_consent",
    "consent_digest",
    "party_hash",
    "pledge_act",
    "sign_pledge_act",
    "terms_digest",
    "verify_pledge_event",
    "verify_pledge_status",
]

PLEDGE_STATUS_MEDIA_TYPE = "application/vnd.ipnotary.pledge-status+json;version=1"
PLEDGE_ACT_MEDIA_TYPE: Final = "application/vnd.ipnotary.pledge-act+json;version=1"

ASSET_TAG = b"ipnotary/pledge-asset/v1\x00"
PARTY_TAG = b"ipnotary/pledge-party/v1\x00"
TERMS_TAG = b"ipnotary/pledge-terms/v1\x00"
CONSENT_TAG: Final = b"ipnotary/pledge-consent/v1\x00"

PLEDGE_ACTIONS: Final = ("release", "enforce")
"""What a pledgee can consent to: ``release`` frees the asset, ``enforce`` enforces the pledge."""
MAX_CONSENT_BYTES: Final = 8 * 1024
"""A signed consent is a few hundred bytes; anything over this is refused unread (DoS)."""
CLOCK_SKEW: Final = timedelta(minutes=5)
"""How far in the future a consent's ``signed_at`` may lie (the signer's clock may run ahead)."""
_NONCE = re.compile(r"^[0-9a-f]{32}$")
_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")


def asset_id(asset_key: str) -> bytes:
    """bytes32 id of an asset from its normalised ``type:registration_number``."""
    return hashlib.sha256(ASSET_TAG + asset_key.encode("utf-8")).digest()


def party_hash(party_key: str) -> bytes:
    """bytes32 of a party from its typed identifier ``type:id``."""
    return hashlib.sha256(PARTY_TAG + party_key.encode("utf-8")).digest()


def terms_digest(terms: Mapping[str, Any]) -> bytes:
    """bytes32 of the pledge terms (canonical JSON)."""
    return hashlib.sha256(TERMS_TAG + canonical_json(dict(terms))).digest()


# -- the pledgee's consent ----------------------------------------------------------------------


def pledge_act(
    *,
    chain_id: int,
    contract: str,
    pledge_id: int,
    action: str,
    party: Mapping[str, Any],
    signed_at: datetime | None = None,
    nonce: str | None = None,
) -> dict[str, Any]:
    """The act a pledgee signs to consent to ``action`` (``release`` or ``enforce``) on one pledge.

    ``chain_id``, ``contract`` and ``pledge_id`` name the pledge exactly (``GET /v1/pledges/{id}``
    shows them), so a consent cannot be replayed on another pledge or registry; ``party`` is the
    pledgee's typed identifier (``id_type``, ``id``); ``nonce`` (random by default) and
    ``signed_at`` (now by default) make every act distinct.
    """
    if action not in PLEDGE_ACTIONS:
        raise FormatError(f"a pledge act is one of {', '.join(PLEDGE_ACTIONS)}, not {action!r}")
    act = {
        "media_type": PLEDGE_ACT_MEDIA_TYPE,
        "chain_id": int(chain_id),
        "contract": str(contract).lower(),
        "pledge_id": int(pledge_id),
        "action": action,
        "party": {"id_type": str(party["id_type"]), "id": str(party["id"])},
        "signed_at": format_timestamp(signed_at or datetime.now(UTC)),
        "nonce": nonce if nonce is not None else secrets.token_hex(16),
    }
    _check_act_shape(act)
    return act


def sign_pledge_act(private_key: Ed25519PrivateKey, act: Mapping[str, Any]) -> dict[str, Any]:
    """The signed consent: ``{act, public_key, signature}``, Ed25519 over the act's RFC 8785
    bytes."""
    _check_act_shape(act)
    return {
        "act": dict(act),
        "public_key": public_key_to_b64(private_key.public_key()),
        "signature": sign_document(private_key, dict(act)),
    }


def consent_digest(consent: Mapping[str, Any]) -> bytes:
    """bytes32 the contract records for a signed consent: SHA-256 over its canonical JSON."""
    return hashlib.sha256(CONSENT_TAG + canonical_json(dict(consent))).digest()


def check_pledge_consent(
    consent: Any,
    *,
    pledgee_key: str,
    pledgee: Mapping[str, Any],
    chain_id: int,
    contract: str,
    pledge_id: int,
    action: str,
    now: datetime | None = None,
    max_age: timedelta | None = None,
) -> dict[str, Any]:
    """Check that ``consent`` is the pledgee's signed consent to exactly this act; return the act.

    Raises ``VerificationError`` naming the step: ``format`` (not a consent), ``act`` (another
    pledge, registry or action), ``party`` (signed as someone other than the pledgee; the message
    says whom), ``key`` (not the key the terms name), ``signature``, ``time`` (signed in the
    future beyond :data:`CLOCK_SKEW`, or, with ``max_age``, longer ago than that).
    """
    # 1. format
    if not isinstance(consent, Mapping) or set(consent) != {"act", "public_key", "signature"}:
        raise VerificationError("format", "a consent is {act, public_key, signature}")
    if len(canonical_json(dict(consent))) > MAX_CONSENT_BYTES:
        raise VerificationError("format", f"a consent is at most {MAX_CONSENT_BYTES} bytes")
    act = consent["act"]
    try:
        _check_act_shape(act)
        signed_at = parse_time(act["signed_at"])
        b64decode(consent["signature"])
    except (FormatError, ValueError, TypeError) as exc:
        raise VerificationError("format", f"the consent is malformed: {exc}") from exc
    # 2. act: this pledge, this registry, this action
    named = (act["chain_id"], act["contract"], act["pledge_id"], act["action"])
    wanted = (int(chain_id), str(contract).lower(), int(pledge_id), action)
    if named != wanted:
        raise VerificationError(
            "act",
            f"the consent is to {act['action']} pledge {act['pledge_id']} on chain "
            f"{act['chain_id']} registry {act['contract']}, not to {action} pledge {pledge_id} on "
            f"chain {chain_id} registry {str(contract).lower()}",
        )
    # 3. party: signed as the pledgee
    if (act["party"]["id_type"], act["party"]["id"]) != (pledgee["id_type"], pledgee["id"]):
        raise VerificationError(
            "party",
            f"the consent is signed as {act['party']['id_type']}:{act['party']['id']}, "
            "not as the pledgee: only the pledgee can consent to a release or enforce",
        )
    # 4. key: the one the terms name
    if consent["public_key"] != pledgee_key:
        raise VerificationError(
            "key", "the consent is signed with another key than the pledgee key the terms name"
        )
    # 5. signature
    try:
        public = public_key_from_b64(pledgee_key)
    except FormatError as exc:
        raise VerificationError("key", f"the pledgee key in the terms is malformed: {exc}") from exc
    if not signature_is_valid(public, dict(act), str(consent["signature"])):
        raise VerificationError("signature", "the signature does not cover this act")
    # 6. time
    moment = now or datetime.now(UTC)
    if signed_at > moment + CLOCK_SKEW:
        raise VerificationError("time", f"the consent is dated {act['signed_at']}, in the future")
    if max_age is not None and signed_at < moment - max_age:
        raise VerificationError(
            "time", f"the consent was signed {act['signed_at']}, more than {max_age} ago: sign anew"
        )
    return dict(act)


def _check_act_shape(act: Any) -> None:
    keys = {
        "media_type",
        "chain_id",
        "contract",
        "pledge_id",
        "action",
        "party",
        "signed_at",
        "nonce",
    }
    if not isinstance(act, Mapping) or set(act) != keys:
        raise FormatError(f"a pledge act has exactly the fields {', '.join(sorted(keys))}")
    party = act["party"]
    if (
        act["media_type"] != PLEDGE_ACT_MEDIA_TYPE
        or not isinstance(act["chain_id"], int)
        or isinstance(act["chain_id"], bool)
        or not isinstance(act["pledge_id"], int)
        or isinstance(act["pledge_id"], bool)
        or not 0 < act["pledge_id"] < 2**64
        or not isinstance(act["contract"], str)
        or not _ADDRESS.match(act["contract"])
        or act["action"] not in PLEDGE_ACTIONS
        or not isinstance(party, Mapping)
        or set(party) != {"id_type", "id"}
        or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in party.values())
        or not isinstance(act["signed_at"], str)
        or len(act["signed_at"]) > 40
        or not isinstance(act["nonce"], str)
        or not _NONCE.match(act["nonce"])
    ):
        raise FormatError(
            "a pledge act names its media type, integer chain and pledge ids, a lower-case "
            "registry address, release or enforce, the party as {id_type, id}, an RFC 3339 time "
            "and a nonce of 32 hex digits"
        )


# -- verifying an anchored pledge event ----------------------------------------------------------

_ACTIONS_OF_EVENTS: Final = {"released": "release", "enforced": "enforce"}


@dataclass(frozen=True)
class VerifiedPledgeEvent:
    """A ``pledge_event`` record whose consent (for a release or enforcement) was checked."""

    action: str
    pledge_id: int
    consent: dict[str, Any] | None
    """The act the pledgee signed; None for a registration or amendment."""
    chain_checked: bool


def verify_pledge_event(body: Mapping[str, Any], *, reader: Any = None) -> VerifiedPledgeEvent:
    """Check the pledgee's consent carried by a ``pledge_event`` record (the certified record of
    a certificate, ``certificate.record``); raise ``VerificationError`` naming the step.

    Without ``reader`` (a ``chain.PledgeReader`` on the record's registry): the consent is the
    pledgee's signature, with the key its terms name, over this very act. With it, also on chain:
    the transaction made this change to this pledge, naming the pledgee's hash and the hash of
    this consent, by the registrar the pledge records, and the terms hash to the pledge's
    ``termsDigest`` there (which pins the key). Verify the certificate itself with
    ``verify_certificate``: this checks what the record says, not that it was anchored.
    """
    try:
        event = parse_record(body)
    except FormatError as exc:
        raise VerificationError("format", f"not a pledge event record: {exc}") from exc
    if not isinstance(event, PledgeEventRecord):
        raise VerificationError("format", f"not a pledge event record: kind {event.kind!r}")
    action, pledge = event.action, event.pledge
    pledge_id, chain_id, contract = pledge.pledge_id, pledge.chain_id, pledge.contract
    consent_action = _ACTIONS_OF_EVENTS.get(action)
    act: dict[str, Any] | None = None
    terms = event.terms
    if consent_action is not None:
        consent = event.consent
        if consent is None:
            raise VerificationError("format", f"a {action} event carries the pledgee's consent")
        if terms is None or not isinstance(terms.get("pledgee"), Mapping):
            raise VerificationError("format", f"a {action} event carries the pledge's terms")
        if not isinstance(terms.get("pledgee_key"), str):
            raise VerificationError("key", "the pledge's terms name no pledgee key")
        act = check_pledge_consent(
            consent,
            pledgee_key=terms["pledgee_key"],
            pledgee=terms["pledgee"],
            chain_id=chain_id,
            contract=contract,
            pledge_id=pledge_id,
            action=consent_action,
            now=datetime.fromisoformat(event.received_at).astimezone(UTC),
        )
        if event.consent_digest != consent_digest(consent).hex():
            raise VerificationError("consent", "consent_digest is not the hash of the consent")
    checked = False
    if reader is not None:
        _check_event_on_chain(event, reader)
        checked = True
    return VerifiedPledgeEvent(
        action=action, pledge_id=pledge_id, consent=act, chain_checked=checked
    )


def _check_event_on_chain(event: PledgeEventRecord, reader: Any) -> None:
    from ipnotary.chain.errors import ChainError

    pledge, action, terms = event.pledge, event.action, event.terms
    pledge_id = pledge.pledge_id
    try:
        if (int(reader.chain_id), str(reader.registry_address).lower()) != (
            pledge.chain_id,
            pledge.contract.lower(),
        ):
            raise VerificationError(
                "contract", "the reader reads another registry than the event names"
            )
        receipts = [
            r
            for r in reader.pledge_receipts(pledge_id)
            if str(r.tx_hash).lower() == pledge.tx_hash.lower()
        ]
        if len(receipts) != 1 or str(receipts[0].action) != action:
            raise VerificationError(
                "chain",
                f"transaction {pledge.tx_hash} did not {action} "
                f"pledge {pledge_id} in this registry",
            )
        receipt = receipts[0]
        on_chain = reader.get_pledge(pledge_id, block=receipt.block_number)
        if on_chain.registrar != receipt.registrar:
            raise VerificationError(
                "chain", "the transaction was not sent by the pledge's registrar"
            )
        if terms is not None and terms_digest(terms) != on_chain.terms_digest:
            raise VerificationError("terms", "the terms do not hash to the pledge's termsDigest")
        if action in _ACTIONS_OF_EVENTS:
            assert terms is not None and event.consent is not None  # checked by the caller
            if receipt.party != party_hash(_key(terms["pledgee"])):
                raise VerificationError("chain", "the chain names another party than the pledgee")
            if receipt.consent_digest != consent_digest(event.consent):
                raise VerificationError("consent", "the chain records the hash of another consent")
    except ChainError as exc:
        raise VerificationError("chain", f"the chain could not be read: {exc}") from exc


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
        return {
            "pledge_id": self.pledge_id,
            "pledgee": (self.pledgee or {}).get("name"),
            "pledgor": (self.pledgor or {}).get("name"),
        }


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
    doc = (
        dict(document)
        if isinstance(document, Mapping)
        else parse_json(document, max_bytes=MAX_PLEDGE_STATUS_BYTES, what="pledge status")
    )
    if doc.get("media_type") != PLEDGE_STATUS_MEDIA_TYPE:
        raise VerificationError(
            "format", f"not a pledge status document: {doc.get('media_type')!r}"
        )
    try:
        issuer, asset, chain_info = doc["issuer"], doc["asset"], doc["chain"]
        public = public_key_from_b64(issuer["public_key"])
        as_of = datetime.fromisoformat(str(doc["as_of"]))
        asset_key = f"{asset['type']}:{asset['registration_number']}"
    except (KeyError, TypeError, ValueError, FormatError) as exc:
        raise VerificationError("format", f"pledge status is malformed: {exc}") from exc
    if key_id(public) != issuer.get("key_id") or not signature_is_valid(
        public,
        {k: v for k, v in doc.items() if k != "signature"},
        doc.get("signature", {}).get("value", ""),
    ):
        raise VerificationError(
            "signature", "the register's signature does not cover this document"
        )
    if policy is not None and policy.issuer(str(issuer["key_id"])) is None:
        raise NotTrustedError(
            "issuer", f"signed by key {issuer['key_id']}, which the trust policy does not list"
        )
    if (
        trusted_contracts is not None
        and str(trusted_contracts.get(chain_info["chain_id"], "")).lower()
        != str(chain_info["contract"]).lower()
    ):
        raise VerificationError("contract", f"registry {chain_info['contract']} is not trusted")
    if asset_id(asset_key).hex() != doc.get("asset_id"):
        raise VerificationError(
            "asset", "the asset id is not the hash of the asset's registration number"
        )
    pledge = doc.get("pledge")
    if bool(doc.get("pledged")) != (pledge is not None):
        raise VerificationError("format", "'pledged' contradicts the pledge field")
    if pledge is not None:
        terms = pledge["terms"]
        if terms_digest(terms).hex() != pledge["terms_digest"]:
            raise VerificationError("terms", "the terms do not hash to the digest the chain holds")
        if (
            party_hash(_key(terms["pledgor"])).hex() != pledge["pledgor_hash"]
            or party_hash(_key(terms["pledgee"])).hex() != pledge["pledgee_hash"]
        ):
            raise VerificationError("parties", "the parties do not hash to the chain's values")
    checked = False
    if reader is not None:
        _check_on_chain(doc, reader, as_of, asset_key, pledge)
        checked = True
    return VerifiedPledgeStatus(
        asset_key=asset_key,
        as_of=as_of,
        pledged=pledge is not None,
        pledge_id=int(pledge["pledge_id"]) if pledge else None,
        pledgor=dict(pledge["terms"]["pledgor"]) if pledge else None,
        pledgee=dict(pledge["terms"]["pledgee"]) if pledge else None,
        terms=dict(pledge["terms"]) if pledge else None,
        block_number=int(chain_info["block_number"]),
        chain_checked=checked,
    )


def _check_on_chain(
    doc: Mapping[str, Any],
    reader: Any,
    as_of: datetime,
    asset_key: str,
    pledge: Mapping[str, Any] | None,
) -> None:
    from ipnotary.chain.errors import ChainError

    chain_info = doc["chain"]
    number = int(chain_info["block_number"])
    try:
        if int(reader.chain_id) != int(chain_info["chain_id"]):
            raise VerificationError(
                "chain_id",
                f"the reader is on chain {reader.chain_id}, the answer on {chain_info['chain_id']}",
            )
        if str(reader.registry_address).lower() != str(chain_info["contract"]).lower():
            raise VerificationError(
                "contract", "the reader reads another registry than the answer names"
            )
        block = reader.block(number)
        if str(block.hash).lower() != str(chain_info["block_hash"]).lower():
            raise VerificationError(
                "block", f"block {number} is not {chain_info['block_hash']} on this chain"
            )
        moment = int(as_of.timestamp())
        if block.timestamp > moment and number != 0:
            # Block 0 stands for any earlier time: the chain's first state, before anything
            # could be pledged on it.
            raise VerificationError("block", f"block {number} is later than the time asked about")
        if number < int(reader.head()):
            after = reader.block(number + 1)
            if after.timestamp <= moment:
                raise VerificationError(
                    "block",
                    f"block {number + 1} is also before {as_of.isoformat()}: "
                    "the answer reads an older state than it should",
                )
        active = int(reader.active_pledge_of(asset_id(asset_key), block=number))
        expected = int(pledge["pledge_id"]) if pledge else 0
        if active != expected:
            raise VerificationError(
                "pledge",
                f"the chain says active pledge {active} at block {number}, "
                f"the answer says {expected}",
            )
        if pledge is not None:
            on_chain = reader.get_pledge(active, block=number)
            if (on_chain.pledgor.hex(), on_chain.pledgee.hex(), on_chain.terms_digest.hex()) != (
                pledge["pledgor_hash"],
                pledge["pledgee_hash"],
                pledge["terms_digest"],
            ):
                raise VerificationError("pledge", "the pledge's parties or terms differ on chain")
    except ChainError as exc:
        raise VerificationError("chain", f"the chain could not be read: {exc}") from exc
