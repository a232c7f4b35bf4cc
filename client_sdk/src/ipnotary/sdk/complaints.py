"""E-commerce complaints (the regulation's Art. 13; E-Commerce Law Arts. 42-45): the rules a
complaint's steps follow, its timeline checked offline with one call, and a client.

A complaint is a sequence of steps (``complaint_event`` records, each anchored in the one log): a
rights holder files a notice against listings of a platform; the platform takes measures or
rejects, each with a statement of reasons, and forwards the notice to the sellers; a seller
declares non-infringement; the platform forwards the declaration to the holder, and unless the
holder notifies a complaint to an authority or a lawsuit within the window (15 days by default)
the platform lifts the measures. Each step names the complaint, its place (``seq``) and the leaf
hash of the step before it (``previous``), so a timeline with a step changed or left out fails.

Where to start reading: :data:`TRANSITIONS` (which step may follow which, per listing),
:func:`apply_step` (the rules, the service's and the verifier's), :func:`verify_complaint_timeline`
(:class:`TimelineStep`, in order) and :class:`ComplaintsClient`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ipnotary.sdk.certificate import format_timestamp, parse_certificate, parse_time
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.records import ComplaintEventRecord, parse_record
from ipnotary.sdk.signing import key_id, public_key_from_b64, signature_is_valid
from ipnotary.sdk.verify import ChainView, TimeSource, verify_certificate

if TYPE_CHECKING:
    from ipnotary.sdk.client import NotaryClient

__all__ = [
    "MEASURES",
    "TIMELINE_MEDIA_TYPE",
    "TRANSITIONS",
    "ComplaintsClient",
    "ListingState",
    "StepRefused",
    "Timeline",
    "TimelineResult",
    "TimelineStep",
    "apply_step",
    "verify_complaint_timeline",
]

TIMELINE_MEDIA_TYPE: Final = "application/vnd.ipnotary.complaint-timeline+json;version=1"
MEASURES: Final = ("delete", "block", "disconnect", "stop_transactions")
MAX_TIMELINE_EVENTS = 20_000  # far beyond a notice of 500 listings walked through every step

Capacity = Literal["holder", "platform", "seller"]


# --- the rules ----------------------------------------------------------------------------------

# step -> (the states a listing must be in, the state it moves to, who takes it). ``published``
# touches no listing.
TRANSITIONS: Final[Mapping[str, tuple[frozenset[str], str, Capacity]]] = {
    "filed": (frozenset({""}), "notified", "holder"),
    "measures_taken": (frozenset({"notified"}), "restricted", "platform"),
    "rejected": (frozenset({"notified"}), "rejected", "platform"),
    "notice_forwarded": (frozenset({"restricted"}), "forwarded", "platform"),
    "declared": (frozenset({"forwarded"}), "declared", "seller"),
    "declaration_forwarded": (frozenset({"declared"}), "window", "platform"),
    "action_notified": (frozenset({"window"}), "disputed", "holder"),
    "measures_lifted": (frozenset({"window", "disputed"}), "lifted", "platform"),
}

# What is due after a step, from whom, and how long it has (the rule's field, in its unit).
NEXT: Final[Mapping[str, tuple[str, Capacity, str | None]]] = {
    "filed": ("decide", "platform", "decision_hours"),
    "measures_taken": ("forward_notice", "platform", "forward_hours"),
    "notice_forwarded": ("declare", "seller", None),  # the law sets the seller no limit
    "declared": ("forward_declaration", "platform", "forward_hours"),
    "declaration_forwarded": ("lift", "platform", "lift_hours"),  # counted from the window's end
}


@dataclass
class ListingState:
    """Where one listing stands: its state, the window's end once the declaration was forwarded,
    and what is due next."""

    index: int
    state: str = ""
    window_ends_at: datetime | None = None
    next_step: str | None = None
    next_party: str | None = None
    due_at: datetime | None = None
    measure: str | None = None


class StepRefused(ValueError):
    """A step the rules do not allow now; ``code`` is the service's problem code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def due_after(
    step: str, at: datetime, rules: Mapping[str, int], window_ends_at: datetime | None = None
) -> tuple[str, Capacity, datetime | None] | None:
    """The step due after ``step`` taken at ``at``, by whom and by when."""
    if step not in NEXT:
        return None
    name, party, limit = NEXT[step]
    if limit is None:
        return name, party, None
    start = window_ends_at if step == "declaration_forwarded" and window_ends_at else at
    return name, party, start + timedelta(hours=rules[limit])


def apply_step(
    listing: ListingState,
    step: str,
    *,
    at: datetime,
    rules: Mapping[str, int],
    measure: str | None = None,
) -> None:
    """Move ``listing`` by ``step`` taken at ``at``, or raise :class:`StepRefused`.

    Lifting measures waits for the end of the window (409 ``window_open``), and the holder's
    notice of a complaint or lawsuit counts only within it (409 ``window_closed``)."""
    allowed, target, _ = TRANSITIONS[step]
    if listing.state not in allowed:
        if step == "measures_lifted" and listing.state in ("restricted", "forwarded", "declared"):
            raise StepRefused(
                "declaration_not_forwarded",
                f"listing {listing.index} is {listing.state}: measures are lifted only after the "
                "seller's declaration was forwarded to the holder and the window passed",
            )
        if step == "action_notified":
            raise StepRefused(
                "no_window",
                f"listing {listing.index} is {listing.state or 'not in this notice'}: a complaint "
                "or lawsuit is notified once the seller's declaration was forwarded to you",
            )
        raise StepRefused(
            "wrong_state",
            f"listing {listing.index} is {listing.state or 'not in this notice'}; {step} needs "
            f"it {' or '.join(sorted(s or 'new' for s in allowed))}",
        )
    if step == "measures_lifted" and listing.state == "window":
        assert listing.window_ends_at is not None
        if at < listing.window_ends_at:
            raise StepRefused(
                "window_open",
                f"listing {listing.index}: the holder may notify a complaint or lawsuit until "
                f"{format_timestamp(listing.window_ends_at)}; measures are lifted after that",
            )
    if step == "action_notified":
        assert listing.window_ends_at is not None
        if at > listing.window_ends_at:
            raise StepRefused(
                "window_closed",
                f"listing {listing.index}: the window closed at "
                f"{format_timestamp(listing.window_ends_at)}",
            )
    listing.state = target
    if step == "declaration_forwarded":
        listing.window_ends_at = at + timedelta(days=rules["window_days"])
    if step == "measures_taken":
        listing.measure = measure
    due = due_after(step, at, rules, listing.window_ends_at)
    listing.next_step, listing.next_party, listing.due_at = due if due else (None, None, None)


# --- the timeline document ----------------------------------------------------------------------


class TimelineStep(StrEnum):
    """The checks of a complaint's timeline, in order."""

    FORMAT = "timeline_format"  # a document of this media type, within limits
    SIGNATURE = "timeline_signature"  # signed by an issuer key the policy trusts
    EVENTS = "complaint_events"  # every step's certificate verifies and is a step of this complaint
    CHAIN = "complaint_log"  # the steps are 1..n, each following the one before it
    RULES = "complaint_rules"  # every step was allowed when it was taken; deadlines as stated
    LISTINGS = "listing_states"  # the listings' states are those the steps lead to


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Named(_Strict):
    id: str
    name: str


class TimelineComplaint(_Strict):
    id: str
    platform: _Named
    holder: _Named


class TimelineCopy(_Strict):
    made_for: Capacity = Field(alias="for")
    principal: _Named


class TimelineEvent(_Strict):
    seq: Annotated[int, Field(ge=1)]
    record_id: str
    step: str
    leaf_hash: str
    certificate: dict[str, Any]


class TimelineDue(_Strict):
    step: str
    party: str
    by: str | None = None


class TimelineListing(_Strict):
    index: Annotated[int, Field(ge=0)]
    url: str
    seller_id: str | None = None
    state: str
    measure: str | None = None
    window_ends_at: str | None = None
    due: TimelineDue | None = None


class _Issuer(_Strict):
    key_id: str
    public_key: str


class _Signature(_Strict):
    alg: Literal["Ed25519"]
    value: str


class Timeline(_Strict):
    """``GET /v1/complaints/{id}/timeline``: every step with its certificate, signed."""

    media_type: Literal["application/vnd.ipnotary.complaint-timeline+json;version=1"]
    complaint: TimelineComplaint
    copy_for: TimelineCopy = Field(alias="copy")
    exported_at: str
    log_size: Annotated[int, Field(ge=1, le=MAX_TIMELINE_EVENTS)]
    events: Annotated[list[TimelineEvent], Field(max_length=MAX_TIMELINE_EVENTS)]
    withheld: list[int]
    listings: list[TimelineListing]
    issuer: _Issuer
    signature: _Signature

    def unsigned(self) -> dict[str, Any]:
        body: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        del body["signature"]
        return body


@dataclass(frozen=True)
class StepFinding:
    seq: int
    step: str
    actor: str
    received_at: datetime
    proven_time: datetime
    time_source: TimeSource
    listings: tuple[int, ...]


@dataclass(frozen=True)
class TimelineResult:
    complaint_id: str
    copy_for: str
    steps: tuple[StepFinding, ...]
    withheld: tuple[int, ...]
    states: dict[int, str] = field(default_factory=dict)


def _fail(step: TimelineStep, message: str) -> VerificationError:
    return VerificationError(step, message)


def verify_complaint_timeline(
    document: Mapping[str, Any],
    policy: TrustPolicy,
    *,
    chain: ChainView | None = None,
    now: datetime | None = None,
) -> TimelineResult:
    """Check a complaint's timeline offline under ``policy`` (:class:`TimelineStep`, in order);
    raises ``VerificationError`` naming the step and the event that fails.

    A holder's or platform's copy holds every step and its listings' states are recomputed from
    them; a seller's copy holds the steps it may read and lists the others as withheld."""
    if not isinstance(policy, TrustPolicy):
        raise TypeError("verify_complaint_timeline needs your trust policy")
    try:
        timeline = Timeline.model_validate(dict(document))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the document"
        raise _fail(TimelineStep.FORMAT, f"timeline: {where}: {first['msg']}") from None
    _check_signature(timeline, policy)
    bodies, findings = _check_events(timeline, policy, chain, now)
    _check_chain(timeline, bodies)
    states = _check_rules(timeline, bodies) if not timeline.withheld else {}
    if states:
        _check_listings(timeline, states)
    return TimelineResult(
        complaint_id=timeline.complaint.id,
        copy_for=timeline.copy_for.made_for,
        steps=tuple(findings),
        withheld=tuple(timeline.withheld),
        states={i: s.state for i, s in states.items()},
    )


def _check_signature(timeline: Timeline, policy: TrustPolicy) -> None:
    step = TimelineStep.SIGNATURE
    try:
        public = public_key_from_b64(timeline.issuer.public_key)
    except FormatError as exc:
        raise _fail(step, f"the issuer key is unusable: {exc}") from None
    if key_id(public) != timeline.issuer.key_id:
        raise _fail(step, "key_id does not name the issuer key")
    if not signature_is_valid(public, timeline.unsigned(), timeline.signature.value):
        raise _fail(step, "the timeline's signature does not verify: it was changed after export")
    trusted = policy.issuer(timeline.issuer.key_id)
    if trusted is None:
        raise _fail(
            step, f"signed by key {timeline.issuer.key_id}, which your policy does not list"
        )
    try:
        exported = parse_time(timeline.exported_at)
    except ValueError as exc:
        raise _fail(step, f"exported_at: {exc}") from None
    if not trusted.covers(exported):
        raise _fail(step, "the issuer key was not valid when the timeline was exported")


def _check_events(
    timeline: Timeline, policy: TrustPolicy, chain: ChainView | None, now: datetime | None
) -> tuple[dict[int, tuple[ComplaintEventRecord, str]], list[StepFinding]]:
    step = TimelineStep.EVENTS
    bodies: dict[int, tuple[ComplaintEventRecord, str]] = {}
    findings = []
    for event in timeline.events:
        what = f"event {event.seq} ({event.step})"
        try:
            cert = parse_certificate(event.certificate)
            result = verify_certificate(cert, policy, chain=chain, now=now)
        except FormatError as exc:
            raise _fail(step, f"{what}: {exc}") from None
        except VerificationError as exc:
            raise _fail(step, f"{what}: failed at step '{exc.step}': {exc.reason}") from None
        try:
            body = parse_record(cert.record)
        except FormatError as exc:
            raise _fail(step, f"{what}: {exc}") from None
        if not isinstance(body, ComplaintEventRecord):
            raise _fail(step, f"{what}: its certificate is of a {cert.kind} record")
        if (
            body.id != event.record_id
            or body.seq != event.seq
            or body.step != event.step
            or cert.leaf_hash != event.leaf_hash
        ):
            raise _fail(
                step, f"{what}: the timeline does not describe the step its certificate holds"
            )
        if body.complaint.id != timeline.complaint.id:
            raise _fail(step, f"{what} belongs to another complaint ({body.complaint.id})")
        if event.seq in bodies:
            raise _fail(TimelineStep.CHAIN, f"{what} is listed twice")
        bodies[event.seq] = (body, cert.leaf_hash)
        findings.append(
            StepFinding(
                seq=body.seq,
                step=body.step,
                actor=f"{body.actor.name} ({body.actor.capacity})",
                received_at=parse_time(body.received_at),
                proven_time=result.proven_time,
                time_source=result.time_source,
                listings=tuple(body.listings),
            )
        )
    return bodies, findings


def _check_chain(
    timeline: Timeline, bodies: Mapping[int, tuple[ComplaintEventRecord, str]]
) -> None:
    step = TimelineStep.CHAIN
    seqs = [e.seq for e in timeline.events]
    if seqs != sorted(seqs):
        raise _fail(step, "the steps are not listed in order")
    every = list(range(1, timeline.log_size + 1))
    if sorted(set(seqs) | set(timeline.withheld)) != every or set(seqs) & set(timeline.withheld):
        missing = sorted(set(every) - set(seqs) - set(timeline.withheld))
        raise _fail(
            step,
            f"the steps listed and withheld are not the complaint's steps 1 to "
            f"{timeline.log_size}: step {missing[:5] or '?'} is missing without being declared "
            "withheld",
        )
    if timeline.copy_for.made_for != "seller" and timeline.withheld:
        raise _fail(step, f"the {timeline.copy_for.made_for}'s copy withholds steps")
    for seq, (body, _) in bodies.items():
        if seq == 1 and (body.previous is not None or body.step != "filed"):
            raise _fail(step, "step 1 is not the notice, or names a step before it")
        before = bodies.get(seq - 1)
        if before is not None and body.previous != before[1]:
            raise _fail(step, f"event {seq} ({body.step}) does not follow event {seq - 1}")
        stated = (
            body.complaint.platform.model_dump(mode="json"),
            body.complaint.holder.model_dump(mode="json"),
        )
        if stated != (
            timeline.complaint.platform.model_dump(mode="json"),
            timeline.complaint.holder.model_dump(mode="json"),
        ):
            raise _fail(step, f"event {seq} names another platform or holder")


def _check_rules(
    timeline: Timeline, bodies: Mapping[int, tuple[ComplaintEventRecord, str]]
) -> dict[int, ListingState]:
    """Replay every step under the rules the notice recorded: each was allowed when taken, and
    the deadlines it states are the ones the rules give."""
    step = TimelineStep.RULES
    notice = bodies[1][0]
    if notice.notice is None or notice.rules is None:
        raise _fail(step, "the notice holds no listings or rules")
    rules = notice.rules.model_dump()
    listings = {entry.index: ListingState(entry.index) for entry in notice.notice.listings}
    for seq in sorted(bodies):
        body = bodies[seq][0]
        what = f"event {seq} ({body.step})"
        if body.step == "published":
            continue
        at = parse_time(body.received_at)
        if body.actor.capacity != TRANSITIONS[body.step][2]:
            raise _fail(step, f"{what} was taken by the {body.actor.capacity}")
        for index in body.listings:
            listing = listings.get(index)
            if listing is None:
                raise _fail(step, f"{what}: listing {index} is not in the notice")
            try:
                apply_step(listing, body.step, at=at, rules=rules, measure=body.measure)
            except StepRefused as exc:
                raise _fail(step, f"{what}: {exc.detail}") from None
            stated_end = body.window_ends_at
            if body.step == "declaration_forwarded" and (
                stated_end is None
                or listing.window_ends_at is None
                or parse_time(stated_end) != listing.window_ends_at
            ):
                raise _fail(step, f"{what}: the window it states is not the rules' window")
        due = due_after(
            body.step,
            at,
            rules,
            parse_time(body.window_ends_at) if body.window_ends_at else None,
        )
        stated = None if body.due is None else (body.due.step, body.due.party, body.due.by)
        expected = None if due is None else (due[0], due[1], _fmt(due[2]))
        if stated != expected:
            raise _fail(step, f"{what}: the deadline it states is not the rules' deadline")
    return listings


def _fmt(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _check_listings(timeline: Timeline, states: Mapping[int, ListingState]) -> None:
    for listing in timeline.listings:
        replayed = states.get(listing.index)
        if replayed is None or replayed.state != listing.state:
            raise _fail(
                TimelineStep.LISTINGS,
                f"listing {listing.index} is stated {listing.state}, but its steps leave it "
                f"{replayed.state if replayed else 'absent'}",
            )
    if len(timeline.listings) != len(states):
        raise _fail(TimelineStep.LISTINGS, "the timeline does not list every listing of the notice")


# --- the client side ----------------------------------------------------------------------------


def _indices(listings: Iterable[int]) -> list[int]:
    return [int(i) for i in listings]


class ComplaintsClient:
    """A complaint through the service, over a :class:`~ipnotary.sdk.client.NotaryClient`: file a
    notice (a holder), take measures, reject, forward, lift and publish (the platform), declare
    (a seller), notify a complaint or lawsuit (the holder), read the timeline."""

    def __init__(self, client: NotaryClient) -> None:
        self._client = client

    def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._client._json("POST", f"/v1/complaints{path}", json=dict(body)))

    def file(self, notice: Mapping[str, Any]) -> dict[str, Any]:
        """File a notice: ``platform_id``, ``holder`` (name, id_type, id), ``right``,
        ``listings`` (url, seller_id), ``evidence`` (record ids), ``good_faith``."""
        return self._post("", notice)

    def complaints(self, *, overdue: bool = False) -> list[dict[str, Any]]:
        params = {"overdue": "true"} if overdue else {}
        return list(self._client._json("GET", "/v1/complaints", params=params))

    def complaint(self, complaint_id: str) -> dict[str, Any]:
        return dict(self._client._json("GET", f"/v1/complaints/{complaint_id}"))

    def measure(
        self,
        complaint_id: str,
        listings: Sequence[int],
        *,
        measure: str,
        reasons: Mapping[str, Any],
    ) -> dict[str, Any]:
        """(The platform) restrict listings (``delete``, ``block``, ``disconnect``,
        ``stop_transactions``) with a statement of reasons (``restriction``, ``facts``,
        ``ground``, ``automated``, ``redress``)."""
        body = {"listings": _indices(listings), "measure": measure, "reasons": dict(reasons)}
        return self._post(f"/{complaint_id}/measures", body)

    def reject(
        self, complaint_id: str, listings: Sequence[int], *, reasons: Mapping[str, Any]
    ) -> dict[str, Any]:
        body = {"listings": _indices(listings), "reasons": dict(reasons)}
        return self._post(f"/{complaint_id}/rejections", body)

    def forward(
        self,
        complaint_id: str,
        listings: Sequence[int],
        *,
        document: Literal["notice", "declaration"] = "notice",
        seller_id: str | None = None,
    ) -> dict[str, Any]:
        """(The platform) forward the notice to the listings' sellers (``seller_id`` names the
        seller of listings the notice named none for), or a declaration to the holder."""
        body: dict[str, Any] = {"document": document, "listings": _indices(listings)}
        if seller_id is not None:
            body["seller_id"] = seller_id
        return self._post(f"/{complaint_id}/forwardings", body)

    def declare(
        self,
        complaint_id: str,
        listings: Sequence[int],
        *,
        seller: Mapping[str, str],
        statement: str,
        evidence: Sequence[str] = (),
    ) -> dict[str, Any]:
        """(A seller) declare that its listings do not infringe, with its own evidence."""
        body = {
            "listings": _indices(listings),
            "seller": dict(seller),
            "statement": statement,
            "evidence": list(evidence),
        }
        return self._post(f"/{complaint_id}/declarations", body)

    def notify(
        self,
        complaint_id: str,
        listings: Sequence[int],
        *,
        type: Literal["authority_complaint", "lawsuit"],
        addressee: str,
        reference: str,
        filed_on: str,
        evidence: Sequence[str] = (),
    ) -> dict[str, Any]:
        """(The holder) notify the platform, within the window, of a complaint to an authority
        or a lawsuit: the measures then stay."""
        body = {
            "listings": _indices(listings),
            "type": type,
            "addressee": addressee,
            "reference": reference,
            "filed_on": filed_on,
            "evidence": list(evidence),
        }
        return self._post(f"/{complaint_id}/notifications", body)

    def lift(self, complaint_id: str, listings: Sequence[int], *, note: str) -> dict[str, Any]:
        """(The platform) lift the measures once the window passed, or on a dispute's outcome."""
        return self._post(
            f"/{complaint_id}/liftings", {"listings": _indices(listings), "note": note}
        )

    def publish(self, complaint_id: str) -> dict[str, Any]:
        """(The platform) publish the notice, declarations and outcomes in the public register."""
        return self._post(f"/{complaint_id}/publication", {})

    def rules(self) -> dict[str, Any]:
        return dict(self._client._json("GET", "/v1/complaints/rules"))

    def set_rules(self, **limits: int) -> dict[str, Any]:
        """(A platform) its time limits: ``decision_hours``, ``forward_hours``, ``window_days``,
        ``lift_hours``; a notice keeps those in force when it arrived."""
        return dict(self._client._json("PUT", "/v1/complaints/rules", json=limits))

    def register(self, *, platform_id: str | None = None) -> list[dict[str, Any]]:
        """The public register of published complaints (no key needed)."""
        params = {"platform_id": platform_id} if platform_id else {}
        return list(self._client._json("GET", "/v1/complaints/register", params=params))

    def timeline(self, complaint_id: str) -> dict[str, Any]:
        """The complaint's timeline as you may read it, every step with its certificate
        (:func:`verify_complaint_timeline` checks it)."""
        return dict(self._client._json("GET", f"/v1/complaints/{complaint_id}/timeline"))
