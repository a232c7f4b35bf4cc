"""Signed notes, checkpoints and cosignatures against vectors made by the Go implementations.

Vectors and where they come from:

* ``PETER_*`` / ``ENOCH_*``: ``golang.org/x/mod/sumdb/note`` v0.24.0, ``note_test.go`` (the key
  pair, the signed note, and the malformed messages its ``TestOpen`` rejects).
* ``SIGSUM_*``: torchwood v0.6.1 ``cmd/litewitness/testdata/litewitness.txt`` and
  ``internal/witness/witness_test.go`` (a log key and checkpoints it signed).
* ``LITEWITNESS_*``: a cosignature litewitness v0.6.1 returned for ``SIGSUM_CHECKPOINT_1`` when run
  with the witness key of torchwood's testdata (the seed in ``witness_test.go``), captured through
  ``tests/integration/torchwood.py``. Ed25519 is deterministic, so our signer must reproduce it.
* ``QUASIMODO_NOTE``: the example of c2sp.org/signed-note.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.note import (
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    Checkpoint,
    CosignatureSigner,
    CosignatureVerifier,
    MlDsaCosignatureSigner,
    MlDsaCosignatureVerifier,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    cosignature_verifier_from_vkey,
    key_id,
    parse_note,
    parse_signature_lines,
    sign_note,
)

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb"
    "6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33W"
    "Wd1RvMc+QQ=\n"
)

SIGSUM_ORIGIN = (
    "sigsum.org/v1/tree/4d6d8825a6bb689d459628312889dfbb0bcd41b5211d9e1ce768b0ff0309e562"
)
SIGSUM_PUBLIC = bytes.fromhex("ffdc2d4d98e4124d3feaf788c0c2f9abfd796083d1f0495437f302ec79cf100f")
SIGSUM_CHECKPOINT_1 = (
    f"{SIGSUM_ORIGIN}\n1\nKgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
    f"\u2014 {SIGSUM_ORIGIN} "
    "UgIom7fPZTqpxWWhyjWduBvTvGVqsokMbqTArsQilegKoFBJQjUFAmQ0+YeSPM3wfUQMFSzVnn"
    "NuWRTYrajXpNUbIQY=\n"
)
SIGSUM_CHECKPOINT_3 = (
    f"{SIGSUM_ORIGIN}\n3\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0=\n\n"
    f"\u2014 {SIGSUM_ORIGIN} "
    "UgIom2VbtIcdFbwFAy1n7s6IkAxIY6J/GQOTuZF2ORV39d75cbAj2aQYwyJre36kezNobZs4S"
    "UUdrcawfAB8WVrx6go=\n"
)

LITEWITNESS_SEED = bytes.fromhex("31ffc2116ecbe003acaa800ab70757bd7d53206e3febef6a6d0796d95530b34f")
LITEWITNESS_NAME = "example.com/witness"
LITEWITNESS_VKEY = "example.com/witness+10a1c019+BGSEitir7W6FmBs7OHWyUrh2frtLAvcDrKOx5xu9ao5Q"
LITEWITNESS_TIMESTAMP = 1795775559
LITEWITNESS_COSIGNATURE = (
    "\u2014 example.com/witness "
    "EKHAGQAAAABrCVxHTdziLUTQMdKhCKAPpPPGkbYmihCth5K1wbCRjRY5LQmKn7C3ti2+L7"
    "t1R5I8fismobiuJFHpnWZ/OCbKQnAxBQ==\n"
)

QUASIMODO_NOTE = (
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "\u2014 quasimodo.example/salvatore "
    "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMou"
    "FSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)


def sigsum_log() -> NoteVerifier:
    return NoteVerifier(SIGSUM_ORIGIN, Ed25519PublicKey.from_public_bytes(SIGSUM_PUBLIC))


def litewitness_signer() -> CosignatureSigner:
    return CosignatureSigner(
        LITEWITNESS_NAME, Ed25519PrivateKey.from_private_bytes(LITEWITNESS_SEED)
    )


# -- Go's note package ---------------------------------------------------------------------------


def test_signer_from_go_skey_has_go_vkey_and_key_id() -> None:
    signer = NoteSigner.from_skey(PETER_SKEY)
    assert signer.name == "PeterNeumann"
    assert signer.key_id == 0xC74F20A3
    assert signer.vkey() == PETER_VKEY


def test_signing_reproduces_go_signature_byte_for_byte() -> None:
    note = sign_note(PETER_TEXT, NoteSigner.from_skey(PETER_SKEY))
    assert note.format() == PETER_TEXT + "\n" + PETER_SIG


def test_go_signed_note_verifies_and_unknown_signatures_are_ignored() -> None:
    note = parse_note(PETER_TEXT + "\n" + PETER_SIG + ENOCH_SIG)
    assert note.text == PETER_TEXT
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    peter, enoch = NoteVerifier.from_vkey(PETER_VKEY), NoteVerifier.from_vkey(ENOCH_VKEY)
    assert note.signed_by(peter) and note.signed_by(enoch)
    assert peter.verify(note.text, note.signatures[0])
    assert not peter.matches(note.signatures[1])
    assert not peter.verify(note.text, note.signatures[1])  # another key's line never verifies


def test_changed_text_fails_verification() -> None:
    note = parse_note(PETER_TEXT + "\n" + PETER_SIG)
    peter = NoteVerifier.from_vkey(PETER_VKEY)
    assert not peter.verify(PETER_TEXT.replace("answer", "Answer"), note.signatures[0])


def test_go_tampered_signature_is_rejected_not_raised() -> None:
    # note_test.go: four base64 characters inserted into the signature.
    tampered = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    note = parse_note(PETER_TEXT + "\n" + tampered)
    assert not note.signed_by(NoteVerifier.from_vkey(PETER_VKEY))


def test_same_name_other_key_id_is_not_this_key() -> None:
    sig = parse_note(PETER_TEXT + "\n" + PETER_SIG).signatures[0]
    other = NoteSignature(sig.name, sig.key_id ^ 1, sig.signature)
    assert not NoteVerifier.from_vkey(PETER_VKEY).matches(other)


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(PETER_TEXT, id="no-signature-block"),
        pytest.param(PETER_TEXT + "\n", id="blank-line-but-no-signature"),
        pytest.param(PETER_TEXT + "\n" + PETER_SIG[:-1], id="last-line-without-newline"),
        pytest.param("\x01" + PETER_TEXT + "\n" + PETER_SIG, id="control-character"),
        pytest.param(
            "\u2014 Bad Name " + PETER_SIG.split(" ")[2], id="name-with-space-no-blank-line"
        ),
        pytest.param(
            PETER_TEXT
            + "\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFY"
            "C2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            id="name-with-space",
        ),
        pytest.param(PETER_TEXT + "\n" + PETER_SIG + "Unexpected line.\n", id="trailing-text"),
        pytest.param(PETER_TEXT + "\n" + PETER_SIG.replace("\u2014", "-"), id="hyphen-not-em-dash"),
        pytest.param(PETER_TEXT + "\n" + PETER_SIG.replace("AM=", "AM"), id="unpadded-base64"),
        pytest.param(PETER_TEXT + "\n" + PETER_SIG.replace("AM=", "AN="), id="stray-padding-bits"),
        pytest.param(PETER_TEXT + "\n" + PETER_SIG.replace("/", "_"), id="base64url"),
        pytest.param(
            PETER_TEXT + "\n\u2014 PeterNeumann AAAAAA==\n", id="key-id-without-signature"
        ),
        pytest.param(PETER_TEXT + "\n\u2014 PeterNeumann \n", id="empty-signature"),
        pytest.param(PETER_TEXT + "\n\u2014 Peter+Neumann " + PETER_SIG[16:], id="plus-in-name"),
        pytest.param(PETER_TEXT + "\n\u2014 Peter\u00a0N " + PETER_SIG[16:], id="nbsp-in-name"),
        pytest.param(
            PETER_TEXT + "\n\u2014 Peter\u3000N " + PETER_SIG[16:], id="ideographic-space"
        ),
        pytest.param(PETER_TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG, id="crlf"),
        pytest.param(PETER_TEXT.replace(" ", "\t", 1) + "\n" + PETER_SIG, id="tab"),
    ],
)
def test_malformed_notes_are_format_errors(message: str) -> None:
    with pytest.raises(FormatError):
        parse_note(message)


def test_invalid_utf8_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="UTF-8"):
        parse_note(b"\xff" + (PETER_TEXT + "\n" + PETER_SIG).encode())


def test_bytes_and_str_parse_the_same() -> None:
    message = PETER_TEXT + "\n" + PETER_SIG
    assert parse_note(message.encode()) == parse_note(message)


@pytest.mark.parametrize(
    "vkey",
    [
        # note_test.go: a key of the wrong length and an unknown algorithm, each with a matching
        # key hash, so only the key material itself is wrong.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # key id off by one
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # 7 hex digits
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",  # truncated base64
    ],
)
def test_bad_vkeys_are_format_errors(vkey: str) -> None:
    with pytest.raises(FormatError):
        NoteVerifier.from_vkey(vkey)


def test_vkey_parsing_accepts_uppercase_key_id_like_go() -> None:
    assert NoteVerifier.from_vkey(PETER_VKEY.replace("c74f20a3", "C74F20A3")).key_id == 0xC74F20A3


def test_verifiers_refuse_keys_of_the_other_signature_type() -> None:
    with pytest.raises(FormatError, match="0x04"):
        NoteVerifier.from_vkey(LITEWITNESS_VKEY)
    with pytest.raises(FormatError, match="0x01"):
        CosignatureVerifier.from_vkey(PETER_VKEY)


# -- Envelope rules, limits ------------------------------------------------------------------------


def test_c2sp_example_round_trips_and_splits_at_the_last_blank_line() -> None:
    note = parse_note(QUASIMODO_NOTE)
    assert note.text.endswith("subito sera.\n")
    assert "\n\n" in note.text
    assert note.signatures[0].name == "quasimodo.example/salvatore"
    assert note.format() == QUASIMODO_NOTE


def test_note_with_more_signature_lines_than_the_limit_is_refused() -> None:
    ok = PETER_TEXT + "\n" + PETER_SIG * 16  # the spec's minimum must be accepted
    assert len(parse_note(ok).signatures) == 16
    with pytest.raises(FormatError, match="at most"):
        parse_note(PETER_TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1))


def test_oversized_note_is_refused_before_parsing() -> None:
    text = "a" * MAX_NOTE_BYTES + "\n"
    with pytest.raises(FormatError, match="bytes"):
        parse_note(text + "\n" + PETER_SIG)
    with pytest.raises(FormatError, match="bytes"):
        parse_note((text + "\n" + PETER_SIG).encode())
    # Multi-byte characters count as bytes, not characters.
    with pytest.raises(FormatError, match="bytes"):
        parse_note("é" * (MAX_NOTE_BYTES // 2 + 1) + "\n\n" + PETER_SIG)


def test_note_construction_validates() -> None:
    sig = parse_note(PETER_TEXT + "\n" + PETER_SIG).signatures[0]
    with pytest.raises(FormatError):
        Note("no newline", (sig,))
    with pytest.raises(FormatError):
        Note(PETER_TEXT, ())
    with pytest.raises(FormatError):
        NoteSignature("PeterNeumann", 1 << 32, b"x")
    with pytest.raises(FormatError):
        NoteSignature("Peter Neumann", 1, b"x")
    with pytest.raises(FormatError):
        NoteSignature("PeterNeumann", 1, b"")


def test_signed_by_rejects_a_forged_line_next_to_a_valid_one() -> None:
    signer = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    note = sign_note("hello\n", signer)
    forged = NoteSignature(signer.name, signer.key_id, bytes(64))
    assert note.signed_by(signer.verifier())
    assert not note.with_signatures(forged).signed_by(signer.verifier())


def test_with_signatures_appends_once() -> None:
    signer = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    witness = CosignatureSigner("witness.example/w1", Ed25519PrivateKey.generate())
    text = Checkpoint("example.com/log", 1, bytes(32)).text()
    note = sign_note(text, signer)
    cosig = witness.cosign(text, 1700000000)
    merged = note.with_signatures(cosig, cosig)
    assert merged.signatures == (note.signatures[0], cosig)
    assert parse_note(merged.format()) == merged


def test_sign_refuses_text_that_is_not_a_note_text() -> None:
    signer = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    with pytest.raises(FormatError):
        signer.sign("no trailing newline")
    with pytest.raises(FormatError):
        signer.sign("bell \x07\n")
    with pytest.raises(FormatError):
        sign_note("text\n")


def test_key_id_is_the_first_four_bytes_of_sha256_of_name_type_and_key() -> None:
    public = base64.b64decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")[1:]
    assert key_id("PeterNeumann", 0x01, public) == 0xC74F20A3
    assert key_id("PeterNeumann", 0x04, public) != 0xC74F20A3  # the type byte separates domains


def test_parse_signature_lines_reads_a_witness_response() -> None:
    (sig,) = parse_signature_lines(LITEWITNESS_COSIGNATURE)
    assert sig.name == LITEWITNESS_NAME
    assert sig.key_id == 0x10A1C019
    assert len(sig.signature) == 8 + 64
    assert sig.line() == LITEWITNESS_COSIGNATURE
    assert len(parse_signature_lines((LITEWITNESS_COSIGNATURE + PETER_SIG).encode())) == 2


@pytest.mark.parametrize(
    "body",
    ["", "\n", LITEWITNESS_COSIGNATURE[:-1], "\n" + LITEWITNESS_COSIGNATURE, "internal error\n"],
    ids=["empty", "blank", "no-final-newline", "leading-blank", "error-text"],
)
def test_parse_signature_lines_refuses_anything_else(body: str) -> None:
    with pytest.raises(FormatError):
        parse_signature_lines(body)


# -- Checkpoints -----------------------------------------------------------------------------------


def test_checkpoint_parses_and_formats_the_torchwood_vector() -> None:
    note = parse_note(SIGSUM_CHECKPOINT_3)
    checkpoint = Checkpoint.parse(note.text)
    assert checkpoint.origin == SIGSUM_ORIGIN
    assert checkpoint.size == 3
    assert checkpoint.root.hex() == (
        "45c088d4d939e9971298811f227d1295eaad57bbafae55cd71c171e7de48c25d"
    )
    assert checkpoint.extensions == ()
    assert checkpoint.text() == note.text
    assert note.signed_by(sigsum_log())


def test_sigsum_log_vkey_is_the_one_litewitness_is_given() -> None:
    # note.NewEd25519VerifierKey(origin, pk) in witness_test.go; the key id is checked on parse.
    vkey = sigsum_log().vkey()
    assert vkey == f"{SIGSUM_ORIGIN}+5202289b+Af/cLU2Y5BJNP+r3iMDC+av9eWCD0fBJVDfzAux5zxAP"
    assert NoteVerifier.from_vkey(vkey).public_key.public_bytes_raw() == SIGSUM_PUBLIC


def test_checkpoint_with_extensions_round_trips() -> None:
    checkpoint = Checkpoint("example.com/log", 12, bytes(range(32)), ("ext one", "ext two"))
    text = checkpoint.text()
    assert text.endswith("\next one\next two\n")
    assert Checkpoint.parse(text) == checkpoint


def test_origin_may_contain_spaces_like_the_go_checksum_database() -> None:
    assert Checkpoint.parse("go.sum database tree\n0\n" + "A" * 43 + "=\n").origin == (
        "go.sum database tree"
    )


GOOD_ROOT = "RcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0="


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"o\n3\n{GOOD_ROOT}", id="no-final-newline"),
        pytest.param("o\n3\n", id="no-root"),
        pytest.param(f"\n3\n{GOOD_ROOT}\n", id="empty-origin"),
        pytest.param(f"o\n03\n{GOOD_ROOT}\n", id="leading-zero"),
        pytest.param(f"o\n-3\n{GOOD_ROOT}\n", id="negative"),
        pytest.param(f"o\n+3\n{GOOD_ROOT}\n", id="plus-sign"),
        pytest.param(f"o\n 3\n{GOOD_ROOT}\n", id="space"),
        pytest.param(f"o\n9223372036854775808\n{GOOD_ROOT}\n", id="over-int63"),
        pytest.param("o\n3\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl==\n", id="root-31-bytes"),
        pytest.param("o\n3\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl1=\n", id="stray-bits"),
        pytest.param(f"o\n3\n{GOOD_ROOT}\n\n", id="empty-extension-line"),
        pytest.param(f"o\n3\n{GOOD_ROOT}\next\n\nmore\n", id="blank-between-extensions"),
        pytest.param(f"o\n३\n{GOOD_ROOT}\n", id="non-ascii-digit"),
    ],
)
def test_malformed_checkpoints_are_format_errors(text: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.parse(text)


def test_checkpoint_construction_validates() -> None:
    with pytest.raises(FormatError):
        Checkpoint("o", -1, bytes(32))
    with pytest.raises(FormatError):
        Checkpoint("o", 1, bytes(31))
    with pytest.raises(FormatError):
        Checkpoint("o\nx", 1, bytes(32))
    with pytest.raises(FormatError):
        Checkpoint("o", 1, bytes(32), ("",))
    assert Checkpoint("o", (1 << 63) - 1, bytes(32)).size == (1 << 63) - 1


# -- Cosignatures ----------------------------------------------------------------------------------


def test_litewitness_cosignature_verifies_with_its_timestamp() -> None:
    text = parse_note(SIGSUM_CHECKPOINT_1).text
    (sig,) = parse_signature_lines(LITEWITNESS_COSIGNATURE)
    verifier = CosignatureVerifier.from_vkey(LITEWITNESS_VKEY)
    assert verifier.verify(text, sig) == LITEWITNESS_TIMESTAMP


def test_our_cosigner_reproduces_litewitness_byte_for_byte() -> None:
    signer = litewitness_signer()
    assert signer.vkey() == LITEWITNESS_VKEY  # and litewitness logged this very vkey at start
    text = parse_note(SIGSUM_CHECKPOINT_1).text
    assert signer.cosign(text, LITEWITNESS_TIMESTAMP).line() == LITEWITNESS_COSIGNATURE


def test_cosignature_is_bound_to_checkpoint_and_time() -> None:
    text = parse_note(SIGSUM_CHECKPOINT_1).text
    other_text = parse_note(SIGSUM_CHECKPOINT_3).text
    (sig,) = parse_signature_lines(LITEWITNESS_COSIGNATURE)
    verifier = CosignatureVerifier.from_vkey(LITEWITNESS_VKEY)
    assert verifier.verify(other_text, sig) is None
    later = (LITEWITNESS_TIMESTAMP + 1).to_bytes(8, "big") + sig.signature[8:]
    assert verifier.verify(text, NoteSignature(sig.name, sig.key_id, later)) is None
    huge = (1 << 63).to_bytes(8, "big") + sig.signature[8:]
    assert verifier.verify(text, NoteSignature(sig.name, sig.key_id, huge)) is None
    assert verifier.verify(text, NoteSignature(sig.name, sig.key_id, sig.signature[:-1])) is None
    renamed = NoteSignature("example.com/other", sig.key_id, sig.signature)
    assert verifier.verify(text, renamed) is None


def test_a_log_signature_is_not_a_cosignature() -> None:
    # Same Ed25519 key as a log key and as a witness key: the type byte gives distinct key ids,
    # and the cosignature header separates what is signed.
    key = Ed25519PrivateKey.generate()
    log, witness = NoteSigner("example.com/k", key), CosignatureSigner("example.com/k", key)
    assert log.key_id != witness.key_id
    text = Checkpoint("example.com/k", 1, bytes(32)).text()
    assert witness.verifier().verify(text, log.sign(text)) is None
    assert not log.verifier().verify(text, witness.cosign(text, 5))


def test_cosign_only_signs_well_formed_checkpoints() -> None:
    signer = litewitness_signer()
    with pytest.raises(FormatError):
        signer.cosign("not a checkpoint\n", 1)
    with pytest.raises(FormatError):
        signer.cosign(Checkpoint("o", 1, bytes(32)).text(), -1)
    with pytest.raises(FormatError):
        signer.cosign(Checkpoint("o", 1, bytes(32)).text(), 1 << 63)
    assert (
        signer.verifier().verify(
            "not a checkpoint\n", parse_signature_lines(LITEWITNESS_COSIGNATURE)[0]
        )
        is None
    )


def test_cosigned_checkpoint_note_checks_against_log_and_witness() -> None:
    note = parse_note(SIGSUM_CHECKPOINT_1)
    (cosig,) = parse_signature_lines(LITEWITNESS_COSIGNATURE)
    cosigned = parse_note(note.with_signatures(cosig).format())
    assert cosigned.signed_by(sigsum_log())
    assert cosigned.signed_by(CosignatureVerifier.from_vkey(LITEWITNESS_VKEY))


# -- ML-DSA-44 cosignatures, against the rules of the C2SP tlog-cosignature text ---------------


def _mldsa_signer(name: str = "witness.example/pq") -> MlDsaCosignatureSigner:
    from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey

    return MlDsaCosignatureSigner(name, MLDSA44PrivateKey.from_seed_bytes(bytes(range(32))))


_PQ_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_mldsa_key_id_and_vkey_are_the_specs() -> None:
    """Key ID: SHA-256(<name> || "\\n" || 0x06 || 1312-byte public key)[:4]; the vkey has
    signature type 0x06 and the raw public key as its material."""
    import hashlib

    signer = _mldsa_signer()
    public = signer.public_key.public_bytes_raw()
    assert len(public) == 1312
    expected = hashlib.sha256(b"witness.example/pq\n\x06" + public).digest()[:4]
    assert signer.key_id == int.from_bytes(expected, "big")
    name, hex_id, material = signer.vkey().split("+", 2)
    assert (name, hex_id) == ("witness.example/pq", expected.hex())
    assert base64.b64decode(material) == b"\x06" + public
    parsed = cosignature_verifier_from_vkey(signer.vkey())
    assert isinstance(parsed, MlDsaCosignatureVerifier)
    assert parsed.key_id == signer.key_id and parsed.public_key_bytes == public
    with pytest.raises(FormatError, match="signature type 0x06"):
        CosignatureVerifier.from_vkey(signer.vkey())


def test_mldsa_signed_message_is_the_specs_cosigned_message() -> None:
    """struct { label "subtree/v1\\n\\0"; cosigner_name<1..255>; u64 timestamp; log_origin<1..255>;
    u64 start = 0; u64 end = tree size; hash[32] }, signed with ML-DSA-44 (FIPS 204)."""
    signer = _mldsa_signer()
    sig = signer.cosign(_PQ_TEXT, 1679315147)
    assert sig.key_id == signer.key_id and len(sig.signature) == 8 + 2420
    assert sig.signature[:8] == (1679315147).to_bytes(8, "big")
    name, origin = b"witness.example/pq", b"example.com/behind-the-sofa"
    message = (
        b"subtree/v1\n\x00"
        + bytes([len(name)])
        + name
        + (1679315147).to_bytes(8, "big")
        + bytes([len(origin)])
        + origin
        + bytes(8)
        + (20852163).to_bytes(8, "big")
        + base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    )
    signer.public_key.verify(sig.signature[8:], message)  # raises if it is another message
    assert signer.verifier().verify(_PQ_TEXT, sig) == 1679315147


def test_mldsa_cosignature_signs_the_name_and_not_the_extension_lines() -> None:
    signer = _mldsa_signer()
    sig = signer.cosign(_PQ_TEXT, 1679315147)
    # Extension lines are not in the signed message: the spec makes no statement about them.
    assert signer.verifier().verify(_PQ_TEXT + "extension line\n", sig) == 1679315147
    # The name is: the same key under another name does not take the line as its own.
    other = MlDsaCosignatureVerifier("other.example/pq", signer.public_key)
    relabelled = NoteSignature(other.name, other.key_id, sig.signature)
    assert other.verify(_PQ_TEXT, relabelled) is None
    # Another size, root or origin is another message.
    assert signer.verifier().verify(_PQ_TEXT.replace("20852163", "20852164"), sig) is None
    tampered = NoteSignature(sig.name, sig.key_id, sig.signature[:-1] + b"\x00")
    assert signer.verifier().verify(_PQ_TEXT, tampered) is None
    # A timestamp past 2^63-1 is refused, as for Ed25519.
    huge = NoteSignature(sig.name, sig.key_id, (2**63).to_bytes(8, "big") + sig.signature[8:])
    assert signer.verifier().verify(_PQ_TEXT, huge) is None


def test_mldsa_vkeys_of_the_wrong_size_are_refused() -> None:
    public = bytes(1311)
    vkey = (
        f"short.example/pq+{key_id('short.example/pq', 0x06, public):08x}+"
        + base64.b64encode(b"\x06" + public).decode()
    )
    with pytest.raises(FormatError, match="1312 key bytes"):
        MlDsaCosignatureVerifier.from_vkey(vkey)
