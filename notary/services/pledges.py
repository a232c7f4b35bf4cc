"""IP pledge registrations (Art. 27): the chain decides, the database remembers the details.

Every change is a ``PledgeRegistry`` transaction first (the contract refuses a second active
pledge on an asset, and a release or enforcement by a non-party), then a ``pledge_event`` record
in the anchored batches, whose certificate carries the full details. A crash between the two is
repaired by retrying: the chain client returns the existing transaction for a repeated request.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from client_sdk.certificate import format_timestamp
from client_sdk.pledges import PLEDGE_STATUS_MEDIA_TYPE
from notary.domain.identifiers import PartyId
from notary.domain.pledges import PledgeAsset, PledgeTerms, asset_id, party_hash, terms_digest
from notary.errors import ChainUnavailable, Conflict, InvalidInput, NotFound, PermissionDenied
from notary.services.issuer import Issuer
from notary.services.records import StoredRecord, accept_record
from notary.storage.models import Pledge, Principal

__all__ = ["change_pledge", "load_pledge", "pledge_status", "register_pledge"]


def _chain_call(fn: Any, *args: Any) -> Any:
    """Run a PledgeRegistry call, turning its refusals into the service's errors."""
    from chain import errors as ce

    try:
        return fn(*args)
    except ce.AssetAlreadyPledged as exc:
        raise Conflict(f"the asset already has active pledge {exc.active_pledge_id}; it must be "
                       "released before it can be pledged again", code="asset_already_pledged") from exc
    except ce.NotPledgee as exc:
        raise PermissionDenied("only the pledgee can enforce a pledge", code="not_pledgee") from exc
    except ce.NotAParty as exc:
        raise PermissionDenied("that party is neither the pledgor nor the pledgee of this pledge",
                               code="not_a_party") from exc
    except ce.PledgeNotActive as exc:
        raise Conflict(f"the pledge is no longer active: {exc}", code="pledge_not_active") from exc
    except ce.UnknownPledge as exc:
        raise NotFound(f"no such pledge on chain: {exc}") from exc
    except (ce.SameParty, ce.ZeroPledgeValue) as exc:
        raise InvalidInput(str(exc)) from exc
    except ce.ChainError as exc:
        raise ChainUnavailable(f"the pledge registry could not be used: {exc}") from exc


def _event_record(
    session: Session,
    *,
    registrar: Principal,
    receipt: Any,
    action: str,
    asset: PledgeAsset,
    terms: PledgeTerms | None,
    party: PartyId | None,
    extra_rows: Any = None,
) -> StoredRecord:
    def build(record_id: str, received_at: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": record_id,
            "kind": "pledge_event",
            "schema": 1,
            "registrar": {"id": registrar.id, "name": registrar.name},
            "action": action,
            "asset": asset.model_dump(mode="json", exclude_none=True),
            "pledge": {
                "chain_id": int(receipt.chain_id),
                "contract": str(receipt.contract),
                "pledge_id": int(receipt.pledge_id),
                "tx_hash": str(receipt.tx_hash),
                "block_number": int(receipt.block_number),
                "block_timestamp": int(receipt.block_timestamp),
            },
            "received_at": format_timestamp(received_at),
        }
        if terms is not None:
            body["terms"] = terms.as_document()
        if party is not None:
            body["party"] = party.model_dump(mode="json")
        return body

    dedup = f"pledge_event:{receipt.chain_id}:{receipt.tx_hash}"
    return accept_record(session, kind="pledge_event", owner=registrar, build_body=build,
                         dedup=dedup, extra_rows=extra_rows)


def register_pledge(
    session: Session, *, registrar: Principal, chain: Any, asset: PledgeAsset, terms: PledgeTerms
) -> tuple[Pledge, StoredRecord]:
    """Register a pledge on chain, then record its details and an anchored event."""
    receipt = _chain_call(
        chain.register, asset_id(asset.key()), party_hash(terms.pledgor.key()),
        party_hash(terms.pledgee.key()), terms_digest(terms.as_document()),
    )
    row = session.exec(select(Pledge).where(
        Pledge.chain_id == int(receipt.chain_id), Pledge.contract == str(receipt.contract),
        Pledge.pledge_id == int(receipt.pledge_id))).first()
    created = row is None
    if row is None:
        row = Pledge(
            chain_id=int(receipt.chain_id), contract=str(receipt.contract), pledge_id=int(receipt.pledge_id),
            asset_key=asset.key(), asset=json.dumps(asset.model_dump(mode="json", exclude_none=True)),
            terms=json.dumps([terms.as_document()]), status="active", registrar_id=registrar.id,
            registered_at=datetime.fromtimestamp(receipt.block_timestamp, UTC),
        )
    stored = _event_record(session, registrar=registrar, receipt=receipt, action="registered",
                           asset=asset, terms=terms, party=None,
                           extra_rows=(lambda _rid: [row]) if created else None)
    session.refresh(row)
    return row, stored


def load_pledge(session: Session, pledge_id: int, chain: Any) -> Pledge:
    row = session.exec(select(Pledge).where(
        Pledge.pledge_id == pledge_id, Pledge.chain_id == int(chain.chain_id),
        Pledge.contract == str(chain.registry_address))).first()
    if row is None:
        raise NotFound(f"no pledge {pledge_id} in this register")
    return row


def change_pledge(
    session: Session,
    *,
    registrar: Principal,
    chain: Any,
    pledge_id: int,
    action: str,
    terms: PledgeTerms | None = None,
    party: PartyId | None = None,
) -> tuple[Pledge, StoredRecord]:
    """Amend (new terms, same parties), release (by a party) or enforce (by the pledgee)."""
    row = load_pledge(session, pledge_id, chain)
    asset = PledgeAsset.model_validate_json(row.asset)
    if action == "amended":
        assert terms is not None
        versions = json.loads(row.terms)
        current = PledgeTerms.model_validate(versions[-1])
        if (terms.pledgor.key(), terms.pledgee.key()) != (current.pledgor.key(), current.pledgee.key()):
            raise InvalidInput("an amendment cannot change the parties; release and register anew")
        receipt = _chain_call(chain.amend, pledge_id, terms_digest(terms.as_document()))
        if versions[-1] != terms.as_document():
            row.terms = json.dumps([*versions, terms.as_document()])
    elif action in {"released", "enforced"}:
        assert party is not None
        fn = chain.release if action == "released" else chain.enforce
        receipt = _chain_call(fn, pledge_id, party_hash(party.key()))
        row.status = action
        row.closed_at = datetime.fromtimestamp(receipt.block_timestamp, UTC)
    else:
        raise InvalidInput(f"unknown pledge action {action!r}")
    stored = _event_record(session, registrar=registrar, receipt=receipt, action=action, asset=asset,
                           terms=terms, party=party, extra_rows=lambda _rid: [row])
    session.refresh(row)
    return row, stored


def pledge_status(
    session: Session, issuer: Issuer, *, chain: Any, asset: PledgeAsset, as_of: datetime
) -> dict[str, Any]:
    """"Is asset X pledged as of T, and to whom", read from the chain at the block of T.

    The details (parties, terms) come from our records but are checked here against the hashes
    the chain holds, and a verifier re-checks them (``client_sdk.pledges.verify_pledge_status``).
    """
    from chain import errors as ce

    moment, now = as_of.timestamp(), time.time()
    if moment > now + 5:
        raise InvalidInput("as_of is in the future; the chain can only answer for times that have passed")
    if int(moment) >= int(now):
        # Block times are whole seconds: a block mined later in this same second could still carry
        # time T. Let the second end first, so the answer is final for T.
        time.sleep(int(moment) + 1 - now)
    try:
        snapshot = chain.pledge_as_of(asset_id(asset.key()), int(moment))
    except ce.ChainError as exc:
        raise ChainUnavailable(f"the pledge registry could not be read: {exc}") from exc
    pledge_doc: dict[str, Any] | None = None
    if snapshot.pledge is not None:
        p = snapshot.pledge
        row = load_pledge(session, int(p.pledge_id), chain)
        terms = next((t for t in reversed(json.loads(row.terms)) if terms_digest(t) == p.terms_digest), None)
        if terms is None:
            raise Conflict(f"our records hold no terms matching pledge {p.pledge_id}'s digest on chain")
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
        "as_of": format_timestamp(as_of),
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
        "issuer": {"key_id": issuer.key_id, "public_key": issuer.public_key_b64, "name": issuer.name},
    }
    return issuer.sign(unsigned)

