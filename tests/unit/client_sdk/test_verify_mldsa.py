"""ML-DSA-44 witness cosignatures in a certificate: counted towards the quorum and its time like
Ed25519 ones, when the policy lists the witness's type 0x06 vkey; a cosignature of time 0 (the
spec's "no statement about the time") counts for the quorum and not for the time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey

from ipnotary.sdk.errors import NotTrustedError, VerificationError
from ipnotary.sdk.note import CosignatureSigner, MlDsaCosignatureSigner
from ipnotary.sdk.verify import Step, TimeSource, verify_certificate
from tests.unit.client_sdk.test_verify_offline import T0, Deployment

NOW = datetime.fromtimestamp(T0 + 60, UTC)


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    witnesses: list[Any] = [
        MlDsaCosignatureSigner("pq.test/w0", MLDSA44PrivateKey.generate()),
        MlDsaCosignatureSigner("pq.test/w1", MLDSA44PrivateKey.generate()),
        CosignatureSigner("witness.test/w2", Ed25519PrivateKey.generate()),
    ]
    return Deployment(witnesses=cast("list[CosignatureSigner]", witnesses))


def test_mldsa_cosignatures_meet_the_quorum_and_prove_the_time(deployment: Deployment) -> None:
    result = verify_certificate(deployment.certificate(), deployment.policy(quorum=2), now=NOW)
    assert result.time_source is TimeSource.WITNESSES
    assert result.proven_time == datetime.fromtimestamp(T0 + 4, UTC)  # the 2nd earliest of 3
    assert result.witnesses == ("Witness 0", "Witness 1", "Witness 2")


def test_a_tampered_mldsa_cosignature_fails_at_witnesses(deployment: Deployment) -> None:
    cert = deployment.certificate()
    lines = cert["log"]["checkpoint"].split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("\u2014 pq.test/w0 "))
    lines[at] = lines[at][:-6] + ("AAAA==" if not lines[at].endswith("AAAA==") else "BBBB==")
    cert["log"]["checkpoint"] = "\n".join(lines)
    with pytest.raises(VerificationError) as failure:
        verify_certificate(deployment.resign(cert), deployment.policy(quorum=2), now=NOW)
    assert failure.value.step in (Step.WITNESSES, Step.CHECKPOINT)


def test_an_mldsa_cosignature_of_time_zero_counts_for_the_quorum_not_the_time(
    deployment: Deployment,
) -> None:
    # Witnesses 0 and 1 (ML-DSA-44) cosign with time 0, witness 2 at T0 + 5.
    cert = deployment.certificate(cosign={0: -T0, 1: -T0, 2: 5})
    result = verify_certificate(
        cert, deployment.policy(quorum=1, require_independent_time=False), now=NOW
    )
    assert result.proven_time == datetime.fromtimestamp(T0 + 5, UTC)
    with pytest.raises(NotTrustedError) as failure:
        verify_certificate(cert, deployment.policy(quorum=3), now=NOW)
    assert failure.value.step == Step.TIME  # the quorum is met, but states no time
    result = verify_certificate(
        cert, deployment.policy(quorum=3, require_independent_time=False), now=NOW
    )
    assert result.time_source is TimeSource.OPERATOR
    assert any("state no time" in note for note in result.notes)
