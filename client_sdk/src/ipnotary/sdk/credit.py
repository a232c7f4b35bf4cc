"""Verifying IP credit status documents (the regulation's Art. 34) without trusting the register.

The register answers "status of subject X as of T" with a signed document. An entry *counts at T*
(:func:`counts_at`, the one rule the register and this verifier share) only if all three hold:

1. **recorded by T**: its ``credit_entry`` record is proven to have existed by T, i.e. its
   certificate's ``proven_time`` (witness quorum, time-stamp authority or trusted chain, under the
   verifier's own policy) is not after T. The record's ``received_at`` is the operator's clock
   alone, so it never decides;
2. **public on T**: ``publicity_start <= T's UTC date < publicity_end``;
3. **not repaired by T**: no ``credit_repair`` record naming the entry is proven by T.

:func:`verify_credit_status` recomputes that answer from what the document shows, and names the
step that fails: (1) ``format`` (no entry shown twice), (2) ``signature`` and ``issuer``,
(3) ``subject``; then for each entry shown as counting (4) ``anchor`` (its certificate, of its own
record), ``recorded`` (proven by T, under the verifier's policy), ``opening`` (details and salt
open the anchored commitment; once erased, a schema 2 record's own fields stand in), ``subject``
(the details, or the subject commitment with the salt shown, name this subject), ``publicity``
and ``repair`` (a repair shown must name the entry and be proven *after* T; an entry erased as
repaired must show its repair, and one erased as expired must have ended by the document's date,
else the erasure hides a repair); (5) the ``class``. Entries it cannot fully check (received but
not certified yet, a repair not certified yet, a schema 1 entry erased) are listed in
``unchecked``, counted or not as the document counts them. What it cannot prove is absence: that
the register left no entry out rests on its signature (the document is evidence against it if it
did).

Times are the verifier's own: ``proven_time`` under its policy. The register computes them under
its published policy as a verifier with a node does. A verifier with other evidence (no node,
another policy) may date a record attested within seconds of T on the other side of T, and then
fails at ``recorded`` or ``repair`` though the register was honest under its own policy: ask for a
T outside that window, or check with a node under the published policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.certificate import format_timestamp, parse_time
from ipnotary.sdk.errors import FormatError, NotTrustedError, VerificationError
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.records import CreditEntryRecord, CreditRepairRecord, RecordBody
from ipnotary.sdk.signing import key_id, public_key_from_b64, signature_is_valid
from ipnotary.sdk.verify import ChainView, VerificationResult, verify_certificate

__all__ = [
    "COMMITMENT_TAG",
    "CREDIT_STATUS_MEDIA_TYPE",
    "CREDIT_STATUS_MEDIA_TYPE_V1",
    "PUBLIC_FIELDS",
    "SUBJECT_TAG",
    "UncheckedEntry",
    "VerifiedCreditStatus",
    "counts_at",
    "credit_class",
    "entry_commitment",
    "subject_commitment",
    "verify_credit_opening",
    "verify_credit_status",
]

CREDIT_STATUS_MEDIA_TYPE = "application/vnd.ipnotary.credit-status+json;version=2"
# Version 1 documents (entries only, no pending list) are checked by the same rules.
CREDIT_STATUS_MEDIA_TYPE_V1 = "application/vnd.ipnotary.credit-status+json;version=1"
COMMITMENT_TAG = b"ipnotary/credit-entry/v1\x00"
SUBJECT_TAG = b"ipnotary/credit-subject/v1\x00"
MAX_STATUS_BYTES = 4 * 1024 * 1024
# The non-personal fields a schema 2 ``credit_entry`` record carries in the clear, so that they
# still prove the entry's class contribution and period after its details are erased.
PUBLIC_FIELDS = ("conduct", "severity", "publicity_start", "publicity_end")


def _salt(salt_hex: str) -> bytes:
    salt = bytes.fromhex(salt_hex)
    if len(salt) != 32:
        raise ValueError("the salt is 32 bytes")
    return salt


def entry_commitment(details: Mapping[str, Any], salt_hex: str) -> str:
    """``SHA-256(tag ‖ salt ‖ JCS(details))``: hiding (secret 32-byte salt) and binding
    (SHA-256)."""
    return hashlib.sha256(
        COMMITMENT_TAG + _salt(salt_hex) + canonical_json(dict(details))
    ).hexdigest()


def subject_commitment(subject_key: str, salt_hex: str) -> str:
    """``SHA-256(tag ‖ salt ‖ UTF-8(type:id))``: ties an entry to its subject on its own, so the
    tie can be shown (the salt) after the details are erased, and to nobody before."""
    return hashlib.sha256(SUBJECT_TAG + _salt(salt_hex) + subject_key.encode("utf-8")).hexdigest()


def credit_class(entries: Sequence[Mapping[str, Any]]) -> str:
    """A (trustworthy), B (no adverse record), C (one general dishonest entry), D (serious or more).

    ``entries`` are the entries that count at the moment asked about (their ``conduct`` and
    ``severity``).
    """
    dishonest = [e for e in entries if e.get("conduct") == "dishonest"]
    if any(e.get("severity") == "serious" for e in dishonest) or len(dishonest) >= 2:
        return "D"
    if len(dishonest) == 1:
        return "C"
    if any(e.get("conduct") == "good" for e in entries):
        return "A"
    return "B"


def counts_at(
    as_of: datetime,
    *,
    recorded: datetime,
    publicity_start: date,
    publicity_end: date,
    repaired: datetime | None,
) -> bool:
    """Whether an entry counts at ``as_of``: recorded by then (``recorded``: the proven time of its
    record), public on that UTC day, and not repaired by then (``repaired``: the proven time of
    its repair's record, ``None`` if there is none or it is not proven yet)."""
    day = as_of.astimezone(UTC).date()
    return (
        recorded <= as_of
        and publicity_start <= day < publicity_end
        and (repaired is None or repaired > as_of)
    )


def _public_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: fields.get(name) for name in PUBLIC_FIELDS}


def verify_credit_opening(
    certificate: Any,
    details: Mapping[str, Any],
    salt_hex: str,
    *,
    chain: ChainView | None = None,
    policy: TrustPolicy | None = None,
    subject_salt: str | None = None,
) -> VerificationResult:
    """Prove an entry's content from its certificate and opening (what an authority keeps).

    A schema 2 record also carries the entry's non-personal fields and a subject commitment: the
    fields must be the details' own, and, given ``subject_salt``, the commitment must name the
    details' subject. Returns the certificate's verification (its ``proven_time`` is when the
    entry is proven recorded)."""
    result = verify_certificate(certificate, policy, chain=chain)
    body = _typed_body(result, "opening")
    if not isinstance(body, CreditEntryRecord):
        raise VerificationError("opening", f"record {result.record_id} is not a credit entry")
    _check_opening(body, details, salt_hex, subject_salt)
    return result


def _typed_body(result: VerificationResult, step: str) -> RecordBody:
    try:
        return result.certificate.body()
    except FormatError as exc:
        raise VerificationError(
            step, f"record {result.record_id} is not one this SDK can read: {exc}"
        ) from exc


def _check_opening(
    record: CreditEntryRecord,
    details: Mapping[str, Any],
    salt_hex: str,
    subject_salt: str | None,
) -> None:
    try:
        commitment = entry_commitment(details, salt_hex)
    except ValueError as exc:
        raise VerificationError("opening", f"the salt is malformed: {exc}") from exc
    if commitment != record.entry_commitment:
        raise VerificationError(
            "opening",
            f"the details and salt do not open the commitment of "
            f"{record.id}: they are not what was recorded",
        )
    if record.schema_version >= 2:
        stated = _public_fields(record.to_json())
        if stated != _public_fields(details):
            raise VerificationError(
                "opening",
                f"record {record.id} states fields {stated} that its committed details contradict",
            )
        if subject_salt is not None:
            _check_subject_commitment(record, _subject_key(details), subject_salt)


def _subject_key(details: Mapping[str, Any]) -> str:
    subject = details.get("subject")
    if not isinstance(subject, Mapping):
        raise VerificationError("opening", "the details name no subject")
    return f"{subject.get('id_type')}:{subject.get('id')}"


def _check_subject_commitment(record: CreditEntryRecord, subject_key: str, salt_hex: Any) -> None:
    try:
        ok = (
            isinstance(salt_hex, str)
            and subject_commitment(subject_key, salt_hex) == record.subject_commitment
        )
    except ValueError:
        ok = False
    if not ok:
        raise VerificationError(
            "subject",
            f"the subject commitment of {record.id} does not "
            f"open to {subject_key} with the salt shown",
        )


# The two kinds of record a credit status shows, and how its messages name them.
_Credit = TypeVar("_Credit", CreditEntryRecord, CreditRepairRecord)
_KIND_OF: dict[type[RecordBody], RecordKind] = {
    CreditEntryRecord: RecordKind.credit_entry,
    CreditRepairRecord: RecordKind.credit_repair,
}


@dataclass(frozen=True)
class UncheckedEntry:
    """An entry the document shows that the verifier could not (fully) check, and why."""

    entry_id: str
    reason: str
    counted: bool  # whether the document's class includes it


@dataclass(frozen=True)
class VerifiedCreditStatus:
    subject: str
    as_of: datetime
    credit_class: str
    # The entries that count at ``as_of``: each with ``entry_id``, ``recorded_by`` (the proven
    # time of its record) and ``time_source``, its details while they are kept, and otherwise
    # ``conduct``, ``severity``, the publicity period, ``erased`` (why) and ``repair_record_id``.
    entries: tuple[dict[str, Any], ...]
    chain_checked: bool
    unchecked: tuple[UncheckedEntry, ...] = ()

    def dishonest_entries(self, subject_key: str, as_of: datetime) -> list[dict[str, Any]]:
        """``claims.CreditSource``: the verified dishonest entries of this subject that count at
        the document's ``as_of``. Asked about an earlier time, it refuses: an entry counting now
        need not have counted then (ask the register for that time)."""
        if subject_key != self.subject:
            raise ValueError(f"this status document is about {self.subject}, not {subject_key}")
        if as_of < self.as_of:
            raise ValueError(
                f"this status document answers for {format_timestamp(self.as_of)}, "
                f"not for the earlier {format_timestamp(as_of)}"
            )
        return [e for e in self.entries if e.get("conduct") == "dishonest"]


@dataclass
class _Check:
    """One status document being checked: the inputs every entry is checked against."""

    subject: str
    as_of: datetime
    issued_on: date | None  # the UTC date the document was signed
    chain: ChainView | None
    policy: TrustPolicy | None
    unchecked: list[UncheckedEntry]

    def certificate(
        self, item: Mapping[str, Any], kind: type[_Credit], what: str
    ) -> tuple[VerificationResult, _Credit]:
        cert = item.get("certificate")
        if cert is None:
            raise VerificationError("anchor", f"{what} is shown without a certificate")
        result = verify_certificate(cert, self.policy, chain=self.chain)
        body = _typed_body(result, "anchor")
        if not isinstance(body, kind):
            raise VerificationError(
                "anchor",
                f"the certificate of {what} is of a {result.kind} record, not a {_KIND_OF[kind]}",
            )
        return result, body

    def recorded(
        self, item: Mapping[str, Any]
    ) -> tuple[str, VerificationResult, CreditEntryRecord]:
        """The entry's certificate, which must prove its record by ``as_of`` (step ``recorded``)."""
        entry_id = str(item.get("entry_id"))
        result, record = self.certificate(item, CreditEntryRecord, f"entry {entry_id}")
        if (
            record.id != entry_id
            or item.get("commitment", record.entry_commitment) != record.entry_commitment
        ):
            raise VerificationError(
                "anchor",
                f"entry {entry_id} is shown with the certificate of another record ({record.id})",
            )
        if result.proven_time > self.as_of:
            raise VerificationError(
                "recorded",
                f"entry {entry_id} is proven recorded only at "
                f"{format_timestamp(result.proven_time)} "
                f"({result.time_source.value}), after {format_timestamp(self.as_of)}: it cannot "
                "count then",
            )
        return entry_id, result, record

    def repair(
        self, item: Mapping[str, Any], entry_id: str, entry: CreditEntryRecord
    ) -> tuple[str, VerificationResult | None]:
        """The repair shown with an entry: it must name that entry; ``None`` if not certified."""
        repair = item.get("repair")
        if not isinstance(repair, Mapping):
            raise VerificationError("repair", f"entry {entry_id}'s repair is malformed")
        record_id = str(repair.get("record_id"))
        if repair.get("certificate") is None:
            return record_id, None
        result, decided = self.certificate(
            repair, CreditRepairRecord, f"repair {record_id} of entry {entry_id}"
        )
        named = decided.entry
        if (named.id, named.commitment) != (entry_id, entry.entry_commitment):
            raise VerificationError(
                "repair", f"repair {record_id} names {named.to_json()}, not entry {entry_id}"
            )
        return record_id, result

    def counted(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """An entry the document counts at ``as_of``; returns what it contributes."""
        entry_id, result, record = self.recorded(item)
        schema = record.schema_version
        details, salt = item.get("details"), item.get("salt")
        out: dict[str, Any] = {
            "entry_id": entry_id,
            "recorded_by": format_timestamp(result.proven_time),
            "time_source": result.time_source.value,
        }
        if details is not None:
            if not isinstance(details, Mapping) or not isinstance(salt, str):
                raise VerificationError("opening", f"entry {entry_id} has a malformed opening")
            _check_opening(record, details, salt, item.get("subject_salt") if schema >= 2 else None)
            if _subject_key(details) != self.subject:
                raise VerificationError("subject", f"entry {entry_id} is about another subject")
            fields: Mapping[str, Any] = details
            out.update(details)
        else:
            erased = item.get("erased")
            out["erased"] = erased
            if schema >= 2:
                # The record's own fields: the class contribution is proven, not just stated.
                if "subject_salt" not in item:
                    raise VerificationError(
                        "subject",
                        f"entry {entry_id} is erased and shown without "
                        "the salt of its subject commitment",
                    )
                _check_subject_commitment(record, self.subject, item["subject_salt"])
                fields = _public_fields(record.to_json())
            else:
                kept = item.get("kept")
                if not isinstance(kept, Mapping):
                    raise VerificationError(
                        "opening",
                        f"entry {entry_id} shows neither an opening nor "
                        "the fields kept after its erasure",
                    )
                fields = _public_fields(kept)
                self.unchecked.append(
                    UncheckedEntry(
                        entry_id,
                        "recorded before entries carried their conduct, severity and period in "
                        "the clear, and its details are erased: those fields and its subject "
                        "rest on the register's signature",
                        counted=True,
                    )
                )
            out.update(fields)
            self.erasure(item, entry_id, erased, fields)
        try:
            start = date.fromisoformat(str(fields["publicity_start"]))
            end = date.fromisoformat(str(fields["publicity_end"]))
        except (KeyError, ValueError) as exc:
            raise VerificationError(
                "publicity", f"entry {entry_id} has no valid publicity period"
            ) from exc
        if not counts_at(
            self.as_of,
            recorded=result.proven_time,
            publicity_start=start,
            publicity_end=end,
            repaired=None,
        ):
            raise VerificationError(
                "publicity",
                f"entry {entry_id} is not public on {self.as_of.astimezone(UTC).date()}",
            )
        if item.get("repair") is not None:
            record_id, repair = self.repair(item, entry_id, record)
            out["repair_record_id"] = record_id
            if repair is None:
                self.unchecked.append(
                    UncheckedEntry(
                        entry_id,
                        f"its repair {record_id} is not certified yet: whether it closed the "
                        f"entry by {format_timestamp(self.as_of)} cannot be checked",
                        counted=True,
                    )
                )
            elif repair.proven_time <= self.as_of:
                raise VerificationError(
                    "repair",
                    f"entry {entry_id} is shown as counting at {format_timestamp(self.as_of)}, but "
                    f"its repair {record_id} is proven by {format_timestamp(repair.proven_time)} "
                    f"({repair.time_source.value}): it was closed by then",
                )
        return out

    def erasure(
        self, item: Mapping[str, Any], entry_id: str, erased: Any, fields: Mapping[str, Any]
    ) -> None:
        """Details are erased only after a repair (which must then be shown) or once the period
        has ended by the document's date: anything else would hide a repair (step ``repair``)."""
        if erased == "repaired":
            if not isinstance(item.get("repair"), Mapping):
                raise VerificationError(
                    "repair",
                    f"entry {entry_id} is erased as repaired, but the "
                    "document does not show its repair",
                )
            return
        if erased != "expired":
            raise VerificationError(
                "repair",
                f"entry {entry_id} is erased ({erased!r}) neither as repaired nor as expired",
            )
        try:
            ended = (
                self.issued_on is not None
                and date.fromisoformat(str(fields.get("publicity_end"))) <= self.issued_on
            )
        except ValueError:
            ended = False
        if not ended:
            raise VerificationError(
                "repair",
                f"entry {entry_id} is shown as expired, but its publicity period ends "
                f"{fields.get('publicity_end')}, after the document was signed "
                f"({self.issued_on}): an entry erased "
                "before its period ends was repaired, and the repair is not shown",
            )


def verify_credit_status(
    document: bytes | str | Mapping[str, Any],
    *,
    subject: str | None = None,
    chain: ChainView | None = None,
    policy: TrustPolicy | None = None,
) -> VerifiedCreditStatus:
    """Check a status document and recompute its answer (see the module docstring for the rule
    and the steps); raises :class:`VerificationError` naming the failed step."""
    doc = (
        dict(document)
        if isinstance(document, Mapping)
        else parse_json(document, max_bytes=MAX_STATUS_BYTES, what="credit status")
    )
    media_type = doc.get("media_type")
    if media_type not in (CREDIT_STATUS_MEDIA_TYPE, CREDIT_STATUS_MEDIA_TYPE_V1):
        raise VerificationError("format", f"not a credit status document: {media_type!r}")
    try:
        issuer = doc["issuer"]
        public = public_key_from_b64(issuer["public_key"])
        signature = doc["signature"]["value"]
        doc_subject = str(doc["subject"])
        as_of = parse_time(str(doc["as_of"]))
        entries = list(doc["entries"])
        pending = list(doc.get("pending") or [])
        if not all(isinstance(i, Mapping) for i in (*entries, *pending)):
            raise TypeError("an entry is not an object")
        issued_on = parse_time(str(doc["issued_at"])).date() if "issued_at" in doc else None
        shown = [str(i.get("entry_id")) for i in (*entries, *pending)]
        twice = sorted({e for e in shown if shown.count(e) > 1})
        if twice:
            # Shown twice, a general entry would count twice (class D instead of C).
            raise ValueError(f"entries shown more than once: {', '.join(twice)}")
    except (KeyError, TypeError, ValueError, FormatError) as exc:
        raise VerificationError("format", f"credit status is malformed: {exc}") from exc
    if key_id(public) != issuer.get("key_id") or not signature_is_valid(
        public, {k: v for k, v in doc.items() if k != "signature"}, signature
    ):
        raise VerificationError(
            "signature", "the register's signature does not cover this document"
        )
    if policy is not None and policy.issuer(str(issuer["key_id"])) is None:
        raise NotTrustedError(
            "issuer", f"signed by key {issuer['key_id']}, which the trust policy does not list"
        )
    if subject is not None and doc_subject != subject:
        raise VerificationError("subject", f"the document is about {doc_subject}, not {subject}")
    check = _Check(doc_subject, as_of, issued_on, chain, policy, [])
    counted = [check.counted(item) for item in entries]
    for item in pending:
        check.unchecked.append(
            UncheckedEntry(
                str(item.get("entry_id")),
                "received by then but not certified yet: not counted; ask "
                "again once its certificate is issued (the answer may then include it)",
                counted=False,
            )
        )
    expected = credit_class(counted)
    if doc.get("class") != expected:
        raise VerificationError(
            "class", f"the document says class {doc.get('class')}, its entries give {expected}"
        )
    return VerifiedCreditStatus(
        doc_subject, as_of, expected, tuple(counted), chain is not None, tuple(check.unchecked)
    )
