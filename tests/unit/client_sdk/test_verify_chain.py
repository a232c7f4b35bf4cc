"""Verification against a chain: the golden version 1 certificate against its own embedded chain,
whose registry is version 1 (``tests/unit/notary/test_certificate_on_chain.py`` does version 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from client_sdk.chain_view import open_chain_view
from client_sdk.policy import IssuerKey, TrustPolicy
from client_sdk.verify import TimeSource, verify_certificate

V1 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v1"


def test_the_golden_v1_certificate_checks_out_on_its_chain(tmp_path: Path) -> None:
    shutil.copytree(V1 / "chain", tmp_path / "chain")  # never open the committed files for writing
    trust = json.loads((V1 / "trust.json").read_text())
    policy = TrustPolicy(issuers=[IssuerKey(public_key=trust["issuer"]["public_key"])],
                         require_independent_time=False)
    view = open_chain_view(embedded_dir=tmp_path / "chain")
    try:
        result = verify_certificate((V1 / "certificate.json").read_bytes(), policy,
                                    content=V1 / "golden.txt", chain=view)
    finally:
        view.close()
    assert result.chain_checked and result.confirmations == 1
    assert {"chain_id", "anchor", "transaction", "block", "confirmations"} <= set(result.steps)
    assert result.time_source is TimeSource.OPERATOR  # the embedded chain is nobody's guarantee
