"""IP pledge registrations (Art. 27): the chain decides, the database remembers the details.

Every change is a ``PledgeRegistry`` transaction first (the contract refuses a second active
pledge on an asset, a change by another registrar than the one that registered the pledge, and a
release or enforcement not naming the pledgee), then a ``pledge_event`` record in the anchored
batches, whose certificate carries the full details. A crash between the two is repaired by
retrying: the chain client returns the existing transaction for a repeated request.

Who may do what, checked here and again by the contract:

1. Each ``pledge_registrar`` principal sends through its own chain account, derived from the
   service's chain key and the principal's id (``chain.PledgeRegistryClient.for_registrar``: never
   stored, re-derived on every start) and granted its role on first use; the grant is audited.
2. Only the registrar that registered a pledge may amend, release or enforce it (403
   ``not_your_pledge`` here, ``NotRegistrar`` on chain).
3. A release or an enforcement carries the pledgee's consent: an act signed with the
   ``pledgee_key`` its terms name (``ipnotary.sdk.pledges.check_pledge_consent``), at most
   :data:`CONSENT_MAX_AGE` old. Its hash goes on chain, the consent itself into the anchored event.
4. A registration carries an idempotency key; a retry with the same key and body answers with the
   first registration, even after the pledge was released (the chain alone could not tell).

What is registered must be able to hold: a term that has already ended is refused (it would block
the asset for nothing), and a copyright pledged as a work registered here (``wk_…``) must exist and
name the pledgor as its copyright owner. For every other asset the register cannot see who owns it,
and the ``registered`` event says so (``ownership``). A closed pledge answers 409
``pledge_not_active`` to every further act, a repeated release included.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlmodel import Session, select

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.pledges import PLEDGE_STATUS_MEDIA_TYPE, check_pledge_consent, consent_digest
from ipnotary.sdk.records import WorkRecord
from ipnotary.service.domain.identifiers import PartyId
from ipnotary.service.domain.pledges import (
    PledgeAsset,
    PledgeTerms,
    asset_id,
    build_pledge_event_record,
    party_hash,
    terms_digest,
)
from ipnotary.service.domain.works import owner_subject_key
from ipnotary.service.errors import (
    ChainUnusable,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooEarly,
)
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.services.principals import Actor, audit
from ipnotary.service.services.records import StoredRecord, accept_record, typed_body
from ipnotary.service.storage.models import Pledge, Principal, Record

if TYPE_CHECKING:  # only for annotations: web3 is imported when the chain is first used
    from ipnotary.chain.pledges import RegistrarAccount
    from ipnotary.chain.types import BlockInfo, PledgeReceipt, PledgeSnapshot

__all__ = [
    "CONSENT_MAX_AGE",
    "MAX_EARLY_SECONDS",
    "PledgeLedger",
    "change_pledge",
    "load_pledge",
    "pledge_status",
    "refuse_unfinished",
    "register_pledge",
]

CONSENT_MAX_AGE = timedelta(days=7)
"""How old a pledgee's signed consent may be when the registrar submits it."""
MAX_EARLY_SECONDS = 60
"""``as_of`` up to this far ahead answers 425 with ``Retry-After``; further ahead is refused
(422)."""

_CONSENT_ACTIONS = {"released": "release", "enforced": "enforce"}

_T = TypeVar("_T")


class PledgeLedger(Protocol):
    """What the pledge service needs from the chain (``chain.PledgeRegistryClient`` fits): the
    registry's identity, a registrar's own client, the four acts and reads as of a time."""

    @property
    def chain_id(self) -> int: ...
    @property
    def registry_address(self) -> str: ...
    def block(self, block: int | str) -> BlockInfo: ...
    def pledge_as_of(self, asset_id: bytes, timestamp: int) -> PledgeSnapshot: ...
    def provision_registrar(self, label: str) -> RegistrarAccount: ...
    def for_registrar(self, label: str) -> PledgeLedger: ...
    def register(
        self, asset_id: bytes, pledgor: bytes, pledgee: bytes, terms_digest: bytes
    ) -> PledgeReceipt: ...
    def amend(self, pledge_id: int, new_terms_digest: bytes) -> PledgeReceipt: ...
    def release(self, pledge_id: int, party: bytes, consent_digest: bytes) -> PledgeReceipt: ...
    def enforce(self, pledge_id: int, party: bytes, consent_digest: bytes) -> PledgeReceipt: ...


def _chain_call(fn: Callable[..., _T], *args: Any) -> _T:
    """Run a PledgeRegistry call, turning its refusals into the service's errors."""
    from ipnotary.chain import errors as ce

    try:
        return fn(*args)
    except ce.AssetAlreadyPledged as exc:
        raise Conflict(
            f"the asset already has active pledge {exc.active_pledge_id}; it must be "
            "released before it can be pledged again",
            code="asset_already_pledged",
        ) from exc
    except ce.NotRegistrar as exc:
        raise PermissionDenied(
            f"pledge {exc.pledge_id} was registered by another registrar; only it may change it",
            code="not_your_pledge",
        ) from exc
    except ce.NotPledgee as exc:
        raise PermissionDenied(
            "only the pledgee can consent to a release or enforce a pledge", code="not_pledgee"
        ) from exc
    except ce.NotAParty as exc:
        raise PermissionDenied(
            "that party is neither the pledgor nor the pledgee of this pledge", code="not_a_party"
        ) from exc
    except ce.PledgeNotActive as exc:
        raise Conflict(
            f"the pledge was already released or enforced (by another act than this one): {exc}",
            code="pledge_not_active",
        ) from exc
    except ce.UnknownPledge as exc:
        raise NotFound(f"no such pledge on chain: {exc}") from exc
    except (ce.SameParty, ce.ZeroPledgeValue) as exc:
        raise InvalidInput(str(exc)) from exc
    except ce.ChainError as exc:
        raise ChainUnusable(f"the pledge registry could not be used: {exc}") from exc


def _registrar_chain(session: Session, chain: PledgeLedger, registrar: Principal) -> PledgeLedger:
    """The registrar's own chain client, its account granted and funded first (the grant
    audited)."""
    account = _chain_call(chain.provision_registrar, registrar.id)
    if account.granted_tx is not None or account.funded_tx is not None:
        granted = account.granted_tx is not None
        audit(
            session,
            Actor.service(),
            "pledge_registrar.account_grant" if granted else "pledge_registrar.account_top_up",
            target_type="principal",
            target_id=registrar.id,
            detail={
                "address": str(account.address),
                "chain_id": int(chain.chain_id),
                "contract": str(chain.registry_address),
                "tx_hash": str(account.granted_tx or account.funded_tx),
                "wei": int(account.funded_wei),
            },
        )
        session.commit()  # the grant happened on chain, whatever becomes of the request
    return chain.for_registrar(registrar.id)


def _event_record(
    session: Session,
    *,
    registrar: Principal,
    receipt: PledgeReceipt,
    action: str,
    asset: PledgeAsset,
    terms: Mapping[str, Any] | None,
    party: Mapping[str, Any] | None,
    consent: Mapping[str, Any] | None = None,
    ownership: Mapping[str, Any] | None = None,
    extra_rows: Callable[[str], list[Any]] | None = None,
) -> StoredRecord:
    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        return build_pledge_event_record(
            record_id,
            received_at,
            registrar={
                "id": registrar.id,
                "name": registrar.name,
                "account": str(receipt.registrar),
            },
            action=action,
            asset=asset,
            transaction={
                "chain_id": receipt.chain_id,
                "contract": receipt.contract,
                "pledge_id": receipt.pledge_id,
                "tx_hash": receipt.tx_hash,
                "block_number": receipt.block_number,
                "block_timestamp": receipt.block_timestamp,
            },
            terms=terms,
            party=party,
            consent=consent,
            ownership=ownership,
        )

    dedup = f"pledge_event:{receipt.chain_id}:{receipt.tx_hash}"
    return accept_record(
        session,
        kind=RecordKind.pledge_event,
        owner=registrar,
        build_body=build,
        dedup=dedup,
        extra_rows=extra_rows,
    )


def _request_digest(asset: PledgeAsset, terms: PledgeTerms) -> str:
    body = {"asset": asset.model_dump(mode="json", exclude_none=True), "terms": terms.as_document()}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _replay(session: Session, row: Pledge, digest: str) -> tuple[Pledge, StoredRecord]:
    if row.request_sha256 != digest:
        raise InvalidInput(
            "this Idempotency-Key was used for another registration; use a new key "
            "for a new pledge",
            code="idempotency_key_reused",
        )
    record = session.exec(select(Record).where(Record.id == row.registration_record_id)).first()
    if record is None:
        raise Conflict(f"pledge {row.pledge_id}'s registration event is missing from our records")
    return row, StoredRecord(record, created=False)


def _ended(terms: PledgeTerms, what: str) -> None:
    today = datetime.now(UTC).date()
    if terms.term_end < today:
        raise InvalidInput(
            f"the term ended on {terms.term_end.isoformat()}, before today "
            f"({today.isoformat()}): {what}",
            code="term_ended",
        )


def _ownership(session: Session, asset: PledgeAsset, terms: PledgeTerms) -> dict[str, Any]:
    """Whether the pledgor is known to own the asset: checked for works registered here, refused
    when it is not theirs; anything registered elsewhere is marked as not checked."""
    work_id = asset.work_id
    if work_id is None:
        return {
            "checked": False,
            "reason": f"the {asset.type.value} is registered outside this platform; the "
            "register did not check that the pledgor owns it",
        }
    record = session.exec(
        select(Record).where(Record.id == work_id, Record.kind == RecordKind.work)
    ).first()
    if record is None:
        raise InvalidInput(
            f"no work {work_id} is registered here; pledge a copyright registered "
            "elsewhere by its registration number",
            code="work_not_registered",
        )
    owner = owner_subject_key(typed_body(record, WorkRecord).work)
    if owner != terms.pledgor.key():
        raise InvalidInput(
            f"work {work_id} is registered with another copyright owner than the "
            "pledgor; only its owner can pledge it",
            code="pledgor_not_owner",
        )
    return {"checked": True, "work": work_id, "copyright_owner": owner}


def register_pledge(
    session: Session,
    *,
    registrar: Principal,
    chain: PledgeLedger,
    asset: PledgeAsset,
    terms: PledgeTerms,
    idempotency_key: str,
) -> tuple[Pledge, StoredRecord]:
    """Register a pledge on chain through the registrar's own account, then record its details and
    an anchored event. A repeated ``idempotency_key`` answers with the first registration."""
    digest = _request_digest(asset, terms)
    earlier = session.exec(
        select(Pledge).where(
            Pledge.registrar_id == registrar.id, Pledge.idempotency_key == idempotency_key
        )
    ).first()
    if earlier is not None:
        return _replay(session, earlier, digest)
    if terms.pledgee_key is None:
        raise InvalidInput(
            "the terms must name pledgee_key, the pledgee's Ed25519 public key: "
            "releases and enforcements need the pledgee's signature with it",
            code="pledgee_key_required",
        )
    _ended(terms, "a pledge for it would block the asset while securing nothing")
    ownership = _ownership(session, asset, terms)
    own = _registrar_chain(session, chain, registrar)
    receipt = _chain_call(
        own.register,
        asset_id(asset.key()),
        party_hash(terms.pledgor.key()),
        party_hash(terms.pledgee.key()),
        terms_digest(terms.as_document()),
    )
    on_chain = (
        Pledge.chain_id == int(receipt.chain_id),
        Pledge.contract == str(receipt.contract),
        Pledge.pledge_id == int(receipt.pledge_id),
    )
    row = session.exec(select(Pledge).where(*on_chain)).first()
    created = row is None
    if row is None:
        row = Pledge(
            chain_id=int(receipt.chain_id),
            contract=str(receipt.contract),
            pledge_id=int(receipt.pledge_id),
            asset_key=asset.key(),
            asset=json.dumps(asset.model_dump(mode="json", exclude_none=True)),
            terms=json.dumps([terms.as_document()]),
            status="active",
            registrar_id=registrar.id,
            registered_at=datetime.fromtimestamp(receipt.block_timestamp, UTC),
            registrar_account=str(receipt.registrar),
            idempotency_key=idempotency_key,
            request_sha256=digest,
        )
    new_row = row

    def rows(record_id: str) -> list[Any]:
        new_row.registration_record_id = record_id
        return [new_row]

    stored = _event_record(
        session,
        registrar=registrar,
        receipt=receipt,
        action="registered",
        asset=asset,
        terms=terms.as_document(),
        party=None,
        ownership=ownership,
        extra_rows=rows if created else None,
    )
    # Re-read: a concurrent retry may have stored the row (and the event) first.
    return session.exec(select(Pledge).where(*on_chain)).one(), stored


def load_pledge(session: Session, pledge_id: int, chain: PledgeLedger) -> Pledge:
    row = session.exec(
        select(Pledge).where(
            Pledge.pledge_id == pledge_id,
            Pledge.chain_id == int(chain.chain_id),
            Pledge.contract == str(chain.registry_address),
        )
    ).first()
    if row is None:
        raise NotFound(f"no pledge {pledge_id} in this register")
    return row


def _checked_consent(row: Pledge, current: Mapping[str, Any], action: str, consent: Any) -> None:
    """The pledgee's consent to ``action`` on this pledge, or the refusal naming what is wrong."""
    pledgee_key = current.get("pledgee_key")
    if not isinstance(pledgee_key, str):
        raise Conflict(
            f"pledge {row.pledge_id}'s terms name no pledgee key, so no consent can be "
            "checked; amend is not enough: release it by the registrar's procedure for "
            "pledges registered before consent keys",
            code="no_pledgee_key",
        )
    try:
        check_pledge_consent(
            consent,
            pledgee_key=pledgee_key,
            pledgee=current["pledgee"],
            chain_id=row.chain_id,
            contract=row.contract,
            pledge_id=row.pledge_id,
            action=_CONSENT_ACTIONS[action],
            max_age=CONSENT_MAX_AGE,
        )
    except VerificationError as exc:
        if exc.step == "format":
            raise InvalidInput(
                f"the consent is malformed: {exc.reason}", code="invalid_consent"
            ) from exc
        if exc.step == "party":
            signed_as = consent["act"]["party"]
            pledgor = current["pledgor"]
            is_pledgor = (signed_as["id_type"], signed_as["id"]) == (
                pledgor["id_type"],
                pledgor["id"],
            )
            raise PermissionDenied(
                exc.reason, code="not_pledgee" if is_pledgor else "not_a_party"
            ) from exc
        raise PermissionDenied(
            f"the pledgee's consent does not hold: {exc.reason}", code="consent_invalid"
        ) from exc


def change_pledge(
    session: Session,
    *,
    registrar: Principal,
    chain: PledgeLedger,
    pledge_id: int,
    action: str,
    terms: PledgeTerms | None = None,
    consent: Mapping[str, Any] | None = None,
) -> tuple[Pledge, StoredRecord]:
    """Amend (new terms, same parties and pledgee key), release (with the pledgee's consent) or
    enforce (the pledgee's signed demand); only by the registrar that registered the pledge."""
    row = load_pledge(session, pledge_id, chain)
    if row.registrar_id != registrar.id:
        raise PermissionDenied(
            f"pledge {pledge_id} was registered by another registrar; only it may "
            "amend, release or enforce it",
            code="not_your_pledge",
        )
    if row.status != "active" and not (action == row.status and consent is not None):
        # A retry of the very act that closed it (the same signed consent) goes on to the chain,
        # which answers with the same transaction, and so with the first event (200); a new act
        # of either kind is refused there as here. A crash between the chain and the database
        # leaves the row active, so the retry that repairs it goes through as well.
        closed = row.closed_at.isoformat() if row.closed_at else "earlier"
        raise Conflict(
            f"pledge {pledge_id} was {row.status} at {closed}; nothing more can be done "
            f"to it (GET /v1/pledges/{pledge_id} and its events show how it ended)",
            code="pledge_not_active",
        )
    asset = PledgeAsset.stored(row.asset)
    versions = json.loads(row.terms)
    current: dict[str, Any] = versions[-1]
    event_terms: Mapping[str, Any] = current
    party: dict[str, Any] | None = None
    if action == "amended":
        if terms is None:
            raise InvalidInput("an amendment carries the new terms")
        was = PledgeTerms.model_validate(current)
        if (terms.pledgor.key(), terms.pledgee.key()) != (was.pledgor.key(), was.pledgee.key()):
            raise InvalidInput("an amendment cannot change the parties; release and register anew")
        if terms.pledgee_key != was.pledgee_key:
            raise InvalidInput(
                "an amendment cannot change the pledgee's key; it is what consents to a release",
                code="pledgee_key_fixed",
            )
        _ended(terms, "release the pledge instead of amending it into the past")
        own = _registrar_chain(session, chain, registrar)
        receipt = _chain_call(own.amend, pledge_id, terms_digest(terms.as_document()))
        event_terms = terms.as_document()
        if current != event_terms:
            row.terms = json.dumps([*versions, event_terms])
    elif action in _CONSENT_ACTIONS:
        _checked_consent(row, current, action, consent)
        assert consent is not None
        party = dict(current["pledgee"])
        own = _registrar_chain(session, chain, registrar)
        close = own.release if action == "released" else own.enforce
        receipt = _chain_call(
            close,
            pledge_id,
            party_hash(PartyId.model_validate(party).key()),
            consent_digest(consent),
        )
        row.status = action
        row.closed_at = datetime.fromtimestamp(receipt.block_timestamp, UTC)
    else:
        raise InvalidInput(f"unknown pledge action {action!r}")
    session.add(row)
    stored = _event_record(
        session,
        registrar=registrar,
        receipt=receipt,
        action=action,
        asset=asset,
        terms=event_terms,
        party=party,
        consent=consent,
        extra_rows=lambda _rid: [row],
    )
    session.refresh(row)
    return row, stored


def refuse_unfinished(as_of: datetime | None) -> None:
    """Refuse, at once, a time whose second is not over (a block stamped with it may still be
    mined, so no answer for it is final): :class:`TooEarly` with the seconds to wait, up to
    :data:`MAX_EARLY_SECONDS` ahead; further ahead is invalid. Waiting is the client's job: a
    request thread that slept would be one fewer to serve others."""
    if as_of is None:
        return
    now, moment = time.time(), as_of.timestamp()
    if moment > now + MAX_EARLY_SECONDS:
        raise InvalidInput(
            "as_of is in the future; the chain can only answer for times that have passed"
        )
    if int(moment) >= int(now):
        wait = max(1, math.ceil(int(moment) + 1 - now))
        raise TooEarly(
            f"as_of {format_timestamp(as_of)} has not passed yet: a block stamped with it "
            f"may still be mined; ask again in {wait} s",
            retry_after=wait,
        )


def _moment(chain: PledgeLedger, as_of: datetime | None) -> int:
    """The second the answer is for."""
    refuse_unfinished(as_of)
    if as_of is None:
        # The newest second that is surely over, or the head block's if later: nothing can still
        # be stamped at or before either (block times strictly increase).
        return max(int(chain.block("latest").timestamp), int(time.time()) - 1)
    return int(as_of.timestamp())


def pledge_status(
    session: Session,
    issuer: Issuer,
    *,
    chain: PledgeLedger,
    asset: PledgeAsset,
    as_of: datetime | None,
) -> dict[str, Any]:
    """ "Is asset X pledged as of T, and to whom", read from the chain at the block of T.

    Without ``as_of`` the answer is for the newest second that is over. The details (parties,
    terms) come from our records but are checked here against the hashes the chain holds, and a
    verifier re-checks them (``ipnotary.sdk.pledges.verify_pledge_status``).
    """
    from ipnotary.chain import errors as ce

    try:
        moment = _moment(chain, as_of)
        snapshot = chain.pledge_as_of(asset_id(asset.key()), moment)
    except ce.ChainError as exc:
        raise ChainUnusable(f"the pledge registry could not be read: {exc}") from exc
    pledge_doc: dict[str, Any] | None = None
    if snapshot.pledge is not None:
        p = snapshot.pledge
        row = load_pledge(session, int(p.pledge_id), chain)
        terms = next(
            (t for t in reversed(json.loads(row.terms)) if terms_digest(t) == p.terms_digest), None
        )
        if terms is None:
            raise Conflict(
                f"our records hold no terms matching pledge {p.pledge_id}'s digest on chain"
            )
        pledge_doc = {
            "pledge_id": int(p.pledge_id),
            "registered_at": p.registered_at,
            "pledgor_hash": p.pledgor.hex(),
            "pledgee_hash": p.pledgee.hex(),
            "terms_digest": p.terms_digest.hex(),
            "terms": terms,
        }
    unsigned = {
        "media_type": PLEDGE_STATUS_MEDIA_TYPE,
        "asset": asset.model_dump(mode="json", exclude_none=True),
        "asset_id": asset_id(asset.key()).hex(),
        "as_of": format_timestamp(datetime.fromtimestamp(moment, UTC) if as_of is None else as_of),
        "chain": {
            "chain_id": int(chain.chain_id),
            "contract": str(chain.registry_address),
            "block_number": int(snapshot.block.number),
            "block_hash": str(snapshot.block.hash),
            "block_timestamp": int(snapshot.block.timestamp),
        },
        "pledged": pledge_doc is not None,
        "pledge": pledge_doc,
        "issued_at": format_timestamp(datetime.now(UTC)),
        "issuer": {
            "key_id": issuer.key_id,
            "public_key": issuer.public_key_b64,
            "name": issuer.name,
        },
    }
    return issuer.sign(unsigned)
