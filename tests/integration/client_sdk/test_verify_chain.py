"""Verification against a chain: each golden certificate against its own embedded chain, version 1
in a version 1 registry and version 2 in a version 2 one (a certificate fresh from the service:
``service/test_certificate_on_chain.py``; a chain that cannot be read:
``tests/unit/client_sdk/test_unreadable_chain.py``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.policy import IssuerKey, TrustPolicy
from ipnotary.sdk.verify import TimeSource, verify_certificate

V1 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v1"
V2 = V1.parent / "v2"


def test_the_golden_v1_certificate_checks_out_on_its_chain(tmp_path: Path) -> None:
    shutil.copytree(V1 / "chain", tmp_path / "chain")  # never open the committed files for writing
    trust = json.loads((V1 / "trust.json").read_text())
    policy = TrustPolicy(
        issuers=[IssuerKey(public_key=trust["issuer"]["public_key"])],
        require_independent_time=False,
    )
    view = open_chain_view(embedded_dir=tmp_path / "chain")
    try:
        result = verify_certificate(
            (V1 / "certificate.json").read_bytes(), policy, content=V1 / "golden.txt", chain=view
        )
    finally:
        view.close()
    assert result.chain_checked and result.confirmations == 1
    assert {"chain_id", "anchor", "transaction", "block", "confirmations"} <= set(result.steps)
    assert result.time_source is TimeSource.OPERATOR  # the embedded chain is nobody's guarantee


def test_the_golden_v2_certificate_verifies_offline_and_on_its_chain(tmp_path: Path) -> None:
    policy = TrustPolicy.load(V2 / "policy.json")
    cert = (V2 / "certificate.json").read_bytes()
    offline = verify_certificate(cert, policy, content=V2 / "hello.txt")
    assert offline.trusted and offline.time_source is TimeSource.WITNESSES
    shutil.copytree(V2 / "chain", tmp_path / "chain")
    view = open_chain_view(embedded_dir=tmp_path / "chain")
    try:
        on_chain = verify_certificate(cert, policy, content=V2 / "hello.txt", chain=view)
    finally:
        view.close()
    assert {"chain_id", "anchor", "transaction", "block", "confirmations"} <= set(on_chain.steps)
    assert on_chain.proven_time == offline.proven_time  # the operator's chain adds no trusted time
