"""A version 2 certificate from the running service, checked against its chain: the registry, the
anchoring transaction and the block must all agree with what the certificate says."""

from __future__ import annotations

import pytest

from ipnotary.sdk.errors import VerificationError
from ipnotary.sdk.verify import Step, verify_certificate
from tests.unit.notary.conftest import Api


def test_a_v2_certificate_is_checked_against_its_anchoring_transaction(api: Api) -> None:
    h = api.principal("chain-holder", "holder")
    rid = api.client.post("/v1/evidence", json={"sha256": "7e" * 32, "size": 3}, headers=h).json()[
        "id"
    ]
    assert api.wait_anchored(f"/v1/evidence/{rid}", h)["status"] == "anchored"
    cert = api.client.get(f"/v1/evidence/{rid}/certificate", headers=h).json()
    policy = api.runtime.trust_policy()
    view = api.runtime.chain.view()
    result = verify_certificate(cert, policy, chain=view)
    assert [s for s in result.steps if s in {"chain_id", "anchor", "transaction", "block"}] == [
        "chain_id",
        "anchor",
        "transaction",
        "block",
    ]

    other = api.client.post(
        "/v1/evidence", json={"sha256": "7f" * 32, "size": 3}, headers=h
    ).json()["id"]
    api.wait_anchored(f"/v1/evidence/{other}", h)
    other_cert = api.client.get(f"/v1/evidence/{other}/certificate", headers=h).json()
    if other_cert["anchor"]["tx_hash"] == cert["anchor"]["tx_hash"]:
        pytest.skip("both records landed in one checkpoint")
    # The issuer (the operator) names another of its own transactions: the chain says no.
    forged = {k: v for k, v in cert.items() if k != "signature"}
    forged["anchor"] = {**cert["anchor"], "tx_hash": other_cert["anchor"]["tx_hash"]}
    with pytest.raises(VerificationError) as info:
        verify_certificate(api.runtime.issuer.sign(forged), policy, chain=view)
    assert info.value.step == Step.TRANSACTION
