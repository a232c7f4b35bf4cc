"""Values a model accepts but no later step can use must be refused where they are read, so that
``verify_certificate`` answers (a result, or ``VerificationError`` at a named step) and never
raises anything else: times that match their pattern but are no time, Unix times beyond the year
9999, base64 that matches its pattern but does not decode, a policy window with one end that is
no time. The verification page (``tests/browser``) gives the same answers."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ipnotary.sdk.certificate import Receipt, format_timestamp, parse_time, record_leaf_hash
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.note import Checkpoint, Note
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.verify import Step, verify_certificate
from tests.unit.client_sdk.test_verify_offline import T0, Deployment

V2 = Path(__file__).resolve().parents[2] / "assets" / "certificates" / "v2"
NOW = datetime.fromtimestamp(T0 + 60, UTC)


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return Deployment()


def _step(cert: dict[str, Any], policy: TrustPolicy | None) -> str:
    with pytest.raises(VerificationError) as failure:
        verify_certificate(cert, policy, now=NOW)
    return failure.value.step


@pytest.mark.parametrize(
    "issued_at",
    [
        "2026-13-27T10:55:24.017328Z",
        "2026-02-30T10:55:24.017328Z",
        "2026-11-27T24:00:00Z",
        "0000-11-27T10:55:24Z",
    ],
)
def test_an_issued_at_that_is_no_time_fails_at_format(
    deployment: Deployment, issued_at: str
) -> None:
    cert = deployment.resign({**deployment.certificate(), "issued_at": issued_at})
    assert _step(cert, deployment.policy()) == Step.FORMAT
    assert _step(cert, None) == Step.FORMAT


def test_a_block_timestamp_beyond_the_year_9999_fails_at_format(deployment: Deployment) -> None:
    cert = deployment.certificate()
    cert["anchor"] = {**cert["anchor"], "block_timestamp": 2**40}
    assert _step(deployment.resign(cert), deployment.policy()) == Step.FORMAT


def test_the_last_second_of_the_year_9999_is_compared_not_overflowed(
    deployment: Deployment,
) -> None:
    """The skew added to a time at the end of ``datetime``'s range overflowed it."""
    cert = deployment.certificate()
    cert["issued_at"] = "9999-12-31T23:59:59Z"
    cert["anchor"] = {
        **cert["anchor"],
        "block_timestamp": 253_402_300_799,
        "block_time": "9999-12-31T23:59:59Z",
    }
    policy = deployment.policy(quorum=0, require_independent_time=False)
    result = verify_certificate(deployment.resign(cert), policy, now=NOW)
    assert result.proven_time == parse_time("9999-12-31T23:59:59Z")


def test_a_cosignature_dated_beyond_the_year_9999_fails_at_witnesses(
    deployment: Deployment,
) -> None:
    cert = deployment.certificate(cosign={0: 3, 1: 2**40})
    with pytest.raises(VerificationError, match="in the future") as failure:
        verify_certificate(cert, deployment.policy(), now=NOW)
    assert failure.value.step == Step.WITNESSES


@pytest.mark.parametrize("token", ["QUJ", "QUJDR", "QUJDQQ="])
def test_a_token_that_is_not_decodable_base64_fails_at_format(
    deployment: Deployment, token: str
) -> None:
    cert = deployment.resign({**deployment.certificate(), "timestamps": [{"token": token}]})
    assert _step(cert, deployment.policy()) == Step.FORMAT


@pytest.mark.parametrize(
    "received_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-13-01"]
)
def test_a_received_at_that_is_no_time_fails_at_time(
    deployment: Deployment, received_at: str
) -> None:
    """``received_at`` is the record's (opaque to the model): read at step ``time``. An offset
    that moves it out of ``datetime``'s range raised OverflowError, not a ValueError."""
    record = {**deployment.certificate()["record"], "received_at": received_at}
    cert = _alone(deployment, record)
    assert _step(cert, deployment.policy()) == Step.TIME


def _alone(deployment: Deployment, record: dict[str, Any]) -> dict[str, Any]:
    """A certificate of ``record`` as the only entry of the log, signed and cosigned."""
    leaf = record_leaf_hash(record)
    text = Checkpoint(origin=deployment.log.name, size=1, root=leaf).text()
    signatures = (
        deployment.log.sign(text),
        *(w.cosign(text, T0 + 3 + i) for i, w in enumerate(deployment.witnesses)),
    )
    cert = deployment.certificate()
    cert["record"] = record
    cert["leaf_hash"] = leaf.hex()
    cert["log"] = {
        **cert["log"],
        "leaf_index": 0,
        "tree_size": 1,
        "inclusion_proof": [],
        "checkpoint": Note(text=text, signatures=signatures).format(),
    }
    return deployment.resign(cert)


@pytest.mark.parametrize("end", ["not_before", "not_after"])
@pytest.mark.parametrize("value", ["2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z"])
def test_a_policy_window_with_one_end_that_is_no_time_is_refused(end: str, value: str) -> None:
    """``IssuerKey`` parsed its window only when both ends were given, so a single end that is
    no time loaded and raised ValueError in ``IssuerKey.covers`` during the verification."""
    policy = json.loads((V2 / "policy.json").read_text())
    policy["issuers"][0][end] = value
    with pytest.raises(FormatError, match="trust policy is malformed"):
        TrustPolicy.from_json(json.dumps(policy))
    notary = {"office": "Beijing", "public_key": policy["issuers"][0]["public_key"], end: value}
    policy["issuers"][0].pop(end)
    with pytest.raises(FormatError, match="trust policy is malformed"):
        TrustPolicy.from_json(json.dumps({**policy, "notaries": [notary]}))


def test_a_receipt_issued_at_no_time_is_refused() -> None:
    receipt = {
        "media_type": "application/vnd.ipnotary.receipt+json;version=1",
        "record": {},
        "leaf_hash": "00" * 32,
        "status": "pending",
        "issued_at": "2026-02-30T00:00:00Z",
        "issuer": {"key_id": "00" * 32, "public_key": "AA"},
        "signature": {"alg": "Ed25519", "value": "AA"},
    }
    with pytest.raises(FormatError, match="receipt is malformed"):
        Receipt.from_json(copy.deepcopy(receipt))
    receipt["issued_at"] = format_timestamp(datetime.now(UTC) - timedelta(days=1))
    assert Receipt.from_json(receipt).issued_at == receipt["issued_at"]


@pytest.mark.parametrize("signed_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_pledge_consent_signed_at_outside_the_calendar_fails_at_format(signed_at: str) -> None:
    """A pledge consent's ``signed_at`` is read with the same rule: an offset that moves it out
    of ``datetime``'s range raised OverflowError past the ``except ValueError`` of ``format``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ipnotary.sdk.pledges import check_pledge_consent, pledge_act, sign_pledge_act
    from ipnotary.sdk.signing import public_key_to_b64

    key = Ed25519PrivateKey.generate()
    party = {"id_type": "uscc", "id": "91110000100000000A"}
    contract = "0x" + "ab" * 20
    act = pledge_act(chain_id=1337, contract=contract, pledge_id=7, action="release", party=party)
    consent = sign_pledge_act(key, {**act, "signed_at": signed_at})
    with pytest.raises(VerificationError) as failure:
        check_pledge_consent(
            consent,
            pledgee_key=public_key_to_b64(key.public_key()),
            pledgee=party,
            chain_id=1337,
            contract=contract,
            pledge_id=7,
            action="release",
        )
    assert failure.value.step == "format"
