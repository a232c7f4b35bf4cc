"""The frozen formats: every hostile certificate made from the golden version 2 certificate fails
at the step its manifest names (the golden one itself verifies, offline and on its own chain, in
``tests/integration/client_sdk/test_verify_chain.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.verify import verify_certificate

V2 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v2"
HOSTILE = json.loads((V2 / "hostile" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def policy() -> TrustPolicy:
    return TrustPolicy.load(V2 / "policy.json")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_certificate_fails_at_its_step(name: str, policy: TrustPolicy) -> None:
    with pytest.raises(VerificationError) as info:
        verify_certificate(
            (V2 / "hostile" / f"{name}.json").read_bytes(), policy, content=V2 / "hello.txt"
        )
    assert info.value.step == HOSTILE[name]["step"], (HOSTILE[name]["attack"], info.value)
