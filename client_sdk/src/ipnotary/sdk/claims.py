"""The platform's infringement-claim check (the regulation's Art. 13), with no trust in us.

A platform receives a complaint: one or more certificates, who the claimant is, and the listing it
targets (its content or digest, and the date it went up). :func:`check_infringement_claim` returns
a reasoned verdict, every finding with its evidence:

- ``authentic``         each certificate verifies under the platform's trust policy (offline, and
                        against the chain when a node is given)
- ``owner``             the claimant's identifier (normalised as the registers do, its check
                        character checked) and name are the registered copyright owner's
- ``precedes_listing``  the registration is proven to have existed before the listing date (the
                        proven time and its source: witnesses, a TSA, a trusted chain, or the
                        operator alone)
- ``content_identical`` the listing's bytes or digest equal the registered content
- ``first_registrant``  nobody else had registered the same content earlier
- ``credit_status``     (given a credit source) the claimant has no active dishonest entries
                        (an entry is for a person to weigh: it makes the verdict inconclusive)
- ``pledge_status``     (given a pledge source) whether the work is pledged, and to whom

It reads only the certificates, the listing and the chain; our service is not involved. A
verdict whose times rest on the operator alone (no witness, time-stamp authority or trusted chain
vouches for them) says so in its ``caveats``, which :meth:`ClaimVerdict.summary` leads with.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from ipnotary.sdk.certificate import Certificate, CertificateV1
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.identifiers import InvalidIdentifier, normalise_identifier, subject_key
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.records import EvidenceRecord, RecordBody, WorkRecord
from ipnotary.sdk.verify import ChainView, TimeSource, VerificationResult, verify_certificate

__all__ = [
    "OPERATOR_TIME_CAVEAT",
    "ClaimVerdict",
    "Claimant",
    "Complaint",
    "CreditSource",
    "Finding",
    "Outcome",
    "PledgeSource",
    "check_infringement_claim",
]


class Outcome(StrEnum):
    passed = "pass"
    failed = "fail"
    unknown = "unknown"


@dataclass(frozen=True)
class Claimant:
    """Who complains: a name and a typed identifier (``uscc``, ``cn_resident_id``, ``passport`` or
    ``other``). The identifier is normalised as the registers store it (full-width forms, case,
    spaces: ``ipnotary.sdk.identifiers``) and checked on construction: one its standard refuses
    (a wrong check character, say) raises ``InvalidIdentifier``, a ``FormatError``."""

    name: str
    id_type: str
    id: str

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise FormatError("the claimant needs a name")
        try:
            canonical = normalise_identifier(self.id_type, self.id)
        except InvalidIdentifier as exc:
            raise InvalidIdentifier(f"the claimant's identifier is an invalid code: {exc}") from exc
        object.__setattr__(self, "id", canonical)

    def key(self) -> str:
        """``type:id`` in canonical form, as a record's owner or a credit subject is written."""
        return subject_key(self.id_type, self.id)


@dataclass(frozen=True)
class Complaint:
    certificates: Sequence[Certificate | bytes | str | Mapping[str, Any]]
    claimant: Claimant
    listing_date: date | datetime
    listing_content: bytes | Path | None = None
    listing_sha256: str | None = None


@dataclass(frozen=True)
class Finding:
    check: str
    outcome: Outcome
    detail: str
    record_id: str | None = None


class CreditSource(Protocol):
    """Answers "active dishonest entries of subject X as of T" (see ``ipnotary.sdk.credit``)."""

    def dishonest_entries(self, subject_key: str, as_of: datetime) -> list[dict[str, Any]]: ...


class PledgeSource(Protocol):
    """Answers "is asset X (``type:number``) pledged as of T, and to whom"
    (``ipnotary.sdk.pledges``)."""

    def pledge_status(self, asset_key: str, as_of: datetime) -> dict[str, Any] | None: ...


OPERATOR_TIME_CAVEAT = (
    "the times rest on the operator alone: no witness, time-stamp authority or chain you trust "
    "vouches for them, so the operator could have backdated them"
)


@dataclass(frozen=True)
class ClaimVerdict:
    verdict: str  # supported | not_supported | inconclusive
    findings: tuple[Finding, ...]
    verified: tuple[VerificationResult, ...] = field(default=())
    # What the verdict rests on that a person acting on it must know (the operator's word alone
    # for a time); part of the verdict, not a note beside it.
    caveats: tuple[str, ...] = ()

    @property
    def supported(self) -> bool:
        return self.verdict == "supported"

    def summary(self) -> str:
        failed = [f for f in self.findings if f.outcome is Outcome.failed]
        unknown = [f for f in self.findings if f.outcome is Outcome.unknown]
        if self.verdict == "supported":
            text = "the claim is supported by every check"
        elif failed:
            text = "not supported: " + "; ".join(f.detail for f in failed)
        else:
            text = "inconclusive: " + "; ".join(f.detail for f in unknown)
        return "; ".join((text, *(f"but {c}" for c in self.caveats)))

    def headline(self) -> str:
        """The verdict as a person reads it first: ``SUPPORTED``, with what it rests on."""
        word = self.verdict.upper()
        return f"{word} ({'; '.join(self.caveats)})" if self.caveats else word


def _source(result: VerificationResult) -> str:
    if result.time_source is TimeSource.OPERATOR:
        return "attested by the operator alone"
    best = min(result.time_evidence, key=lambda e: e.time)
    return f"proven by {best.detail}"


def _listing_cutoff(listing: date | datetime) -> datetime:
    """The first moment of the listing: its datetime, or the start of its day in UTC."""
    if isinstance(listing, datetime):
        return listing if listing.tzinfo else listing.replace(tzinfo=UTC)
    return datetime.combine(listing, time.min, tzinfo=UTC)


def _listing_sha256(complaint: Complaint) -> str | None:
    if complaint.listing_sha256:
        return complaint.listing_sha256.strip().lower()
    content = complaint.listing_content
    if content is None:
        return None
    if isinstance(content, bytes):
        return hashlib.sha256(content).hexdigest()
    h = hashlib.sha256()
    with open(content, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _body(result: VerificationResult) -> RecordBody | None:
    """The verified record, typed; None for a body this SDK does not know (a newer kind or
    schema), of which the claim check then states nothing."""
    try:
        return result.certificate.body()
    except FormatError:
        return None


def _owner(result: VerificationResult) -> tuple[str, str] | None:
    """The registered owner's name and ``type:id`` key, or None for a record that is not a work.
    A record's identifier was normalised when it was registered; one an older release accepted
    and today's rules refuse is compared as it stands."""
    body = _body(result)
    if not isinstance(body, WorkRecord):
        return None
    owner = body.work.copyright_owner
    try:
        return owner.name, subject_key(owner.id_type, owner.id)
    except InvalidIdentifier:
        return owner.name, f"{owner.id_type}:{owner.id}"


def _comparable_name(name: str) -> str:
    """Names compare as a person reads them: full-width forms, case and runs of spaces aside."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _content_sha256(result: VerificationResult) -> str | None:
    body = _body(result)
    return body.content.sha256 if isinstance(body, EvidenceRecord | WorkRecord) else None


def check_infringement_claim(
    complaint: Complaint,
    *,
    policy: TrustPolicy | None,
    chain: ChainView | None = None,
    min_confirmations: int | None = None,
    credit: CreditSource | None = None,
    pledges: PledgeSource | None = None,
) -> ClaimVerdict:
    """Check a complaint under the platform's trust ``policy`` (``None``: no certificate can be
    more than self-consistent, so the verdict is at best inconclusive); every finding says what was
    compared and with which values."""
    if not complaint.certificates:
        raise FormatError("a complaint needs at least one certificate")
    if _listing_cutoff(complaint.listing_date) > datetime.now(UTC) + timedelta(minutes=5):
        raise FormatError(
            f"the listing date {complaint.listing_date} is in the future: a listing "
            "cannot have gone up after the complaint about it"
        )
    findings: list[Finding] = []
    verified: list[VerificationResult] = []
    for raw in complaint.certificates:
        try:
            result = verify_certificate(
                raw, policy, chain=chain, min_confirmations=min_confirmations
            )
        except VerificationError as exc:
            rid = raw.record_id if isinstance(raw, Certificate | CertificateV1) else None
            findings.append(
                Finding(
                    "authentic",
                    Outcome.failed,
                    f"a certificate failed verification at step '{exc.step}': {exc.reason}",
                    rid,
                )
            )
            continue
        if not result.trusted:
            outcome, how = (
                Outcome.unknown,
                (
                    "is self-consistent, but no trust policy was given: "
                    "nobody you trust vouches for it"
                ),
            )
        elif result.independent_time or result.chain_checked:
            outcome, how = Outcome.passed, "is authentic"
        else:
            outcome, how = (
                Outcome.unknown,
                (
                    "is authentic as far as its signer goes; nobody but the "
                    "operator vouches for its time and the chain was not checked"
                ),
            )
        findings.append(
            Finding(
                "authentic",
                outcome,
                f"{result.kind} {result.record_id} {how}; "
                f"existed by {result.proven_time.isoformat()} ({_source(result)})",
                result.record_id,
            )
        )
        verified.append(result)

    claimant = complaint.claimant
    claimant_key = claimant.key()
    works = [(r, owner) for r in verified if (owner := _owner(r)) is not None]
    # The identifier decides whose registration it is; the name must then be the registered one
    # too: a credit code is public, so a complaint naming someone else with it is not the owner's.
    owned = [r for r, (_, key) in works if key == claimant_key]
    named = [
        r
        for r, (name, key) in works
        if key == claimant_key and _comparable_name(name) == _comparable_name(claimant.name)
    ]
    if named:
        findings.append(
            Finding(
                "owner",
                Outcome.passed,
                f"the claimant {claimant.name} ({claimant_key}) is the registered copyright "
                f"owner, by name and identifier, in {', '.join(r.record_id for r in named)}",
                named[0].record_id,
            )
        )
    elif owned:
        registered = "; ".join(
            f"{r.record_id}: {name}" for r, (name, key) in works if key == claimant_key
        )
        findings.append(
            Finding(
                "owner",
                Outcome.unknown,
                f"the claimant's identifier {claimant_key} is the registered owner's, but the "
                f"name {claimant.name!r} is not the registered one ({registered}): a person "
                "checks whether the owner was renamed or someone else is using its code",
                owned[0].record_id,
            )
        )
    elif works:
        names = ", ".join(f"{r.record_id}: {name} ({key})" for r, (name, key) in works)
        findings.append(
            Finding(
                "owner",
                Outcome.failed,
                f"the claimant {claimant_key} is not the registered owner ({names})",
            )
        )
    else:
        findings.append(
            Finding(
                "owner",
                Outcome.unknown,
                "no verified work registration among the certificates; evidence "
                "records prove existence, not ownership",
            )
        )

    basis = owned or verified
    cutoff = _listing_cutoff(complaint.listing_date)
    if basis:
        earliest = min(basis, key=lambda r: r.proven_time)
        when = f"{earliest.proven_time.isoformat()} ({_source(earliest)})"
        if earliest.proven_time < cutoff:
            findings.append(
                Finding(
                    "precedes_listing",
                    Outcome.passed,
                    f"registered, and proven to exist by {when}, before the "
                    f"listing date {cutoff.isoformat()}",
                    earliest.record_id,
                )
            )
        else:
            findings.append(
                Finding(
                    "precedes_listing",
                    Outcome.failed,
                    f"proven to exist only by {when}, which is not before the "
                    f"listing date {cutoff.isoformat()}",
                    earliest.record_id,
                )
            )
    else:
        findings.append(
            Finding("precedes_listing", Outcome.unknown, "no verified certificate to date")
        )

    listing_digest = _listing_sha256(complaint)
    if listing_digest is None:
        findings.append(
            Finding(
                "content_identical",
                Outcome.unknown,
                "neither the listing's content nor its digest was given",
            )
        )
    elif basis:
        same = [r for r in basis if _content_sha256(r) == listing_digest]
        if same:
            findings.append(
                Finding(
                    "content_identical",
                    Outcome.passed,
                    f"the listing's SHA-256 {listing_digest} equals the content of "
                    f"{same[0].record_id}",
                    same[0].record_id,
                )
            )
        else:
            # Not a contradiction: infringing copies are usually re-encoded, cropped or resized.
            findings.append(
                Finding(
                    "content_identical",
                    Outcome.unknown,
                    f"the listing's SHA-256 {listing_digest} differs from the registered "
                    "content: the copy is not byte-identical, and whether it is a modified "
                    "copy needs expert comparison",
                )
            )
    else:
        findings.append(
            Finding("content_identical", Outcome.unknown, "no verified certificate to compare")
        )

    for r in owned:
        body = _body(r)
        prior = body.prior_registrations if isinstance(body, WorkRecord) else None
        if prior:
            ids = ", ".join(p.id for p in prior)
            findings.append(
                Finding(
                    "first_registrant",
                    Outcome.failed,
                    f"others registered the same content before {r.record_id}: {ids}",
                    r.record_id,
                )
            )
        else:
            findings.append(
                Finding(
                    "first_registrant",
                    Outcome.passed,
                    f"{r.record_id} names no earlier registration of the content",
                    r.record_id,
                )
            )

    now = datetime.now(UTC)
    if credit is not None:
        entries = credit.dishonest_entries(claimant_key, now)
        if entries:
            # A person weighs it: a dishonest record about something else does not make this
            # claim false.
            findings.append(
                Finding(
                    "credit_status",
                    Outcome.unknown,
                    f"the claimant has {len(entries)} active dishonest IP credit "
                    f"entr{'y' if len(entries) == 1 else 'ies'}: "
                    + "; ".join(str(e.get("category", "")) for e in entries),
                )
            )
        else:
            findings.append(
                Finding(
                    "credit_status",
                    Outcome.passed,
                    "the claimant has no active dishonest IP credit entries",
                )
            )
    if pledges is not None:
        for r in owned:
            # A work registered here is pledged under its record id as the registration number.
            status = pledges.pledge_status(f"copyright:{r.record_id}", now)
            if status:
                findings.append(
                    Finding(
                        "pledge_status",
                        Outcome.passed,
                        f"{r.record_id} is pledged to {status.get('pledgee')} "
                        f"(pledge {status.get('pledge_id')}): the pledgee may need to join "
                        "the complaint",
                        r.record_id,
                    )
                )
            else:
                findings.append(
                    Finding(
                        "pledge_status",
                        Outcome.passed,
                        f"{r.record_id} is not pledged",
                        r.record_id,
                    )
                )

    if any(f.outcome is Outcome.failed for f in findings):
        verdict = "not_supported"
    elif any(f.outcome is Outcome.unknown for f in findings):
        verdict = "inconclusive"
    else:
        verdict = "supported"
    relied_on = owned or verified
    caveats = (
        (OPERATOR_TIME_CAVEAT,)
        if any(r.time_source is TimeSource.OPERATOR for r in relied_on)
        else ()
    )
    return ClaimVerdict(verdict, tuple(findings), tuple(verified), caveats)
