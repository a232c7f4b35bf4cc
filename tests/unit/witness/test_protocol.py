"""Every add-checkpoint outcome c2sp.org/tlog-witness defines, through the HTTP app and directly.

Also replays torchwood v0.6.1's own litewitness script
(``cmd/litewitness/testdata/litewitness.txt``) against our witness: the same sigsum log key,
checkpoints and consistency proofs, and the same answers except where litewitness departs from the
current spec (noted at each step).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from starlette.testclient import TestClient

from ipnotary.sdk.merkle import EMPTY_TREE_ROOT
from ipnotary.sdk.note import (
    CosignatureSigner,
    CosignatureVerifier,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    parse_note,
    parse_signature_lines,
)
from ipnotary.witness.app import create_app
from ipnotary.witness.errors import (
    ForkDetected,
    InconsistentProof,
    MalformedRequest,
    NotSignedByLog,
    RequestTooLarge,
    SizeConflict,
    UnknownLog,
)
from ipnotary.witness.protocol import (
    MAX_REQUEST_BYTES,
    Witness,
    open_witness,
    parse_add_checkpoint,
)
from tests.unit.witness.conftest import NOW, ORIGIN, FakeLog, request_body


@pytest.fixture
def client(witness: Witness) -> TestClient:
    return TestClient(create_app(witness))


def post(client: TestClient, body: bytes) -> tuple[int, str, str]:
    response = client.post("/add-checkpoint", content=body)
    return response.status_code, response.headers.get("content-type", ""), response.text


# -- 200 -------------------------------------------------------------------------------------------


def test_cosigns_a_growing_log_with_its_own_clock(
    client: TestClient, witness: Witness, log: FakeLog
) -> None:
    verifier = CosignatureVerifier.from_vkey(witness.vkey)
    old = 0
    for new in (1, 2, 5, 8, 13, 13, 40):
        status, _, text = post(client, log.body(old, new))
        assert status == 200, text
        (cosig,) = parse_signature_lines(text)
        assert verifier.verify(log.checkpoint(new).text(), cosig) == NOW
        assert witness.state.log(ORIGIN).size == new
        assert witness.state.log(ORIGIN).root == log.tree(new).root
        old = new


def test_extra_signatures_from_unknown_keys_are_ignored(client: TestClient, log: FakeLog) -> None:
    stranger = NoteSigner("someone.example/else", Ed25519PrivateKey.generate())
    note = log.note(3)
    note = note.with_signatures(stranger.sign(note.text))
    assert post(client, request_body(0, [], note))[0] == 200


def test_a_rotated_log_key_is_accepted_beside_the_old_one(
    client: TestClient, witness: Witness, log: FakeLog
) -> None:
    new_key = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    witness.add_log(ORIGIN, new_key.vkey())
    rotated = FakeLog(signer=new_key)
    assert post(client, log.body(0, 4))[0] == 200
    assert post(client, rotated.body(4, 9))[0] == 200


# -- 400 and 413 -----------------------------------------------------------------------------------


def _good(log: FakeLog) -> str:
    return log.body(0, 3).decode()


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b: b.replace("old 0", "old 00"), id="leading-zero"),
        pytest.param(lambda b: b.replace("old 0", "old +0"), id="plus-sign"),
        pytest.param(lambda b: b.replace("old 0", "old -1"), id="negative"),
        pytest.param(lambda b: b.replace("old 0", "Old 0"), id="capitalised"),
        pytest.param(lambda b: b.replace("old 0", "old 9223372036854775808"), id="over-int63"),
        pytest.param(lambda b: b.replace("old 0\n", "", 1), id="no-old-line"),
        pytest.param(lambda b: b.replace("\n\n", "\n", 1), id="no-blank-line"),
        pytest.param(lambda b: b.replace("old 0\n", "old 0\nAAAA\n", 1), id="short-proof-hash"),
        pytest.param(lambda b: b.replace("old 0\n", "old 0\n" + "A" * 43 + "B\n", 1), id="no-pad"),
        pytest.param(lambda b: b.replace("old 0\n", "old 0\r\n", 1), id="crlf"),
        pytest.param(lambda b: b.split("\n\u2014")[0] + "\n", id="unsigned-checkpoint"),
        pytest.param(lambda b: b.replace(f"{ORIGIN}\n3\n", f"{ORIGIN}\n03\n"), id="bad-size"),
        pytest.param(lambda b: b + "trailing garbage\n", id="trailing-garbage"),
        pytest.param(lambda b: "", id="empty"),
    ],
)
def test_malformed_requests_are_400(
    client: TestClient, log: FakeLog, mutate: Callable[[str], str]
) -> None:
    body = mutate(_good(log))
    status, _, text = post(client, body.encode())
    assert status == 400, text


def test_invalid_utf8_is_400(client: TestClient, log: FakeLog) -> None:
    assert post(client, b"\xff" + log.body(0, 3))[0] == 400


def test_more_than_63_proof_lines_is_400(client: TestClient, log: FakeLog) -> None:
    assert post(client, log.body(0, 3, proof=[bytes(32)] * 64))[0] == 400
    with pytest.raises(MalformedRequest, match="63"):
        parse_add_checkpoint(log.body(0, 3, proof=[bytes(32)] * 64))


def test_old_size_above_checkpoint_size_is_400(client: TestClient, log: FakeLog) -> None:
    status, _, text = post(client, log.body(0, 3).replace(b"old 0", b"old 4"))
    assert status == 400
    assert "larger" in text


def test_oversized_body_is_413_whatever_the_declared_length(
    client: TestClient, log: FakeLog
) -> None:
    huge = b"old 0\n\n" + b"x" * (MAX_REQUEST_BYTES + 1)
    assert post(client, huge)[0] == 413

    def chunks() -> Iterator[bytes]:
        yield huge[: MAX_REQUEST_BYTES // 2]
        yield huge[MAX_REQUEST_BYTES // 2 :]

    response = client.post("/add-checkpoint", content=chunks())  # chunked, no Content-Length
    assert response.status_code == 413
    with pytest.raises(RequestTooLarge):
        parse_add_checkpoint(huge)


def test_only_post_is_served(client: TestClient) -> None:
    assert client.get("/add-checkpoint").status_code == 405


# -- 403 and 404 -----------------------------------------------------------------------------------


def test_unknown_origin_is_404(client: TestClient) -> None:
    stranger = FakeLog(origin="example.com/not-followed")
    status, _, text = post(client, stranger.body(0, 3))
    assert status == 404, text


def test_checkpoint_signed_by_another_key_is_403(
    client: TestClient, log: FakeLog, witness: Witness
) -> None:
    impostor = FakeLog(signer=NoteSigner(ORIGIN, Ed25519PrivateKey.generate()))
    assert post(client, impostor.body(0, 3))[0] == 403
    assert witness.state.log(ORIGIN).size == 0


def test_forged_line_with_the_log_key_id_is_403_even_beside_a_valid_one(
    client: TestClient, log: FakeLog
) -> None:
    note = log.note(3)
    forged = NoteSignature(log.signer.name, log.signer.key_id, bytes(64))
    assert post(client, request_body(0, [], note.with_signatures(forged)))[0] == 403


def test_a_witness_cosignature_is_not_a_log_signature(client: TestClient, log: FakeLog) -> None:
    # A cosignature (type 0x04) by the log's own key under the log's name is not a log signature.
    as_witness = CosignatureSigner(ORIGIN, log.signer._private_key)
    text = log.checkpoint(3).text()
    body = request_body(0, [], Note(text, (as_witness.cosign(text, NOW),)))
    assert post(client, body)[0] == 403


# -- 409 -------------------------------------------------------------------------------------------


def test_stale_old_size_is_409_with_exactly_the_tlog_size_media_type(
    client: TestClient, log: FakeLog
) -> None:
    assert post(client, log.body(0, 6))[0] == 200
    for old in (0, 2, 7):
        status, content_type, text = post(client, log.body(old, 9))
        assert (status, content_type, text) == (409, "text/x.tlog.size", "6\n")


def test_same_size_other_root_is_409_and_kept_as_evidence(
    client: TestClient, log: FakeLog, witness: Witness
) -> None:
    assert post(client, log.body(0, 8))[0] == 200
    fork = FakeLog(signer=log.signer)
    fork.entries[3] = b"rewritten"
    body = fork.body(8, 8)
    status, content_type, text = post(client, body)
    assert (status, content_type, text) == (409, "text/x.tlog.size", "8\n")
    assert witness.state.log(ORIGIN).root == log.tree(8).root
    [(received_at, refused_status, reason, request)] = witness.state.refused_requests(ORIGIN)
    assert (received_at, refused_status, request) == (NOW, 409, body)
    assert "forked" in reason


def test_the_same_checkpoint_again_is_cosigned_again(client: TestClient, log: FakeLog) -> None:
    assert post(client, log.body(0, 5))[0] == 200
    assert post(client, log.body(5, 5))[0] == 200


# -- 422 -------------------------------------------------------------------------------------------


def test_bad_consistency_proofs_are_422_and_kept_as_evidence(
    client: TestClient, log: FakeLog, witness: Witness
) -> None:
    assert post(client, log.body(0, 5))[0] == 200
    proof = log.proof(5, 11)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        assert post(client, log.body(5, 11, proof=bad))[0] == 422
    assert post(client, log.body(5, 11, proof=proof[:-1]))[0] == 422
    assert post(client, log.body(5, 11, proof=[*proof, bytes(32)]))[0] == 422
    assert post(client, log.body(5, 5, proof=[bytes(32)]))[0] == 422
    assert witness.state.log(ORIGIN).size == 5
    assert len(witness.state.refused_requests(ORIGIN)) == len(proof) + 3
    assert post(client, log.body(5, 11))[0] == 200


def test_a_proof_from_size_zero_must_be_empty(client: TestClient, log: FakeLog) -> None:
    assert post(client, log.body(0, 4, proof=[bytes(32)]))[0] == 422


def test_a_longer_fork_with_a_proof_valid_in_the_fork_is_422(
    client: TestClient, log: FakeLog
) -> None:
    assert post(client, log.body(0, 8))[0] == 200
    fork = FakeLog(signer=log.signer)
    fork.entries[2] = b"backdated"
    assert post(client, fork.body(8, 12))[0] == 422


# -- the errors, without HTTP ----------------------------------------------------------------------


def test_the_decision_raises_the_named_errors(witness: Witness, log: FakeLog) -> None:
    witness.add_checkpoint(log.body(0, 4))
    with pytest.raises(SizeConflict) as conflict:
        witness.add_checkpoint(log.body(0, 6))
    assert conflict.value.known_size == 4 and conflict.value.status == 409
    fork = FakeLog(signer=log.signer)
    fork.entries[0] = b"other"
    with pytest.raises(ForkDetected):
        witness.add_checkpoint(fork.body(4, 4))
    with pytest.raises(InconsistentProof):
        witness.add_checkpoint(fork.body(4, 6))
    with pytest.raises(UnknownLog):
        witness.add_checkpoint(FakeLog(origin="x.example/y").body(0, 1))
    with pytest.raises(NotSignedByLog):
        witness.add_checkpoint(FakeLog().body(4, 6))


def test_add_log_refuses_a_witness_key_or_a_bad_origin(witness: Witness) -> None:
    cosigner = CosignatureSigner("w.example/x", Ed25519PrivateKey.generate())
    with pytest.raises(MalformedRequest, match="0x04"):
        witness.add_log("w.example/x", cosigner.vkey())
    with pytest.raises(MalformedRequest):
        witness.add_log("two\nlines", NoteSigner("k.example", Ed25519PrivateKey.generate()).vkey())


def test_index_page_names_the_witness(client: TestClient, witness: Witness) -> None:
    text = client.get("/").text
    assert witness.vkey in text and f"{ORIGIN} size 0" in text


# -- torchwood's litewitness script, replayed ------------------------------------------------------

SIGSUM = "sigsum.org/v1/tree/4d6d8825a6bb689d459628312889dfbb0bcd41b5211d9e1ce768b0ff0309e562"
SIGSUM_PUBLIC = bytes.fromhex("ffdc2d4d98e4124d3feaf788c0c2f9abfd796083d1f0495437f302ec79cf100f")
K = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # 30 zero bytes after the first two


def _cp(size: int, root: str, sig: str, origin: str = SIGSUM) -> str:
    return f"{origin}\n{size}\n{root}\n\n\u2014 {origin} {sig}\n"


CP1 = _cp(
    1,
    "Kg" + K,
    "UgIom7fPZTqpxWWhyjWduBvTvGVqsokMbqTArsQilegKoFBJQjUFAmQ0+YeSPM3wfUQMFSzVnnNuWRTYrajXpNUbIQY=",
)
CP3 = _cp(
    3,
    "RcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0=",
    "UgIom2VbtIcdFbwFAy1n7s6IkAxIY6J/GQOTuZF2ORV39d75cbAj2aQYwyJre36kezNobZs4SUUdrcawfAB8WVrx6go=",
)
CP5 = _cp(
    5,
    "QrtXrQZCCvpIgsSmOsah7HdICzMLLyDfxToMql9WTjY=",
    "UgIomw/EOJmWi0i1FQsOj+etB7F8IccFam/jgd6wzRns4QPVmyEZtdvl1U2KEmLOZ/ASRcWJi0tW90dJWAShei7sDww=",
)
H1, H2, H3, H4 = ("KgE" + K[1:], "KgI" + K[1:], "KgM" + K[1:], "KgQ" + K[1:])


def _body(old: int, proof: list[str], note: str) -> bytes:
    return ("".join([f"old {old}\n", *(p + "\n" for p in proof), "\n", note])).encode()


def test_replays_torchwoods_litewitness_script(tmp_path: Path) -> None:
    from ipnotary.witness.protocol import init_witness

    init_witness(tmp_path / "w", "example.com/witness")
    witness = open_witness(tmp_path / "w", clock=lambda: NOW)
    log_key = NoteVerifier(SIGSUM, Ed25519PublicKey.from_public_bytes(SIGSUM_PUBLIC))
    witness.add_log(SIGSUM, log_key.vkey())
    client = TestClient(create_app(witness))
    steps: list[tuple[bytes, int, str | None]] = [
        (_body(0, [], CP1), 200, None),
        # litewitness: 403 "unknown log"; the current spec says 404.
        (_body(1, [H1, H2], CP3.replace(SIGSUM, SIGSUM[:-1] + "3")), 404, None),
        (_body(1, [], CP3), 422, None),
        (_body(1, [H1, H2[:-3] + "BA="], CP3), 422, None),
        (_body(1, [H1, H2], CP3), 200, None),
        (_body(1, [H1, "+fUDV+k970B4I3uKrqJM4aP1lloPZP8mvr2Z4wRw2LI=", H4], CP5), 409, "3\n"),
        (_body(3, [H2, H3, "wgiIFdZfYNv6WU1OllBKsWnLYIS/DBMqt8Uh/S4OukE=", H4], CP5), 200, None),
        (_body(0, [], CP5), 409, "5\n"),
    ]
    for number, (body, status, text) in enumerate(steps, start=1):
        response = client.post("/add-checkpoint", content=body)
        assert response.status_code == status, (number, response.text)
        if text is not None:
            assert response.text == text
        if status == 200:
            (cosig,) = parse_signature_lines(response.text)
            note = parse_note(body.decode().split("\n\n", 1)[1])
            assert CosignatureVerifier.from_vkey(witness.vkey).verify(note.text, cosig) == NOW
    assert witness.state.log(SIGSUM).size == 5
    assert base64.b64encode(witness.state.log(SIGSUM).root).decode() == (
        "QrtXrQZCCvpIgsSmOsah7HdICzMLLyDfxToMql9WTjY="
    )


def test_new_log_starts_at_the_empty_tree(witness: Witness) -> None:
    state = witness.state.log(ORIGIN)
    assert (state.size, state.root) == (0, EMPTY_TREE_ROOT)
