"""Verifying IP credit status documents (the regulation's Art. 34) without trusting the register.

The register answers "status of subject X as of T" with a signed document listing the active
entries, each with its *opening* (the entry's details and salt) and the certificate of the anchored
commitment. :func:`verify_credit_status` checks the signature, opens every commitment, verifies
every certificate (against the chain when a node is given), checks each entry is about this subject
and public at T, and recomputes the class. What it cannot prove is absence: that the register
left no entry out rests on its signature (the document is evidence against it if it did).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from client_sdk.canonical import canonical_json, parse_json
from client_sdk.errors import FormatError, VerificationError
from client_sdk.policy import TrustPolicy
from client_sdk.signing import key_id, public_key_from_b64, signature_is_valid
from client_sdk.verify import ChainView, verify_certificate

__all__ = [
    "COMMITMENT_TAG",
    "CREDIT_STATUS_MEDIA_TYPE",
    "VerifiedCreditStatus",
    "credit_class",
    "entry_commitment",
    "verify_credit_opening",
    "verify_credit_status",
]

CREDIT_STATUS_MEDIA_TYPE = "application/vnd.ipnotary.credit-status+json;version=1"
COMMITMENT_TAG = b"ipnotary/credit-entry/v1\x00"
MAX_STATUS_BYTES = 4 * 1024 * 1024


def entry_commitment(details: Mapping[str, Any], salt_hex: str) -> str:
    """``SHA-256(tag ‖ salt ‖ JCS(details))``: hiding (secret 32-byte salt) and binding (SHA-256)."""
    salt = bytes.fromhex(salt_hex)
    if len(salt) != 32:
        raise ValueError("the salt is 32 bytes")
    return hashlib.sha256(COMMITMENT_TAG + salt + canonical_json(dict(details))).hexdigest()


def credit_class(entries: Sequence[Mapping[str, Any]]) -> str:
    """A (trustworthy), B (no adverse record), C (one general dishonest entry), D (serious or more).

    ``entries`` are the details of the entries active at the moment asked about.
    """
    dishonest = [e for e in entries if e.get("conduct") == "dishonest"]
    if any(e.get("severity") == "serious" for e in dishonest) or len(dishonest) >= 2:
        return "D"
    if len(dishonest) == 1:
        return "C"
    if any(e.get("conduct") == "good" for e in entries):
        return "A"
    return "B"


def verify_credit_opening(certificate: Any, details: Mapping[str, Any], salt_hex: str, *,
                          chain: ChainView | None = None,
                          policy: TrustPolicy | None = None) -> None:
    """Prove an entry's content from its certificate and opening (what an authority keeps)."""
    result = verify_certificate(certificate, policy, chain=chain)
    record = result.certificate.record
    if record.get("kind") != "credit_entry":
        raise VerificationError("opening", f"record {result.record_id} is not a credit entry")
    try:
        commitment = entry_commitment(details, salt_hex)
    except ValueError as exc:
        raise VerificationError("opening", f"the salt is malformed: {exc}") from exc
    if commitment != record.get("entry_commitment"):
        raise VerificationError("opening", f"the details and salt do not open the commitment of "
                                           f"{result.record_id}: they are not what was recorded")


@dataclass(frozen=True)
class VerifiedCreditStatus:
    subject: str
    as_of: datetime
    credit_class: str
    entries: tuple[dict[str, Any], ...]  # the opened details, each with "entry_id"
    chain_checked: bool

    def dishonest_entries(self, subject_key: str, as_of: datetime) -> list[dict[str, Any]]:
        """``claims.CreditSource``: the verified dishonest entries of this subject."""
        if subject_key != self.subject:
            raise ValueError(f"this status document is about {self.subject}, not {subject_key}")
        return [e for e in self.entries if e.get("conduct") == "dishonest"]


def verify_credit_status(
    document: bytes | str | Mapping[str, Any],
    *,
    subject: str | None = None,
    chain: ChainView | None = None,
    policy: TrustPolicy | None = None,
) -> VerifiedCreditStatus:
    doc = dict(document) if isinstance(document, Mapping) else parse_json(
        document, max_bytes=MAX_STATUS_BYTES, what="credit status")
    if doc.get("media_type") != CREDIT_STATUS_MEDIA_TYPE:
        raise VerificationError("format", f"not a credit status document: {doc.get('media_type')!r}")
    try:
        issuer = doc["issuer"]
        public = public_key_from_b64(issuer["public_key"])
        signature = doc["signature"]["value"]
        doc_subject, as_of_text = str(doc["subject"]), str(doc["as_of"])
        entries = list(doc["entries"])
        as_of = datetime.fromisoformat(as_of_text.replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError, FormatError) as exc:
        raise VerificationError("format", f"credit status is malformed: {exc}") from exc
    if key_id(public) != issuer.get("key_id") or not signature_is_valid(
            public, {k: v for k, v in doc.items() if k != "signature"}, signature):
        raise VerificationError("signature", "the register's signature does not cover this document")
    if policy is not None and policy.issuer(str(issuer["key_id"])) is None:
        raise VerificationError("issuer", f"signed by key {issuer['key_id']}, which the trust "
                                          "policy does not list")
    if subject is not None and doc_subject != subject:
        raise VerificationError("subject", f"the document is about {doc_subject}, not {subject}")
    day: date = as_of.astimezone(UTC).date()
    opened = []
    for entry in entries:
        details, salt, cert = entry.get("details"), entry.get("salt"), entry.get("certificate")
        if not isinstance(details, Mapping) or not isinstance(salt, str):
            raise VerificationError("opening", f"entry {entry.get('entry_id')} has no opening")
        if cert is None:
            raise VerificationError("anchor", f"entry {entry.get('entry_id')} is not anchored yet")
        verify_credit_opening(cert, details, salt, chain=chain, policy=policy)
        subj = details.get("subject", {})
        if f"{subj.get('id_type')}:{subj.get('id')}" != doc_subject:
            raise VerificationError("subject", f"entry {entry.get('entry_id')} is about another subject")
        start, end = date.fromisoformat(details["publicity_start"]), date.fromisoformat(details["publicity_end"])
        if not start <= day < end:
            raise VerificationError("publicity", f"entry {entry.get('entry_id')} is not public on {day}")
        opened.append({"entry_id": entry.get("entry_id"), **details})
    expected = credit_class(opened)
    if doc.get("class") != expected:
        raise VerificationError("class", f"the document says class {doc.get('class')}, its entries give {expected}")
    return VerifiedCreditStatus(doc_subject, as_of, expected, tuple(opened), chain is not None)
