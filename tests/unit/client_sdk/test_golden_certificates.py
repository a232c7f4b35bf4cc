"""The frozen formats: the golden version 2 certificate verifies forever (offline, and on its own
chain), and every hostile certificate made from it fails at the step its manifest names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.verify import TimeSource, verify_certificate

V2 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v2"
HOSTILE = json.loads((V2 / "hostile" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def policy() -> TrustPolicy:
    return TrustPolicy.load(V2 / "policy.json")


def test_the_golden_v2_certificate_verifies_offline_and_on_its_chain(
    policy: TrustPolicy, tmp_path: Path
) -> None:
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


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_certificate_fails_at_its_step(name: str, policy: TrustPolicy) -> None:
    with pytest.raises(VerificationError) as info:
        verify_certificate(
            (V2 / "hostile" / f"{name}.json").read_bytes(), policy, content=V2 / "hello.txt"
        )
    assert info.value.step == HOSTILE[name]["step"], (HOSTILE[name]["attack"], info.value)
