"""A witness is its public key: a policy that lists one key twice (under two names, so two key
ids) is refused, and a cosignature counts once per key. An Ed25519 ``cosignature/v1`` does not
sign the witness's name, so the same signature relabelled with the other name and key id
verifies under the second listing: counted by (name, key id), one witness met a quorum of two."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ipnotary.sdk.errors import FormatError, NotTrustedError
from ipnotary.sdk.note import CosignatureVerifier, parse_note
from ipnotary.sdk.policy import TrustPolicy, Witness, WitnessPolicy
from ipnotary.sdk.verify import Step, verify_certificate
from tests.unit.client_sdk.test_verify_offline import T0, Deployment

NOW = datetime.fromtimestamp(T0 + 60, UTC)


def _alias(witness_key: CosignatureVerifier, name: str = "alias.test/witness") -> str:
    return CosignatureVerifier(name, witness_key.public_key).vkey()


def test_a_policy_listing_one_witness_key_under_two_names_is_refused() -> None:
    deployment = Deployment()
    real = deployment.witnesses[0].verifier()
    members = [
        Witness(name="Witness 0", key=real.vkey()),
        Witness(name="Witness 0 again", key=_alias(real)),
    ]
    with pytest.raises(ValueError, match="the same public key"):
        WitnessPolicy(quorum=2, members=members)
    document = json.loads(deployment.policy(quorum=1).to_json_bytes())
    document["witnesses"]["members"].append({"name": "Witness 0 again", "key": _alias(real)})
    with pytest.raises(FormatError, match="the same public key"):
        TrustPolicy.from_json(json.dumps(document))


def test_one_witness_relabelled_does_not_meet_a_quorum_of_two() -> None:
    deployment = Deployment()
    real = deployment.witnesses[0].verifier()
    alias = CosignatureVerifier.from_vkey(_alias(real))
    cert = deployment.certificate(cosign={0: 3})
    note = parse_note(cert["log"]["checkpoint"])
    line = next(s for s in note.signatures if real.matches(s))
    relabelled = replace(line, name=alias.name, key_id=alias.key_id)
    assert alias.verify(note.text, relabelled) is not None  # the name is not signed
    cert["log"]["checkpoint"] = note.with_signatures(relabelled).format()
    cert = deployment.resign(cert)
    policy = deployment.policy(quorum=2)
    # Built past the validator, as a policy held in memory by an older SDK could be: the
    # verifier still counts the key once.
    members = [policy.witnesses.members[0], Witness(name="Witness 0 again", key=alias.vkey())]
    forged = policy.model_copy(
        update={"witnesses": WitnessPolicy.model_construct(quorum=2, members=members)}
    )
    with pytest.raises(NotTrustedError) as failure:
        verify_certificate(cert, forged, now=NOW)
    assert failure.value.step == Step.WITNESSES
    assert "1 of the policy's witnesses" in str(failure.value)
