"""Turning witnesses on keeps what exists.

Records certified on the embedded default (no witness, no TSA) keep their certificates, byte for
byte, after a restart with a witness quorum: the served policy names the log size up to which the
operator alone vouches (``operator_attested_log_size``), the service's own check passes (it
answered 500 ``certificate_self_check_failed`` for every earlier record), and the verifier reports
them as operator-attested from before the witnesses. Checkpoints after the restart wait for the
quorum. A witness that later cosigns an old checkpoint changes neither its certificate nor its
time. ``tests/integration/test_witnesses_turned_on.py`` plays the same with real processes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, col, select

from ipnotary.sdk.errors import NotTrustedError
from ipnotary.sdk.note import CosignatureSigner, parse_note
from ipnotary.sdk.verify import Step, TimeSource, verify_certificate
from ipnotary.service.storage.models import Batch, Cosignature
from tests.unit.notary.conftest import Api, serve
from tests.unit.notary.fakes import FakeChain

WITNESS = CosignatureSigner("court.example/witness", Ed25519PrivateKey.generate())
# It never answers: cosignatures of new checkpoints wait; an old one is "cosigned" by hand below.
WITNESSES = [{"url": "http://127.0.0.1:9", "key": WITNESS.vkey()}]


def _evidence(api: Api, content: bytes) -> tuple[str, dict[str, str]]:
    h = api.principal("holder", "holder", "Acme")
    r = api.client.post("/v1/evidence", headers=h, files={"file": ("a.bin", content)})
    assert r.status_code == 201, r.text
    return str(r.json()["id"]), h


@pytest.fixture
def upgraded(tmp_path: Path) -> Iterator[tuple[Api, dict[str, Any]]]:
    """A deployment that certified one record on the embedded default, restarted with a quorum."""
    chain = FakeChain()
    before = serve(tmp_path, chain=chain)
    api = next(before)
    rid, h = _evidence(api, b"made before the witnesses" * 10)
    api.wait_anchored(f"/v1/evidence/{rid}", h)
    got = api.client.get(f"/v1/evidence/{rid}/certificate", headers=h)
    assert got.status_code == 200, got.text
    earlier = {"id": rid, "cert": got.content, "key": api.keys["holder"]}
    next(before, None)

    after = serve(tmp_path, chain=chain, witnesses=WITNESSES, witness_quorum=1)
    api = next(after)
    api.keys["holder"] = earlier["key"]
    yield api, earlier
    next(after, None)


def test_an_earlier_certificate_is_served_unchanged_and_verifies(
    upgraded: tuple[Api, dict[str, Any]],
) -> None:
    api, earlier = upgraded
    h = api.principal("holder", "holder")
    got = api.client.get(f"/v1/evidence/{earlier['id']}/certificate", headers=h)
    assert got.status_code == 200, got.text  # was 500 certificate_self_check_failed
    assert got.content == earlier["cert"]
    policy = api.runtime.trust_policy()
    assert policy.witnesses.quorum == 1 and policy.require_independent_time
    result = verify_certificate(got.content, policy)
    assert result.trusted and result.time_source is TimeSource.OPERATOR
    assert any("before the deployment's witnesses" in n for n in result.notes), result.notes
    assert policy.operator_attested_log_size == result.tree_size


def test_the_policy_names_only_the_history_before_the_witnesses(
    upgraded: tuple[Api, dict[str, Any]],
) -> None:
    api, earlier = upgraded
    policy = api.runtime.trust_policy()
    assert policy.operator_attested_log_size is not None
    shorter = policy.model_copy(update={"operator_attested_log_size": None})
    with pytest.raises(NotTrustedError) as refused:
        verify_certificate(earlier["cert"], shorter)
    assert refused.value.step == Step.WITNESSES


def test_new_checkpoints_wait_for_the_quorum(upgraded: tuple[Api, dict[str, Any]]) -> None:
    api, _ = upgraded
    rid, h = _evidence(api, b"made after the witnesses" * 10)
    deadline = time.monotonic() + 20
    view: dict[str, Any] = {}
    while time.monotonic() < deadline:
        view = api.client.get(f"/v1/evidence/{rid}", headers=h).json()
        if view.get("waiting_for") == "witnesses":
            break
        time.sleep(0.05)
    assert (view["status"], view["waiting_for"]) == ("batched", "witnesses"), view
    refused = api.client.get(f"/v1/evidence/{rid}/certificate", headers=h)
    assert refused.status_code == 409, refused.text


def test_a_late_cosignature_on_an_old_checkpoint_changes_nothing(
    upgraded: tuple[Api, dict[str, Any]],
) -> None:
    """A witness turned on later catches up on old checkpoints: its cosignature is on record in
    the log's checkpoints, but the old certificate stays the one its holder has."""
    api, earlier = upgraded
    with Session(api.runtime.engine) as session:
        batch = session.exec(
            select(Batch).where(col(Batch.certified_at).is_not(None)).order_by(col(Batch.seq))
        ).first()
        assert batch is not None and batch.checkpoint is not None
        now = int(time.time())
        sig = WITNESS.cosign(parse_note(batch.checkpoint).text, now)
        session.add(
            Cosignature(
                batch_seq=batch.seq or 0,
                witness=WITNESS.name,
                timestamp=now,
                signature_line=sig.line(),
                received_at=datetime.now(UTC),
            )
        )
        session.commit()
    h = api.principal("holder", "holder")
    got = api.client.get(f"/v1/evidence/{earlier['id']}/certificate", headers=h)
    assert got.status_code == 200, got.text
    assert got.content == earlier["cert"]
