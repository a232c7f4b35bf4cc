"""Evidence end to end through a real server process on 127.0.0.1 and the SDK.

Submit, wait for anchoring, download the certificate, stop the service, and verify offline and
against the chain with nothing of ours running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from client_sdk import NotaryClient, Step, VerificationError, verify_certificate
from client_sdk.chain_view import open_chain_view
from tests.conftest import REPO
from tests.integration.service_process import NOTARY, ServiceProcess


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    svc = ServiceProcess(tmp_path / "data")
    key = svc.create_principal("Acme Studio", "holder")
    svc.start()
    yield svc, key
    svc.stop()


def test_submit_anchor_certificate_then_verify_with_the_service_stopped(service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    svc, key = service
    evidence = tmp_path / "design.txt"
    evidence.write_bytes(b"final logo design, 2026-11-25\n" * 1000)
    with NotaryClient(svc.url, key) as client:
        trust = client.trust()
        sub = client.submit_file(evidence, metadata={"title": "Logo", "tags": ["logo", "v3"]})
        assert sub.created and sub.status == "pending"
        assert sub.receipt.issuer.key_id == trust["issuer"]["key_id"]
        assert client.submit_file(evidence).id == sub.id  # same content, same holder: same record
        view = client.wait_anchored(sub.id, timeout=60)
        assert view["anchor"]["contract"] == trust["registry"]["contract"]
        cert = client.certificate(sub.id)
        client.download_content(sub.id, tmp_path / "copy.txt")
    assert (tmp_path / "copy.txt").read_bytes() == evidence.read_bytes()
    cert_path = tmp_path / "design.cert.json"
    cert_path.write_bytes(cert.to_json_bytes())
    svc.stop()

    # Offline: the file, the certificate and the pinned issuer key.
    result = verify_certificate(cert_path.read_bytes(), content=evidence,
                                trusted_issuer_keys=[trust["issuer"]["key_id"]])
    assert result.record_id == sub.id and result.issuer_trusted

    # Against the chain, read from the stopped service's data directory.
    view = open_chain_view(embedded_dir=svc.data_dir / "chain")
    try:
        result = verify_certificate(
            cert_path.read_bytes(), content=evidence, chain=view,
            trusted_issuer_keys=[trust["issuer"]["key_id"]],
            trusted_contracts={trust["registry"]["chain_id"]: trust["registry"]["contract"]},
        )
    finally:
        view.close()
    assert result.chain_checked and result.confirmations >= 1
    assert result.steps[-4:] == ("chain_id", "anchor", "block", "confirmations")

    # The CLI says the same, with exit status 0; a changed file gives 1 and names the step.
    cli = [*NOTARY, "verify", str(evidence), str(cert_path), "--chain-data", str(svc.data_dir / "chain"),
           "--issuer-key", trust["issuer"]["key_id"], "--json"]
    ok = subprocess.run(cli, cwd=REPO, capture_output=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["valid"] is True
    tampered = tmp_path / "tampered.txt"
    data = bytearray(evidence.read_bytes())
    data[100] ^= 1
    tampered.write_bytes(bytes(data))
    bad = subprocess.run([*NOTARY, "verify", str(tampered), str(cert_path), "--json"], cwd=REPO,
                         capture_output=True, timeout=120)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["failed_step"] == "content"


def test_certificate_for_another_chain_root_fails_on_chain(service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A certificate whose anchor fields were re-signed by a forger does not survive the chain check."""
    svc, key = service
    with NotaryClient(svc.url, key) as client:
        sub = client.submit_digest(sha256="11" * 32, size=3)
        client.wait_anchored(sub.id, timeout=60)
        cert = client.certificate(sub.id).model_dump(mode="json")
    svc.stop()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from notary.services.issuer import Issuer

    forger = Issuer(Ed25519PrivateKey.generate())
    forged = dict(cert)
    forged["anchor"] = {**cert["anchor"], "block_timestamp": cert["anchor"]["block_timestamp"] - 86400}
    forged.pop("signature")
    forged["issuer"] = {"key_id": forger.key_id, "public_key": forger.public_key_b64, "name": "x"}
    from client_sdk.signing import sign_document

    forged["signature"] = {"alg": "Ed25519", "value": sign_document(forger._key, forged)}  # noqa: SLF001
    view = open_chain_view(embedded_dir=svc.data_dir / "chain")
    try:
        with pytest.raises(VerificationError) as info:
            verify_certificate(forged, chain=view)
    finally:
        view.close()
    assert info.value.step == Step.ANCHOR and "timestamp" in info.value.reason


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
            for i in range(size >> 20):
                fh.write(block[:-8] + i.to_bytes(8, "big"))
        before = svc.peak_rss_bytes()
        with NotaryClient(svc.url, key, timeout=900) as client:
            sub = client.submit_file(big)
        peak = svc.peak_rss_bytes()
        assert sub.receipt.record["content"]["size"] == size
        growth = peak - before
        assert growth < 100 * 1024**2, f"server memory grew by {growth / 2**20:.0f} MiB for a 2 GiB upload"
    finally:
        svc.stop()
