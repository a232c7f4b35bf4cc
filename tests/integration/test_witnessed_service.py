"""The service with three witnesses run as other parties would run them (two ``notary witness``,
one torchwood litewitness) and a real ``openssl ts`` TSA: certificates carry the quorum's
cosignatures and a token, verify under a policy assembled without the service, pass the
independent checkers (spicy, ``openssl ts -verify``), and survive witnesses going down."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ipnotary.sdk import NotaryClient, TimeSource, TrustPolicy, verify_certificate
from ipnotary.sdk.certificate import Certificate
from ipnotary.sdk.merkle import verify_consistency
from ipnotary.sdk.note import Checkpoint, parse_note
from tests.integration.service_process import NOTARY
from tests.integration.torchwood import LiteWitness, NotaryWitness, run_spicy
from tests.integration.witnessed import Deployment, court_policy, log_identity, readiness, wait_for
from tests.tsa import OpenSSLTimestampAuthority, require_openssl

pytestmark = pytest.mark.slow


@dataclass
class Setup:
    deployment: Deployment
    witnesses: list[LiteWitness | NotaryWitness]
    tsa: OpenSSLTimestampAuthority
    origin: str
    log_vkey: str
    policy: TrustPolicy
    key: str  # a holder's API key
    admin: str  # the operator's: /readyz shows error texts to admins only

    @property
    def url(self) -> str:
        assert self.deployment.service is not None
        return self.deployment.service.url


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("witnessed")
    data_dir = root / "service"
    origin, log_vkey = log_identity(data_dir)
    witnesses: list[LiteWitness | NotaryWitness] = []
    tsa = OpenSSLTimestampAuthority(root / "tsa", "rsa", openssl=require_openssl())
    try:
        witnesses.append(
            NotaryWitness.create(root / "w-notary-office", name="notary-office.test/w")
        )
        witnesses.append(NotaryWitness.create(root / "w-court", name="court.test/w"))
        witnesses.append(LiteWitness.create(root / "w-platform", name="platform.test/litewitness"))
        for w in witnesses:
            w.add_log(origin, log_vkey)  # each witness operator registers the log
        deployment = Deployment(data_dir, witnesses, quorum=2, tsa=tsa)
        service = deployment.start()
        key = service.create_principal("Acme Studio", "holder")
        admin = service.create_principal("Operator", "admin")
        issuer = httpx.get(f"{service.url}/v1/trust", timeout=10).json()["issuers"][0]["public_key"]
        policy = court_policy(
            origin=origin,
            log_vkey=log_vkey,
            issuer_public_key=issuer,
            witnesses=witnesses,
            quorum=2,
            tsa=tsa,
        )
        yield Setup(deployment, witnesses, tsa, origin, log_vkey, policy, key, admin)
    finally:
        if witnesses:
            for w in witnesses:
                w.close()
        tsa.close()
        if "deployment" in locals():
            deployment.stop()


def submit_and_certify(setup: Setup, data: bytes, timeout: float = 60) -> Certificate:
    with NotaryClient(setup.url, setup.key) as client:
        sub = client.submit_digest(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        client.wait_anchored(sub.id, timeout=timeout, poll=0.2)
        cert = client.certificate(sub.id)
    assert isinstance(cert, Certificate)
    return cert


def test_certificates_carry_the_quorum_and_a_token_and_verify_under_the_courts_policy(
    setup: Setup,
) -> None:
    cert = submit_and_certify(setup, b"a design, witnessed")
    note = parse_note(cert.log.checkpoint)
    names = {s.name for s in note.signatures}
    assert setup.origin in names and len(names - {setup.origin}) >= 2
    assert len(cert.timestamps) == 1 and cert.notice is None
    result = verify_certificate(cert, setup.policy)
    assert result.trusted and result.independent_time
    sources = {e.source for e in result.time_evidence}
    assert {TimeSource.WITNESSES, TimeSource.TIMESTAMP_AUTHORITY} <= sources
    assert len(result.witnesses) >= 2
    received = cert.record["received_at"]
    assert result.proven_time.isoformat() >= received[:19]  # attested after it was received
    # the service's own suggested policy agrees, and names the same witnesses and quorum
    with NotaryClient(setup.url) as client:
        served = client.trust_policy()
    assert served.witnesses.quorum == 2
    assert {w.key for w in served.witnesses.members} == {w.vkey for w in setup.witnesses}
    assert verify_certificate(cert, served).trusted


def test_litewitness_cosignatures_are_accepted_by_our_verifier(setup: Setup) -> None:
    """torchwood's witness cosigned; a policy that trusts only it verifies the certificate."""
    lite = next(w for w in setup.witnesses if isinstance(w, LiteWitness))
    cert = submit_and_certify(setup, b"litewitness must see this")
    wait_for(
        lambda: (tree := lite.tree(setup.origin)) is not None and tree[0] >= cert.log.tree_size,
        30,
        "litewitness to catch up",
    )
    with NotaryClient(setup.url, setup.key) as client:
        rebuilt = client.certificate(cert.record_id)  # rebuilt with every cosignature now stored
    only_lite = court_policy(
        origin=setup.origin,
        log_vkey=setup.log_vkey,
        issuer_public_key=setup.policy.issuers[0].public_key,
        witnesses=[lite],
        quorum=1,
    )
    result = verify_certificate(rebuilt, only_lite)
    assert result.witnesses == (lite.name,) and result.time_source is TimeSource.WITNESSES


def test_the_tokens_pass_openssl_ts_verify(setup: Setup, tmp_path: Path) -> None:
    cert = submit_and_certify(setup, b"stamped by a real TSA")
    digest = hashlib.sha256(parse_note(cert.log.checkpoint).text.encode()).hexdigest()
    token = tmp_path / "token.tst"
    token.write_bytes(base64.b64decode(cert.timestamps[0].token))
    ok = subprocess.run(
        [
            setup.tsa.openssl,
            "ts",
            "-verify",
            "-digest",
            digest,
            "-in",
            str(token),
            "-token_in",
            "-CAfile",
            str(setup.tsa.ca_file),
            "-untrusted",
            str(setup.tsa.untrusted_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and "Verification: OK" in ok.stdout, ok.stdout + ok.stderr
    other = hashlib.sha256(b"another checkpoint").hexdigest()
    bad = subprocess.run(
        [
            setup.tsa.openssl,
            "ts",
            "-verify",
            "-digest",
            other,
            "-in",
            str(token),
            "-token_in",
            "-CAfile",
            str(setup.tsa.ca_file),
            "-untrusted",
            str(setup.tsa.untrusted_file),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0


def test_spicy_checks_the_exported_proof(setup: Setup, tmp_path: Path) -> None:
    cert = submit_and_certify(setup, b"exported for spicy")
    cert_file = tmp_path / "cert.json"
    cert_file.write_bytes(cert.to_json_bytes())
    out = subprocess.run(
        [*NOTARY, "proof", "export", str(cert_file), "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    entry = Path(out.stdout.strip())
    result = run_spicy(setup.log_vkey, entry)
    assert result.returncode == 0, result.stdout + result.stderr
    original = entry.read_bytes()
    entry.write_bytes(original.replace(b'"name":"Acme Studio"', b'"name":"Acme Studio!"'))
    assert entry.read_bytes() != original  # the record altered: its leaf no longer hashes
    assert run_spicy(setup.log_vkey, entry).returncode != 0


def test_cli_verify_is_valid_only_under_a_policy(setup: Setup, tmp_path: Path) -> None:
    cert = submit_and_certify(setup, b"checked from the command line")
    cert_file, policy_file = tmp_path / "c.json", tmp_path / "policy.json"
    cert_file.write_bytes(cert.to_json_bytes())
    policy_file.write_bytes(setup.policy.to_json_bytes())

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*NOTARY, "verify", *a], capture_output=True, text=True, timeout=120, check=False
        )

    valid = run(str(cert_file), "--policy", str(policy_file), "--json")
    assert valid.returncode == 0, valid.stdout + valid.stderr
    report = json.loads(valid.stdout)
    assert report["verdict"] == "valid" and report["time_source"] in {
        "witnesses",
        "timestamp_authority",
    }
    untrusted = run(str(cert_file))
    assert (
        untrusted.returncode == 4
        and "NOT TRUSTED" in untrusted.stdout
        and "VALID" not in untrusted.stdout.replace("NOT TRUSTED", "")
    )
    doc = json.loads(cert_file.read_text())
    doc["log"]["checkpoint"] = (
        doc["log"]["checkpoint"].replace("\n\n", "\n\n", 1).rsplit("\n— ", 1)[0] + "\n"
    )
    cert_file.write_text(json.dumps(doc))  # cosignatures stripped (and the signature broken)
    assert run(str(cert_file), "--policy", str(policy_file)).returncode == 1


def test_the_log_endpoints_serve_witnessed_consistent_checkpoints(setup: Setup) -> None:
    first = submit_and_certify(setup, b"before")
    second = submit_and_certify(setup, b"after")
    old, new = first.log.tree_size, second.log.tree_size
    assert new > old
    consistency = httpx.get(
        f"{setup.url}/v1/log/proofs/consistency",
        params={"old_size": old, "new_size": new},
        timeout=10,
    ).json()
    old_root = Checkpoint.parse(parse_note(first.log.checkpoint).text).root
    new_root = Checkpoint.parse(parse_note(second.log.checkpoint).text).root
    verify_consistency(
        old, new, old_root, new_root, [bytes.fromhex(h) for h in consistency["hashes"]]
    )
    latest = httpx.get(f"{setup.url}/log/checkpoint", timeout=10)
    assert latest.headers["content-type"].startswith("text/plain")
    note = parse_note(latest.text)
    assert Checkpoint.parse(note.text).size >= new
    assert (
        sum(
            1
            for w in setup.policy.witnesses.members
            for s in note.signatures
            if w.verifier.matches(s)
        )
        >= 2
    )
    # the level 0 tile holds the leaves; its first hash is leaf 0
    tile = httpx.get(f"{setup.url}/log/tile/0/000.p/1", timeout=10)
    assert tile.status_code == 200 and len(tile.content) == 32
    assert httpx.get(f"{setup.url}/log/tile/entries/000.p/1", timeout=10).status_code == 404


def test_a_dead_witness_stops_neither_receipts_nor_certificates_below_the_quorum(
    setup: Setup,
) -> None:
    lite = next(w for w in setup.witnesses if isinstance(w, LiteWitness))
    court = next(w for w in setup.witnesses if w.name == "court.test/w")
    lite.kill()
    try:
        cert = submit_and_certify(setup, b"one witness is down")  # 2 of 3 still cosign
        assert verify_certificate(cert, setup.policy).trusted
        ready = wait_for(
            lambda: (r := readiness(setup.url))["checks"]["witnesses"]["down"] and r,
            30,
            "readyz to name the dead witness",
        )
        assert ready["checks"]["witnesses"]["down"] == [lite.name]
        assert ready["checks"]["witnesses"]["ok"]  # the quorum can still be met

        court.kill()  # now only one witness is up: certificates wait, receipts do not
        with NotaryClient(setup.url, setup.key) as client:
            sub = client.submit_digest(sha256=hashlib.sha256(b"waits").hexdigest(), size=5)
            assert sub.receipt.status == "pending"
            with pytest.raises(TimeoutError):
                client.wait_anchored(sub.id, timeout=6, poll=0.3)
            ready = readiness(setup.url)
            assert ready["status"] == "degraded" and "witnesses" in ready["down"]
            assert set(ready["checks"]["witnesses"]["down"]) == {lite.name, court.name}
    finally:
        court.start()
        lite.start()
    with NotaryClient(setup.url, setup.key) as client:
        client.wait_anchored(sub.id, timeout=90, poll=0.3)  # the witnesses catch up
        anchored = client.certificate(sub.id)
    assert verify_certificate(anchored, setup.policy).trusted
    wait_for(
        lambda: not readiness(setup.url)["checks"]["witnesses"]["down"],
        60,
        "both witnesses to be back",
    )


def test_a_refusing_tsa_holds_certificates_back_until_it_answers(setup: Setup) -> None:
    """With one TSA required, a TSA that refuses (or answers garbage) is named by /readyz and
    certificates wait; receipts do not. When it answers again, the backlog is stamped."""
    setup.tsa.fault = "rejection"
    try:
        with NotaryClient(setup.url, setup.key) as client:
            sub = client.submit_digest(
                sha256=hashlib.sha256(b"awaiting a time-stamp").hexdigest(), size=21
            )
            with pytest.raises(TimeoutError):
                client.wait_anchored(sub.id, timeout=5, poll=0.3)
        ready = wait_for(
            lambda: (
                (r := readiness(setup.url, setup.admin))["checks"]["timestamp_authorities"]["down"]
                and r
            ),
            30,
            "readyz to name the TSA",
        )
        assert ready["status"] == "degraded" and "timestamp_authorities" in ready["down"]
        member = ready["checks"]["timestamp_authorities"]["members"][0]
        assert "refuse" in (member["last_error"] or "").lower() or "rejection" in (
            member["last_error"] or ""
        )
        anonymous = readiness(setup.url)["checks"]["timestamp_authorities"]["members"][0]
        assert "last_error" not in anonymous  # error texts are for the operator
    finally:
        setup.tsa.fault = None
    with NotaryClient(setup.url, setup.key) as client:
        client.wait_anchored(sub.id, timeout=60, poll=0.3)
        cert = client.certificate(sub.id)
    assert isinstance(cert, Certificate) and len(cert.timestamps) == 1
    assert verify_certificate(cert, setup.policy).trusted
