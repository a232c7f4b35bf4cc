"""Every record kind declared once (``client_sdk.RecordKind``) with one body builder in
``ipnotary.service.domain``; the pledge event's body, now built there, is the one it always was."""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from datetime import UTC, datetime

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.pledges import CONSENT_TAG
from ipnotary.service import domain
from ipnotary.service.domain.pledges import AssetType, PledgeAsset, build_pledge_event_record


def test_every_kind_has_one_body_builder_in_the_domain() -> None:
    builders = {
        name
        for info in pkgutil.iter_modules(domain.__path__)
        for name in vars(importlib.import_module(f"ipnotary.service.domain.{info.name}"))
        if name.startswith("build_") and name.endswith("_record")
    }
    assert builders == {f"build_{kind.value}_record" for kind in RecordKind}


def test_a_pledge_event_body_is_the_one_the_service_built_before() -> None:
    consent = {"act": {"action": "release", "pledge_id": 7}, "public_key": "k", "signature": "s"}
    body = build_pledge_event_record(
        "pe_" + "1" * 32,
        datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        registrar={"id": "prn_1", "name": "Registry Office", "account": "0xAbC"},
        action="released",
        asset=PledgeAsset(type=AssetType.trademark, registration_number="第0012345号"),
        transaction={
            "chain_id": 31337,
            "contract": "0xC0n",
            "pledge_id": 7,
            "tx_hash": "0x" + "ab" * 32,
            "block_number": 12,
            "block_timestamp": 1_767_000_000,
        },
        terms=None,
        party={"name": "Bank", "id_type": "uscc", "id": "91350100M000100Y43"},
        consent=consent,
    )
    assert body == {
        "id": "pe_" + "1" * 32,
        "kind": "pledge_event",
        "schema": 1,
        "registrar": {"id": "prn_1", "name": "Registry Office", "account": "0xAbC"},
        "action": "released",
        "asset": {"type": "trademark", "registration_number": "12345"},
        "pledge": {
            "chain_id": 31337,
            "contract": "0xC0n",
            "pledge_id": 7,
            "tx_hash": "0x" + "ab" * 32,
            "block_number": 12,
            "block_timestamp": 1_767_000_000,
        },
        "received_at": "2026-01-02T03:04:05.000006Z",
        "party": {"name": "Bank", "id_type": "uscc", "id": "91350100M000100Y43"},
        "consent": consent,
        "consent_digest": hashlib.sha256(CONSENT_TAG + canonical_json(consent)).hexdigest(),
    }
    assert type(body["kind"]) is str  # canonical JSON of a plain string, whatever the enum does
