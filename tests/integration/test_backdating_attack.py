"""The operator tries to backdate, as it could before the log had witnesses.

An honest deployment runs with three witnesses (two ``notary witness``, one torchwood litewitness)
that keep their own state on the real clock. Then the operator, holding every key of its own
(issuer, log, chain account), rebuilds under a clock set back to 2019 (libfaketime on the real
service process) and tries three ways to obtain a certificate for a record it did not have:

A. a new database and a new embedded chain, with the same keys and the same log origin;
B. the same, but a new log origin and key (a "different" log);
C. a copy of the honest database, extending the real log with the backdated record.

The tests run in this order (A and B check that the witnesses still hold the honest log; C then
extends it).

Under the court's policy (the three witnesses' keys, quorum 2) each forged certificate either
fails at a named step, or verifies with a proven time no earlier than the moment of the forgery.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from ipnotary.sdk import NotaryClient, TimeSource, TrustPolicy, verify_certificate
from ipnotary.sdk.certificate import Certificate, format_timestamp
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.note import Note, parse_note
from ipnotary.sdk.verify import Step, Verdict
from ipnotary.service.adapters.keys import load_or_create_ed25519_key
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.services.records import certificate_for
from ipnotary.service.storage.db import create_db_engine
from ipnotary.service.storage.models import Record
from tests.integration.torchwood import LiteWitness, NotaryWitness
from tests.integration.witnessed import (
    Deployment,
    court_policy,
    faketime_env,
    log_identity,
    readiness,
    wait_for,
)

pytestmark = pytest.mark.slow

BACKDATED = "2019-03-01 00:00:00"
FORGED_CONTENT = b"the design the operator wishes it had registered in 2019"


@dataclass
class Honest:
    root: Path
    data_dir: Path
    witnesses: list[LiteWitness | NotaryWitness]
    origin: str
    log_vkey: str
    policy: TrustPolicy
    certificate: Certificate
    trees: dict[str, tuple[int, bytes] | None]  # each witness's view of the log when it stopped


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Honest]:
    root = tmp_path_factory.mktemp("attack")
    data_dir = root / "honest"
    origin, log_vkey = log_identity(data_dir)
    witnesses: list[LiteWitness | NotaryWitness] = []
    try:
        witnesses.append(NotaryWitness.create(root / "w1", name="notary-office.test/w"))
        witnesses.append(NotaryWitness.create(root / "w2", name="arbitration.test/w"))
        witnesses.append(LiteWitness.create(root / "w3", name="court.test/litewitness"))
        for w in witnesses:
            w.add_log(origin, log_vkey)
        deployment = Deployment(data_dir, witnesses, quorum=2)
        service = deployment.start()
        try:
            key = service.create_principal("Honest Holder", "holder")
            with NotaryClient(service.url, key) as client:
                subs = [
                    client.submit_digest(
                        sha256=hashlib.sha256(f"honest {i}".encode()).hexdigest(), size=9
                    )
                    for i in range(3)
                ]
                for sub in subs:
                    client.wait_anchored(sub.id, timeout=60, poll=0.2)
                cert = client.certificate(subs[-1].id)
            assert isinstance(cert, Certificate)
            size = cert.log.tree_size
            wait_for(
                lambda: all((w.tree(origin) or (0, b""))[0] >= size for w in witnesses),
                60,
                "every witness to cosign the honest log",
            )
            issuer = httpx.get(f"{service.url}/v1/trust", timeout=10).json()["issuers"][0][
                "public_key"
            ]
        finally:
            deployment.stop()
        assert isinstance(cert, Certificate)
        policy = court_policy(
            origin=origin,
            log_vkey=log_vkey,
            issuer_public_key=issuer,
            witnesses=witnesses,
            quorum=2,
        )
        assert verify_certificate(cert, policy).trusted
        yield Honest(
            root,
            data_dir,
            witnesses,
            origin,
            log_vkey,
            policy,
            cert,
            {w.name: w.tree(origin) for w in witnesses},
        )
    finally:
        for w in witnesses:
            w.close()


def _copy_keys(honest: Honest, target: Path, *, log_key: bool = True) -> None:
    """The operator's own keys: issuer, log, and the chain account it anchors with."""
    (target / "keys").mkdir(parents=True)
    shutil.copy2(honest.data_dir / "keys" / "issuer-ed25519.pem", target / "keys")
    if log_key:
        shutil.copy2(honest.data_dir / "keys" / "log-ed25519.pem", target / "keys")
    (target / "chain").mkdir()
    shutil.copy2(honest.data_dir / "chain" / "signer.key", target / "chain")


def _forge(
    honest: Honest,
    data_dir: Path,
    *,
    witnesses: bool,
    extra: dict[str, str] | None = None,
    settle: float = 0.0,
    filler: int = 0,
) -> tuple[str, dict[str, Any]]:
    """Run the service under the backdated clock, submit the forged record (and ``filler`` more,
    in the same request, so that the forged log outgrows the honest one); returns its id and the
    service's readiness after ``settle`` seconds."""
    env = {**faketime_env(BACKDATED), **(extra or {})}
    deployment = Deployment(
        data_dir, honest.witnesses if witnesses else [], quorum=2 if witnesses else 0, extra_env=env
    )
    service = deployment.start()
    try:
        key = service.create_principal("Backdating Operator", "holder")
        admin = service.create_principal("Backdating Admin", "admin")
        with NotaryClient(service.url, key) as client:
            sub, *_ = client.submit_digests(
                [
                    {
                        "sha256": hashlib.sha256(FORGED_CONTENT).hexdigest(),
                        "size": len(FORGED_CONTENT),
                    }
                ]
                + [{"sha256": f"{i:064x}", "size": i} for i in range(1, filler + 1)]
            )
        assert sub.receipt.record["received_at"].startswith("2019-03-01")  # the clock is back
        time.sleep(settle)
        return sub.id, readiness(service.url, admin)
    finally:
        deployment.stop()


def _mint(data_dir: Path, record_id: str) -> Certificate:
    """What the operator can always do with its own database and keys: build and sign the
    certificate itself, whatever its service's self-checks would say."""
    engine = create_db_engine(f"sqlite:///{data_dir / 'notary.db'}")
    try:
        issuer = Issuer(
            load_or_create_ed25519_key(data_dir / "keys" / "issuer-ed25519.pem", purpose="issuer")
        )
        with Session(engine) as session:
            record = session.exec(select(Record).where(Record.id == record_id)).one()
            cert = certificate_for(session, issuer, record)
    finally:
        engine.dispose()
    assert isinstance(cert, Certificate)
    return cert


def _issue_without_witnesses(data_dir: Path, record_id: str, **extra: str) -> Certificate:
    """The forging service, restarted without witnesses, certifies on its own backdated chain."""
    deployment = Deployment(data_dir, [], quorum=0, extra_env={**faketime_env(BACKDATED), **extra})
    deployment.start()
    try:
        wait_for(lambda: _certified(data_dir, record_id), 60, "the forged record to be certified")
    finally:
        deployment.stop()
    return _mint(data_dir, record_id)


def _certified(data_dir: Path, record_id: str) -> bool:
    try:
        _mint(data_dir, record_id)
    except Exception:  # noqa: BLE001 - not yet
        return False
    return True


def _resign(data_dir: Path, cert: Certificate, **changes: Any) -> Certificate:
    issuer = Issuer(
        load_or_create_ed25519_key(data_dir / "keys" / "issuer-ed25519.pem", purpose="issuer")
    )
    doc = cert.model_dump(mode="json", exclude_unset=True, exclude={"signature"})
    for path, value in changes.items():
        target = doc
        *parents, last = path.split(".")
        for p in parents:
            target = target[p]
        target[last] = value
    return Certificate.from_json(issuer.sign(doc))


def _witnesses_unmoved(honest: Honest) -> None:
    for w in honest.witnesses:
        assert w.tree(honest.origin) == honest.trees[w.name], f"{w.name} moved off the honest log"


def test_a_rebuilt_backdated_log_is_refused_by_the_witnesses_and_fails_under_the_policy(
    honest: Honest,
) -> None:
    forged = honest.root / "forged-a"
    _copy_keys(honest, forged)
    record_id, ready = _forge(
        honest, forged, witnesses=True, settle=4, filler=honest.certificate.log.tree_size + 1
    )
    # The witnesses refused the fork (the forged log's proof from their size does not verify):
    # the service says so, and no certificate comes out.
    witnesses = ready["checks"]["witnesses"]
    assert not witnesses["ok"] and set(witnesses["down"]) == {w.name for w in honest.witnesses}
    assert all("FORKED" in (m["last_error"] or "") for m in witnesses["members"]), witnesses
    _witnesses_unmoved(honest)
    for w in honest.witnesses:
        if isinstance(w, NotaryWitness):  # ours keeps the refused checkpoint as evidence
            shown = json.loads(w.cli("show", "--json"))
            assert (
                next(log for log in shown["logs"] if log["origin"] == honest.origin)[
                    "refused_checkpoints"
                ]
                >= 1
            )

    cert = _issue_without_witnesses(forged, record_id)
    assert cert.anchor.block_time.startswith("2019-03-01")  # the chain was rebuilt backdated
    assert verify_certificate(cert, None).verdict is Verdict.NOT_TRUSTED  # self-consistent ...
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, honest.policy, content=FORGED_CONTENT)
    assert info.value.step == Step.WITNESSES  # ... but no witness vouches for it

    # A policy that also trusts the honest chain for time tells the rebuilt chain apart by its
    # genesis block, even though the registry sits at the same address (same key, same nonce).
    from ipnotary.sdk.chain_view import open_chain_view
    from ipnotary.sdk.policy import TrustedChain

    honest_chain = open_chain_view(embedded_dir=honest.data_dir / "chain")
    try:
        genesis = honest_chain.genesis_hash()
    finally:
        honest_chain.close()
    assert cert.anchor.contract == honest.certificate.anchor.contract
    chain_policy = honest.policy.model_copy(
        update={
            "witnesses": honest.policy.witnesses.model_copy(update={"quorum": 0}),
            "chains": [
                TrustedChain(
                    chain_id=cert.anchor.chain_id,
                    genesis_hash=genesis,
                    registry=honest.certificate.anchor.contract,
                )
            ],
        }
    )
    rebuilt = open_chain_view(embedded_dir=forged / "chain")
    try:
        with pytest.raises(VerificationError) as info:
            verify_certificate(cert, chain_policy, chain=rebuilt)
    finally:
        rebuilt.close()
    assert info.value.step == Step.GENESIS

    # Borrowing the honest checkpoint's cosignatures does not help: they sign another tree.
    borrowed = parse_note(honest.certificate.log.checkpoint).signatures[1:]
    forged_note = parse_note(cert.log.checkpoint)
    spliced = _resign(
        forged,
        cert,
        **{
            "log.checkpoint": Note(
                text=forged_note.text, signatures=forged_note.signatures + borrowed
            ).format()
        },
    )
    with pytest.raises(VerificationError) as info:
        verify_certificate(spliced, honest.policy)
    assert info.value.step == Step.WITNESSES and "does not verify" in info.value.reason


def test_a_new_log_origin_is_not_the_log_the_policy_trusts(honest: Honest) -> None:
    forged = honest.root / "forged-b"
    _copy_keys(honest, forged, log_key=False)  # a fresh log key, and a new origin
    fresh = {"NOTARY_LOG_ORIGIN": "ip-notary.local/log/fresh-start"}
    record_id, ready = _forge(honest, forged, witnesses=True, settle=4, extra=fresh)
    assert set(ready["checks"]["witnesses"]["down"]) == {w.name for w in honest.witnesses}
    assert all(
        m["last_error"] and ("404" in m["last_error"] or "403" in m["last_error"])
        for m in ready["checks"]["witnesses"]["members"]
    )  # unknown log: refused
    _witnesses_unmoved(honest)
    cert = _issue_without_witnesses(forged, record_id, **fresh)
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, honest.policy)
    assert info.value.step == Step.CHECKPOINT and "fresh-start" in info.value.reason


def test_extending_the_real_log_from_the_past_proves_only_the_present(honest: Honest) -> None:
    """The witnesses accept a consistent extension, but stamp it with their own clocks."""
    forged = honest.root / "forged-c"
    _copy_keys(honest, forged)
    shutil.copy2(honest.data_dir / "notary.db", forged / "notary.db")  # the real log, continued
    attack_started = datetime.now(UTC) - timedelta(seconds=1)
    record_id, _ = _forge(honest, forged, witnesses=True, settle=0)
    deployment = Deployment(forged, honest.witnesses, quorum=2, extra_env=faketime_env(BACKDATED))
    deployment.start()
    try:  # wait until the witnesses cosigned the extended log (the service refuses to certify:
        # its own policy sees the witnesses' 2026 against its 2019 clock)
        wait_for(lambda: _certified(forged, record_id), 60, "the extension to be cosigned")
    finally:
        deployment.stop()
    cert = _mint(forged, record_id)
    assert cert.record["received_at"].startswith("2019-03-01")
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, honest.policy)
    assert info.value.step == Step.TIME  # issued "in 2019", attested in the present

    # Even re-signed with an honest-looking issue time, the proven time is the forgery's present.
    restamped = _resign(forged, cert, issued_at=format_timestamp(datetime.now(UTC)))
    result = verify_certificate(restamped, honest.policy, content=FORGED_CONTENT)
    assert result.trusted and result.time_source is TimeSource.WITNESSES
    assert result.proven_time >= attack_started.replace(microsecond=0)
    assert result.anchored_at.year == 2019  # what the operator's own chain claims, not trusted
    # and the witnesses now hold the extended log: the forgery is on record for everyone
    for w in honest.witnesses:
        size, _ = w.tree(honest.origin) or (0, b"")
        assert size > honest.trees[w.name][0]  # type: ignore[index]


def test_the_attack_leaves_the_honest_certificate_valid(honest: Honest) -> None:
    result = verify_certificate(honest.certificate, honest.policy)
    assert result.trusted and result.time_source is TimeSource.WITNESSES
