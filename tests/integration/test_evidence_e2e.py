"""Evidence end to end through a real server process on 127.0.0.1 and the SDK.

Submit, wait for anchoring, download the certificate, stop the service, and verify offline and
against the chain with nothing of ours running, under the trust policy the service suggests
(``/v1/trust``, checked here against its key files). This deployment has no witnesses and no
time-stamp authority: its certificates verify as VALID with the time resting on the operator alone,
and say so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ipnotary.sdk import (
    Certificate,
    NotaryClient,
    Step,
    VerificationError,
    verify_certificate,
)
from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.merkle import verify_consistency
from ipnotary.sdk.note import Checkpoint, parse_note
from tests.conftest import REPO
from tests.integration.conftest import check_valid_on_operator_time, served_operator_policy
from tests.integration.service_process import NOTARY, ServiceProcess


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    svc = ServiceProcess(tmp_path / "data")
    key = svc.create_principal("Acme Studio", "holder")
    svc.start()
    yield svc, key
    svc.stop()


def test_submit_anchor_certificate_then_verify_with_the_service_stopped(  # type: ignore[no-untyped-def]
    service, tmp_path: Path
) -> None:
    svc, key = service
    evidence = tmp_path / "design.txt"
    evidence.write_bytes(b"final logo design, 2026-11-25\n" * 1000)
    policy = served_operator_policy(svc)
    policy_path = tmp_path / "policy.json"
    policy_path.write_bytes(policy.to_json_bytes())
    with NotaryClient(svc.url, key, policy=policy) as client:
        sub = client.submit_file(evidence, metadata={"title": "Logo", "tags": ["logo", "v3"]})
        assert sub.created and sub.status == "pending"
        assert policy.issuer(sub.receipt.issuer.key_id) is not None
        assert client.submit_file(evidence).id == sub.id  # same content, same holder: same record
        view = client.wait_anchored(sub.id, timeout=60)
        registry = client.ready()["checks"]["chain"]
        assert view["anchor"]["contract"] == registry["contract"]
        assert view["log_index"] == 0  # the first record of a new log
        cert = client.certificate(sub.id)  # checked under the policy on its way in
        client.download_content(sub.id, tmp_path / "copy.txt")
        # A later record lands in a later checkpoint of the same log, which extends the first.
        later = client.submit_digest(sha256="22" * 32, size=9)
        later_view = client.wait_anchored(later.id, timeout=60)
        later_cert = client.certificate(later.id)
        assert isinstance(cert, Certificate) and isinstance(later_cert, Certificate)  # version 2
        proof = client._json(
            "GET",
            "/v1/log/proofs/consistency",
            params={"old_size": cert.log.tree_size, "new_size": later_cert.log.tree_size},
        )
    assert (tmp_path / "copy.txt").read_bytes() == evidence.read_bytes()
    assert cert.version == 2 and cert.notice is not None  # says nobody independent vouches
    assert later_view["log_index"] == 1 and later_cert.log.leaf_index == 1
    assert later_cert.log.tree_size > cert.log.tree_size
    old, new = (Checkpoint.parse(parse_note(c.log.checkpoint).text) for c in (cert, later_cert))
    assert old.origin == new.origin == policy.log.origin  # type: ignore[union-attr]
    verify_consistency(
        old.size, new.size, old.root, new.root, [bytes.fromhex(h) for h in proof["hashes"]]
    )
    assert later_cert.anchor.batch_id > cert.anchor.batch_id
    cert_path = tmp_path / "design.cert.json"
    cert_path.write_bytes(cert.to_json_bytes())
    svc.stop()

    # Offline: the file, the certificate and the policy.
    result = verify_certificate(cert_path.read_bytes(), policy, content=evidence)
    assert result.record_id == sub.id and result.content_checked and not result.chain_checked
    assert (result.leaf_index, result.tree_size) == (0, cert.log.tree_size)
    check_valid_on_operator_time(result, policy)
    # Without a policy the same checks pass, but nobody vouches for it: never VALID.
    untrusted = verify_certificate(cert_path.read_bytes(), None, content=evidence)
    assert not untrusted.trusted and untrusted.verdict.value == "not_trusted"

    # Against the chain, read from the stopped service's data directory.
    chain = open_chain_view(embedded_dir=svc.data_dir / "chain")
    try:
        result = verify_certificate(cert_path.read_bytes(), policy, content=evidence, chain=chain)
        later_result = verify_certificate(later_cert, policy, chain=chain)
    finally:
        chain.close()
    check_valid_on_operator_time(result, policy)
    assert result.chain_checked and result.confirmations is not None and result.confirmations >= 1
    assert result.contract == registry["contract"] and result.chain_id == registry["chain_id"]
    assert result.steps[-6:] == (
        "chain_id",
        "anchor",
        "transaction",
        "block",
        "confirmations",
        "time",
    )
    assert later_result.chain_checked and later_result.tree_size > result.tree_size
    assert later_result.anchored_at >= result.anchored_at

    # The CLI says the same, with exit status 0; a changed file gives 1 and names the step.
    cli = [
        *NOTARY,
        "verify",
        str(evidence),
        str(cert_path),
        "--policy",
        str(policy_path),
        "--chain-data",
        str(svc.data_dir / "chain"),
        "--json",
    ]
    ok = subprocess.run(cli, cwd=REPO, capture_output=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert (report["valid"], report["verdict"], report["time_source"]) == (
        True,
        "valid",
        "operator",
    )
    assert report["log_origin"] == policy.log.origin and report["chain_checked"] is True  # type: ignore[union-attr]
    tampered = tmp_path / "tampered.txt"
    data = bytearray(evidence.read_bytes())
    data[100] ^= 1
    tampered.write_bytes(bytes(data))
    bad = subprocess.run(
        [*NOTARY, "verify", str(tampered), str(cert_path), "--policy", str(policy_path), "--json"],
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["failed_step"] == "content"
    # No policy: the certificate is self-consistent, nobody vouches for it, exit status 4.
    unpinned = subprocess.run(
        [*NOTARY, "verify", str(evidence), str(cert_path), "--json"],
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert unpinned.returncode == 4, unpinned.stderr
    assert json.loads(unpinned.stdout)["valid"] is False
    assert json.loads(unpinned.stdout)["verdict"] == "not_trusted"


def test_certificate_for_another_chain_root_fails_on_chain(service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A certificate whose anchor fields were re-signed by a forger does not survive the policy,
    nor, checked for self-consistency alone, the chain."""
    svc, key = service
    policy = served_operator_policy(svc)
    with NotaryClient(svc.url, key, policy=policy) as client:
        sub = client.submit_digest(sha256="11" * 32, size=3)
        client.wait_anchored(sub.id, timeout=60)
        cert = client.certificate(sub.id).model_dump(mode="json", exclude_unset=True)
    svc.stop()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ipnotary.sdk.certificate import format_timestamp
    from ipnotary.sdk.signing import sign_document
    from ipnotary.service.services.issuer import Issuer

    forger = Issuer(Ed25519PrivateKey.generate())

    def forge(anchor: dict[str, object]) -> dict[str, object]:
        forged = {k: v for k, v in cert.items() if k != "signature"}
        forged["anchor"] = anchor
        forged["issuer"] = {
            "key_id": forger.key_id,
            "public_key": forger.public_key_b64,
            "name": "x",
        }
        forged["signature"] = {"alg": "Ed25519", "value": sign_document(forger._key, forged)}
        return forged

    day_earlier = cert["anchor"]["block_timestamp"] - 86400
    backdated = forge(
        {
            **cert["anchor"],
            "block_timestamp": day_earlier,
            "block_time": format_timestamp(datetime.fromtimestamp(day_earlier, UTC)),
        }
    )
    careless = forge({**cert["anchor"], "block_timestamp": day_earlier})
    view = open_chain_view(embedded_dir=svc.data_dir / "chain")
    try:
        # Under the policy: the forger's key is nobody's the verifier trusts.
        with pytest.raises(VerificationError) as info:
            verify_certificate(backdated, policy, chain=view)
        assert info.value.step == Step.ISSUER
        # Without one, the self-consistency checks still catch it: the chain holds another time.
        with pytest.raises(VerificationError) as info:
            verify_certificate(backdated, None, chain=view)
        assert info.value.step == Step.ANCHOR and "timestamp" in info.value.reason
        # And a forger who changed one time field but not the other contradicts himself.
        with pytest.raises(VerificationError) as info:
            verify_certificate(careless, None, chain=view)
        assert info.value.step == Step.ANCHOR_FIELDS
    finally:
        view.close()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for memory")
@pytest.mark.slow
def test_two_gib_upload_with_bounded_memory(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path / "data", env={"NOTARY_BATCH_INTERVAL_SECONDS": "60"})
    key = svc.create_principal("Big Files Ltd", "holder")
    svc.start()
    try:
        size = 2 * 1024**3
        big = tmp_path / "big.bin"
        with open(big, "wb") as fh:  # sparse-free but cheap: a repeated 1 MiB random block
            block = os.urandom(1 << 20)
            fh.writelines(block[:-8] + i.to_bytes(8, "big") for i in range(size >> 20))
        before = svc.peak_rss_bytes()
        with NotaryClient(svc.url, key, timeout=900) as client:
            sub = client.submit_file(big)
        peak = svc.peak_rss_bytes()
        assert sub.receipt.record["content"]["size"] == size
        growth = peak - before
        assert growth < 100 * 1024**2, (
            f"server memory grew by {growth / 2**20:.0f} MiB for a 2 GiB upload"
        )
    finally:
        svc.stop()
