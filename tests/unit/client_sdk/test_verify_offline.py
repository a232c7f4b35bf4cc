"""Offline verification: a valid certificate passes, and any single change to it fails at the
step that owns the changed field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client_sdk.certificate import record_leaf_hash
from client_sdk.errors import VerificationError
from client_sdk.merkle import MerkleTree
from client_sdk.verify import ContentDigests, Step, verify_certificate
from notary.services.issuer import AnchorFacts, Issuer

CONTENT = ContentDigests(size=11, sha256="b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
                         sm3="44f0061e69fa6fdfc290c494654a05dc0c053da7e5c52b84ef93a9d67d3fff88",
                         cid="Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD")


def make_certificate(issuer: Issuer, *, n: int = 5, index: int = 2) -> dict[str, Any]:
    records = [
        {"id": f"ev_{i:032x}", "kind": "evidence", "schema": 1,
         "holder": {"id": "prn_1", "name": "Acme"},
         "content": {"size": CONTENT.size, "sha256": CONTENT.sha256, "sm3": CONTENT.sm3,
                     "cid": CONTENT.cid} if i == index else {"size": i, "sha256": f"{i:064x}"},
         "received_at": "2026-11-25T08:00:00.000000Z"}
        for i in range(n)
    ]
    tree = MerkleTree.from_leaf_hashes([record_leaf_hash(r) for r in records])
    cert = issuer.certificate(
        record=records[index], leaf_hash=record_leaf_hash(records[index]).hex(), leaf_index=index,
        tree_size=n, audit_path=[h.hex() for h in tree.audit_path(index)], root=tree.root.hex(),
        anchor=AnchorFacts(chain_id=1337, contract="0x" + "12" * 20, batch_id=7, tx_hash="0x" + "ab" * 32,
                           block_number=42, block_hash="0x" + "cd" * 32, block_timestamp=1_764_000_000),
        issued_at=datetime(2026, 11, 25, 8, 0, 5, tzinfo=UTC),
    )
    return cert.model_dump(mode="json")


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer(Ed25519PrivateKey.generate())


def test_valid_certificate_verifies_with_its_file(issuer: Issuer) -> None:
    cert = make_certificate(issuer)
    result = verify_certificate(cert, content=b"hello world", trusted_issuer_keys=[issuer.key_id])
    assert result.steps == ("format", "content", "leaf_hash", "inclusion_proof", "signature", "issuer")
    assert result.anchored_at == datetime.fromtimestamp(1_764_000_000, UTC)
    assert result.issuer_trusted and result.content_checked and not result.chain_checked


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, path + (k,))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, path + (i,))] or [path]
    return [path]


def _mutate(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        # Flip one character inside its alphabet so the change survives format checks when possible.
        i = len(value) // 2
        c = value[i] if value else "a"
        swap = {"0": "1", "1": "0", "a": "b", "b": "a", "Z": "Z"}.get(c, "a" if c != "a" else "b")
        return value[:i] + swap + value[i + 1:] if value else "x"
    if isinstance(value, list):
        return value[:-1]
    return value


def _step_for(path: tuple[Any, ...]) -> set[str]:
    top = path[0]
    if top == "media_type":
        return {Step.FORMAT}
    if top == "record":
        return {Step.LEAF_HASH, Step.FORMAT}
    if top == "leaf_hash":
        return {Step.LEAF_HASH}
    if top == "proof":
        # A tree size with the same path shape still leads to the root: the signature (and, on
        # chain, the anchored leaf count) catches it.
        return {Step.INCLUSION_PROOF, Step.SIGNATURE, Step.FORMAT} if path[1] == "tree_size" else {
            Step.INCLUSION_PROOF, Step.FORMAT}
    if top in {"anchor", "issued_at", "issuer", "signature"}:
        return {Step.SIGNATURE, Step.FORMAT}
    raise AssertionError(path)


def test_every_field_changed_fails_at_its_step(issuer: Issuer) -> None:
    cert = make_certificate(issuer)
    paths = _leaves(cert)
    assert len(paths) > 25
    for path in paths:
        forged = copy.deepcopy(cert)
        target = forged
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = _mutate(target[path[-1]])
        if forged == cert:
            continue
        with pytest.raises(VerificationError) as info:
            verify_certificate(forged, trusted_issuer_keys=[issuer.key_id])
        assert info.value.step in _step_for(path), (path, info.value)


def test_re_signed_forgery_fails_when_the_issuer_is_pinned(issuer: Issuer) -> None:
    forger = Issuer(Ed25519PrivateKey.generate())
    forged = make_certificate(forger)
    verify_certificate(forged)  # self-consistent ...
    with pytest.raises(VerificationError) as info:
        verify_certificate(forged, trusted_issuer_keys=[issuer.key_id])
    assert info.value.step == Step.ISSUER  # ... but not signed by the issuer we trust


def test_every_byte_flip_of_the_file_fails_at_content(issuer: Issuer) -> None:
    cert = make_certificate(issuer)
    original = b"hello world"
    for offset in range(len(original)):
        for bit in range(8):
            data = bytearray(original)
            data[offset] ^= 1 << bit
            with pytest.raises(VerificationError) as info:
                verify_certificate(cert, content=bytes(data))
            assert info.value.step == Step.CONTENT
    for changed in (original[:-1], original + b"!", b""):
        with pytest.raises(VerificationError) as info:
            verify_certificate(cert, content=changed)
        assert info.value.step == Step.CONTENT


def test_trusted_contract_pinning(issuer: Issuer) -> None:
    cert = make_certificate(issuer)
    verify_certificate(cert, trusted_contracts={1337: "0x" + "12" * 20})
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, trusted_contracts={1337: "0x" + "34" * 20})
    assert info.value.step == Step.CONTRACT


@pytest.mark.parametrize(
    "document",
    [b"", b"[]", b"{", b'{"media_type": "x"}', b"\xff\xfe", b'{"a":1,"a":2}', b"[" * 10000 + b"]" * 10000],
    ids=["empty", "array", "truncated", "wrong-type", "not-utf8", "duplicate-key", "deep-nesting"],
)
def test_hostile_documents_fail_at_format(document: bytes) -> None:
    with pytest.raises(VerificationError) as info:
        verify_certificate(document)
    assert info.value.step == Step.FORMAT


def test_oversized_document_fails_at_format(issuer: Issuer) -> None:
    cert = make_certificate(issuer)
    blob = json.dumps({**cert, "padding": "x" * 300_000}).encode()
    with pytest.raises(VerificationError) as info:
        verify_certificate(blob)
    assert info.value.step == Step.FORMAT and "limit" in info.value.reason
