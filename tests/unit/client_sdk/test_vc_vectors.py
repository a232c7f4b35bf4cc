"""The W3C specification's ``eddsa-jcs-2022`` test vectors (tests/assets/vc/README.md), reproduced
byte for byte by ``ipnotary.sdk.vc``: every intermediate value, the signature and the signed
credential; and the signed credential verifies, unless anything in it changes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from multiformats import multibase, multicodec

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.signing import public_key_raw
from ipnotary.sdk.vc import (
    add_data_integrity_proof,
    did_key,
    eddsa_jcs_2022_inputs,
    public_key_from_did_key,
    verification_method,
    verify_data_integrity_credential,
)

VECTORS = Path(__file__).resolve().parents[2] / "assets" / "vc"
JCS = VECTORS / "eddsa-jcs-2022"
# The vector's credential is valid from 2023 and its proof was made then; check it as of later.
LATER = datetime(2025, 6, 1, tzinfo=UTC)


def _json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def _text(name: str) -> str:
    return (JCS / name).read_text("utf-8")


def _key_pair() -> tuple[Ed25519PrivateKey, str]:
    pair = _json(VECTORS / "keyPair.json")
    codec, seed = multicodec.unwrap(multibase.decode(pair["privateKeyMultibase"]))
    assert codec.name == "ed25519-priv"
    return Ed25519PrivateKey.from_private_bytes(seed), pair["publicKeyMultibase"]


def test_the_vector_key_is_its_did_key() -> None:
    private, public_multibase = _key_pair()
    assert did_key(private.public_key()) == f"did:key:{public_multibase}"
    method = _json(JCS / "proofConfigJCS.json")["verificationMethod"]
    assert verification_method(private.public_key()) == method
    assert public_key_raw(public_key_from_did_key(method)) == public_key_raw(private.public_key())


def test_every_intermediate_value_is_the_specifications() -> None:
    inputs = eddsa_jcs_2022_inputs(
        _json(VECTORS / "unsigned.json"), _json(JCS / "proofConfigJCS.json")
    )
    assert inputs.canonical_document.decode("utf-8") == _text("canonDocJCS.txt")
    assert inputs.canonical_proof_config.decode("utf-8") == _text("proofCanonJCS.txt")
    assert inputs.hash_data[32:].hex() == _text("docHashJCS.txt")
    assert inputs.hash_data[:32].hex() == _text("proofHashJCS.txt")
    assert inputs.hash_data.hex() == _text("combinedHashJCS.txt")


def test_signing_the_unsigned_credential_gives_the_signed_vector() -> None:
    private, _ = _key_pair()
    config = _json(JCS / "proofConfigJCS.json")
    signed = add_data_integrity_proof(
        _json(VECTORS / "unsigned.json"),
        private,
        created=datetime.fromisoformat(config["created"]),
        method=config["verificationMethod"],
    )
    expected = _json(JCS / "signedJCS.json")
    assert signed["proof"]["proofValue"] == _text("sigBTC58JCS.txt")
    assert multibase.decode(signed["proof"]["proofValue"]).hex() == _text("sigHexJCS.txt")
    assert canonical_json(signed) == canonical_json(expected)


def _verify(document: dict[str, Any], **options: Any) -> Any:
    # The vector's issuer is https://vc.example/issuers/5678, no did:key: nothing offline binds
    # the key to it, so these tests check the proof alone, except where the binding is the point.
    options.setdefault("require_issuer_key", False)
    return verify_data_integrity_credential(document, now=options.pop("now", LATER), **options)


def test_the_signed_vector_verifies_as_the_keys() -> None:
    proof = _verify(_json(JCS / "signedJCS.json"))
    _, public_multibase = _key_pair()
    assert proof.controller == f"did:key:{public_multibase}"
    assert proof.created == datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC)


def _tampered(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(_json(JCS / "signedJCS.json"))
    change(document)
    return document


ALTERED = {
    "a claim": lambda d: d["credentialSubject"].update(alumniOf="Another School"),
    "the issuance time": lambda d: d.update(validFrom="2022-01-01T00:00:00Z"),
    "a new member": lambda d: d.update(evidence=[{"type": "Evidence"}]),
    "the proof's time": lambda d: d["proof"].update(created="2023-02-24T23:36:39Z"),
    "the proof's context": lambda d: d["proof"]["@context"].pop(),
    "the document's context after the proof's": lambda d: d["@context"].insert(1, "urn:x"),
    "the proof value, one character": lambda d: d["proof"].update(
        proofValue=d["proof"]["proofValue"][:-1]
        + ("Y" if d["proof"]["proofValue"][-1] != "Y" else "Z")
    ),
}


@pytest.mark.parametrize("what", sorted(ALTERED))
def test_a_changed_signed_vector_fails_at_the_proof(what: str) -> None:
    with pytest.raises(VerificationError) as failure:
        _verify(_tampered(ALTERED[what]))
    assert failure.value.step == "credential_proof"


REFUSED = {
    "a proof of another cryptosuite": (
        lambda d: d["proof"].update(cryptosuite="eddsa-rdfc-2022"),
        "cryptosuite",
    ),
    "a proof for authentication": (
        lambda d: d["proof"].update(proofPurpose="authentication"),
        "purpose",
    ),
    "a DID that is not a did:key": (
        lambda d: d["proof"].update(verificationMethod="did:web:vc.example#key-1"),
        "did:key",
    ),
    "a fragment naming another key": (
        lambda d: d["proof"].update(
            verificationMethod=d["proof"]["verificationMethod"].split("#")[0]
            + "#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
        ),
        "fragment",
    ),
    "a proof set": (lambda d: d.update(proof=[d["proof"], d["proof"]]), "proof set"),
    "no proof": (lambda d: d.pop("proof"), "no proof"),
}


@pytest.mark.parametrize("what", sorted(REFUSED))
def test_a_proof_we_cannot_accept_names_why(what: str) -> None:
    change, said = REFUSED[what]
    with pytest.raises(VerificationError) as failure:
        _verify(_tampered(change))
    assert said in failure.value.reason


def test_a_proof_by_a_key_that_is_not_the_issuer_is_refused_when_it_must_be() -> None:
    with pytest.raises(VerificationError) as failure:
        _verify(_json(JCS / "signedJCS.json"), require_issuer_key=True)
    assert "not by the credential's issuer https://vc.example/issuers/5678" in failure.value.reason


def test_a_credential_not_yet_valid_fails_at_its_format() -> None:
    with pytest.raises(VerificationError) as failure:
        _verify(_json(JCS / "signedJCS.json"), now=datetime(2022, 12, 1, tzinfo=UTC))
    assert failure.value.step == "credential_format"
    assert "valid only from" in failure.value.reason


@pytest.mark.parametrize(
    "value",
    [
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ",  # one character short
        "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",  # a P-256 key
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#other",
    ],
)
def test_a_did_key_that_is_no_ed25519_key_is_refused(value: str) -> None:
    with pytest.raises(FormatError):
        public_key_from_did_key(value)
