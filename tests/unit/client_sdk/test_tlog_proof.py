"""tlog-proof@v1 texts and spicy bundles: exact layout, round trips, inclusion, hostile inputs.

Layouts come from c2sp.org/tlog-proof (``C2SP/C2SP`` ``tlog-proof.md``) and from torchwood v0.6.1
``cmd/spicy/spicy.go``; ``tests/integration/test_torchwood_interop.py`` runs spicy itself.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.merkle import MerkleTree, leaf_hash
from ipnotary.sdk.note import Checkpoint, CosignatureSigner, NoteSigner, sign_note
from ipnotary.sdk.tlog_proof import (
    MAX_EXTRA_BYTES,
    MAX_TLOG_PROOF_BYTES,
    TLOG_PROOF_HEADER,
    format_spicy_bundle,
    format_tlog_proof,
    parse_spicy_bundle,
    parse_tlog_proof,
)

ORIGIN = "example.com/proof-log"
ENTRIES = [f"entry {i}".encode() for i in range(13)]
TREE = MerkleTree.from_leaf_hashes([leaf_hash(e) for e in ENTRIES])
LOG = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
WITNESS = CosignatureSigner("witness.example/w1", Ed25519PrivateKey.from_private_bytes(bytes(32)))
CHECKPOINT_TEXT = Checkpoint(ORIGIN, TREE.size, TREE.root).text()
NOTE = sign_note(CHECKPOINT_TEXT, LOG).with_signatures(WITNESS.cosign(CHECKPOINT_TEXT, 1700000000))


def b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def test_tlog_proof_layout_matches_the_spec() -> None:
    path = TREE.audit_path(5)
    text = format_tlog_proof(5, path, NOTE.format(), extra=b"age-v1.2.1")
    expected = (
        f"{TLOG_PROOF_HEADER}\n"
        f"extra {b64(b'age-v1.2.1')}\n"
        "index 5\n" + "".join(b64(h) + "\n" for h in path) + "\n" + NOTE.format()
    )
    assert text == expected


def test_tlog_proof_round_trips_with_and_without_extra() -> None:
    for extra in (None, b"\x00context"):
        text = format_tlog_proof(12, TREE.audit_path(12), NOTE, extra=extra)
        proof = parse_tlog_proof(text)
        assert proof.index == 12
        assert list(proof.inclusion_proof) == TREE.audit_path(12)
        assert proof.note == NOTE
        assert proof.checkpoint == Checkpoint(ORIGIN, 13, TREE.root)
        assert proof.extra == extra
        assert proof.format() == text
        assert parse_tlog_proof(text.encode()) == proof


def test_proof_checks_inclusion_of_the_right_leaf_only() -> None:
    proof = parse_tlog_proof(format_tlog_proof(7, TREE.audit_path(7), NOTE))
    assert proof.proves_inclusion_of(leaf_hash(ENTRIES[7]))
    assert not proof.proves_inclusion_of(leaf_hash(ENTRIES[6]))
    assert not proof.proves_inclusion_of(leaf_hash(ENTRIES[7] + b"!"))


def test_a_one_leaf_tree_has_an_empty_audit_path() -> None:
    tree = MerkleTree.from_leaf_hashes([leaf_hash(b"only")])
    text = Checkpoint(ORIGIN, 1, tree.root).text()
    proof = parse_tlog_proof(format_tlog_proof(0, [], sign_note(text, LOG)))
    assert proof.inclusion_proof == ()
    assert proof.proves_inclusion_of(leaf_hash(b"only"))


def test_spicy_bundle_is_index_hashes_blank_note() -> None:
    path = TREE.audit_path(3)
    bundle = format_spicy_bundle(3, path, NOTE.format())
    assert bundle == "index 3\n" + "".join(b64(h) + "\n" for h in path) + "\n" + NOTE.format()
    parsed = parse_spicy_bundle(bundle)
    assert parsed.index == 3 and parsed.note == NOTE and parsed.extra is None
    assert parsed.proves_inclusion_of(leaf_hash(ENTRIES[3]))


def test_formatting_refuses_what_could_not_be_read_back() -> None:
    path = TREE.audit_path(0)
    with pytest.raises(FormatError, match="outside"):
        format_tlog_proof(13, path, NOTE)
    with pytest.raises(FormatError):
        format_tlog_proof(-1, path, NOTE)
    with pytest.raises(FormatError):
        format_tlog_proof(0, [b"short"], NOTE)
    with pytest.raises(FormatError):
        format_tlog_proof(0, [bytes(32)] * 64, NOTE)
    with pytest.raises(FormatError):
        format_tlog_proof(0, path, "not a note")
    with pytest.raises(FormatError):
        format_tlog_proof(0, path, sign_note("hello\n", LOG))  # a note, but not a checkpoint
    with pytest.raises(FormatError):
        format_tlog_proof(0, path, NOTE, extra=bytes(MAX_EXTRA_BYTES + 1))


GOOD = format_tlog_proof(2, TREE.audit_path(2), NOTE)
_HEAD, _NOTE = GOOD.split("\n\n", 1)
_LINES = _HEAD.split("\n")


def _with_head(lines: list[str]) -> str:
    return "\n".join(lines) + "\n\n" + _NOTE


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(GOOD.replace("tlog-proof@v1", "tlog-proof@v2"), id="other-version"),
        pytest.param(GOOD.split("\n", 1)[1], id="no-header"),
        pytest.param(_with_head([_LINES[0], *_LINES[2:]]), id="no-index-line"),
        pytest.param(GOOD.replace("index 2", "index 02"), id="index-leading-zero"),
        pytest.param(GOOD.replace("index 2", "index -2"), id="negative-index"),
        pytest.param(GOOD.replace("index 2", "index  2"), id="double-space"),
        pytest.param(GOOD.replace("index 2", "index 13"), id="index-outside-tree"),
        pytest.param(GOOD.replace("index 2", "index 9223372036854775808"), id="index-over-int63"),
        pytest.param(_with_head([*_LINES, "AAAA"]), id="short-hash"),
        pytest.param(_with_head([*_LINES, b64(bytes(32))[:-2] + "B="]), id="stray-bits-in-hash"),
        pytest.param(_with_head([*_LINES[:2], *[b64(bytes(32))] * 64]), id="64-proof-lines"),
        pytest.param(_with_head([_LINES[0], "extra !!", *_LINES[1:]]), id="extra-not-base64"),
        pytest.param(_with_head([_LINES[0], *_LINES[1:], "extra AA=="]), id="extra-after-index"),
        pytest.param(_HEAD + "\n", id="no-checkpoint"),
        pytest.param(_HEAD + "\n" + _NOTE, id="no-blank-line"),
        pytest.param(_HEAD + "\n\n" + NOTE.text, id="unsigned-checkpoint"),
        pytest.param(GOOD + "trailing\n", id="trailing-garbage"),
        pytest.param(GOOD.replace(ORIGIN + "\n13\n", ORIGIN + "\nthirteen\n"), id="bad-size"),
        pytest.param("", id="empty"),
        pytest.param(GOOD + "x" * MAX_TLOG_PROOF_BYTES, id="oversized"),
    ],
)
def test_malformed_tlog_proofs_are_format_errors(text: str) -> None:
    with pytest.raises(FormatError):
        parse_tlog_proof(text)


def test_malformed_spicy_bundles_are_format_errors() -> None:
    good = format_spicy_bundle(2, TREE.audit_path(2), NOTE)
    parse_spicy_bundle(good)
    for bad in (
        TLOG_PROOF_HEADER + "\n" + good,
        good.replace("index 2", "index x"),
        good.replace("\n\n", "\n", 1),
        b"\xff" + good.encode(),
    ):
        with pytest.raises(FormatError):
            parse_spicy_bundle(bad)
