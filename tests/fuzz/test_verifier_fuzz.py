"""The SDK's parsers and verifier fuzzed with Hypothesis, seeded with the golden certificates
(``tests/assets/certificates/``) and every hostile one made from them.

What must hold, whatever the input:

- ``verify_certificate`` returns a result or raises ``VerificationError`` naming one of its steps;
  nothing else escapes it (no ``KeyError``, no ``binascii.Error``, no ``RecursionError``);
- it never returns a verdict for a certificate that differs from the golden one, unless the two are
  the same document: the same RFC 8785 canonical JSON (key order, whitespace and string escapes do
  not change a certificate; anything else does);
- ``parse_json``, ``parse_certificate``, ``parse_note``, ``Checkpoint.parse``,
  ``parse_tlog_proof`` and ``read_token`` raise ``FormatError`` or parse; checking a mutated note
  signature, a mutated proof or a mutated time-stamp token answers "no" or raises one of the SDK's
  errors (``ipnotary.sdk.errors``), and never "yes" for something other than the original.

Mutations are of two kinds: bytes (flip, replace, insert, delete, duplicate a span) and structure
(one field of the parsed document replaced by any JSON value, removed, or added; one character of
a string changed; a number moved). The seed is fixed, so a run repeats; ``FUZZ_VERIFIER_EXAMPLES``
sets the examples per property (default 150) for a longer campaign, and ``FUZZ_REPORT_VERIFIER``
a file to which the figures are written (docs/security.md quotes them).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.certificate import parse_certificate
from ipnotary.sdk.errors import ClientSDKError, FormatError, VerificationError
from ipnotary.sdk.note import Checkpoint, CosignatureVerifier, NoteVerifier, parse_note
from ipnotary.sdk.policy import IssuerKey, TrustPolicy
from ipnotary.sdk.timestamp import read_token, verify_token
from ipnotary.sdk.tlog_proof import format_tlog_proof, parse_tlog_proof
from ipnotary.sdk.verify import Step, Verdict, verify_certificate

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "certificates"
V1, V2 = ASSETS / "v1", ASSETS / "v2"
EXAMPLES = int(os.environ.get("FUZZ_VERIFIER_EXAMPLES", "150"))
SEED = int(os.environ.get("FUZZ_SEED", "20261127"))
STEPS = {str(s) for s in Step}
FIGURES: Counter[str] = Counter()  # what was tried and how it ended, across the properties

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _v1_policy() -> TrustPolicy:
    trust = json.loads((V1 / "trust.json").read_text())
    return TrustPolicy(
        issuers=[IssuerKey(public_key=trust["issuer"]["public_key"])],
        require_independent_time=False,
    )


SEEDS = {  # name: (certificate bytes, policy, content)
    "v2": (
        (V2 / "certificate.json").read_bytes(),
        TrustPolicy.load(V2 / "policy.json"),
        (V2 / "hello.txt").read_bytes(),
    ),
    "v1": ((V1 / "certificate.json").read_bytes(), _v1_policy(), (V1 / "golden.txt").read_bytes()),
}
HOSTILE = sorted((V2 / "hostile").glob("*.json"))
HOSTILE = [p for p in HOSTILE if p.name != "manifest.json"]


def _canonical(document: bytes) -> bytes | None:
    """The certificate as a verifier reads it, or None if it is not JSON the SDK reads."""
    try:
        return canonical_json(parse_json(document, max_bytes=1 << 20, what="certificate"))
    except FormatError:
        return None


GOLDEN = {name: _canonical(cert) for name, (cert, _, _) in SEEDS.items()}


def _verify(name: str, document: bytes | dict[str, Any], *, self_signed: bool = False) -> None:
    """Verify a mutated ``document`` of seed ``name`` under its policy and without one.

    ``self_signed``: the document may be one its maker re-signed (a hostile certificate), so
    without a policy it may be self-consistent (``not_trusted``); under the policy it never is."""
    _, policy, content = SEEDS[name]
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    same = _canonical(data) == GOLDEN[name]
    for trust in (policy, None):
        FIGURES["certificates tried"] += 1
        try:
            result = verify_certificate(data, trust, content=content)
        except VerificationError as exc:
            assert exc.step in STEPS, exc
            FIGURES[f"refused at {exc.step}"] += 1
            continue
        if trust is None and self_signed:
            assert result.verdict is Verdict.NOT_TRUSTED
            FIGURES["self-consistent without a policy (re-signed)"] += 1
            continue
        FIGURES["accepted (the same document)" if same else "ACCEPTED CHANGED"] += 1
        assert same, f"a changed certificate verified ({result.verdict}):\n{data[:3000]!r}"
        assert result.verdict is (Verdict.VALID if trust is not None else Verdict.NOT_TRUSTED)


# -- mutations ----------------------------------------------------------------------------------


@st.composite
def byte_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        at = draw(st.integers(0, len(out) - 1))
        kind = draw(st.sampled_from(["flip", "replace", "insert", "delete", "duplicate"]))
        if kind == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "replace":
            out[at] = draw(st.sampled_from(b'{}[]",:0123456789.-+eE\\u aA=/_\x00\xff'))
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del out[at : at + draw(st.integers(1, 16))]
        else:
            out[at:at] = out[at : at + draw(st.integers(1, 64))]
    return bytes(out)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*prefix, i))


def _tweak_string(draw: st.DrawFn, text: str) -> str:
    if not text:
        return draw(st.text(min_size=1, max_size=4))
    at = draw(st.integers(0, len(text) - 1))
    kind = draw(st.sampled_from(["char", "alphabet", "last", "cut", "extend", "case"]))
    if kind == "last":  # the last character of base64 carries the unused bits, if any
        return text[:-1] + draw(st.sampled_from(sorted(set(text) | set("AQgw_-+/"))))
    if kind == "char":
        return text[:at] + draw(st.characters()) + text[at + 1 :]
    if kind == "alphabet":  # another character of the kinds the field already holds
        return (
            text[:at] + draw(st.sampled_from(sorted(set(text) | set("0aA_-+/=")))) + text[at + 1 :]
        )
    if kind == "cut":
        return text[:at]
    if kind == "extend":
        return text[:at] + draw(st.text(min_size=1, max_size=4)) + text[at:]
    return text.swapcase()


@st.composite
def field_mutations(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(document))
    path = draw(st.sampled_from(list(_paths(doc))[1:]))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    key, value = path[-1], parent[path[-1]]
    kind = draw(st.sampled_from(["tweak", "replace", "remove", "add"]))
    if kind == "tweak" and isinstance(value, str):
        parent[key] = _tweak_string(draw, value)
    elif kind == "tweak" and isinstance(value, int) and not isinstance(value, bool):
        parent[key] = value + draw(st.sampled_from([-1, 1, 2**32, -(2**53), 0.5]))
    elif kind == "tweak" and isinstance(value, list) and value:
        i = draw(st.integers(0, len(value) - 1))
        value.insert(i, value[i]) if draw(st.booleans()) else value.pop(i)
    elif kind == "remove":
        del parent[key]
    elif kind == "add" and isinstance(value, dict):
        value[draw(st.text(max_size=12))] = draw(JSON_VALUES)
    else:
        parent[key] = draw(JSON_VALUES)
    return doc


# -- certificates -------------------------------------------------------------------------------


def test_the_seeds_verify() -> None:
    for name, (cert, policy, content) in SEEDS.items():
        assert verify_certificate(cert, policy, content=content).verdict is Verdict.VALID, name


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_a_certificate_with_changed_bytes_never_verifies(name: str) -> None:
    @seed(SEED)
    @FUZZ
    @given(data=byte_mutations(SEEDS[name][0]))
    def check(data: bytes) -> None:
        _verify(name, data)

    check()


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_a_certificate_with_a_changed_field_never_verifies(name: str) -> None:
    golden = json.loads(SEEDS[name][0])

    @seed(SEED)
    @FUZZ
    @given(document=field_mutations(golden))
    def check(document: dict[str, Any]) -> None:
        _verify(name, document)

    check()


_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/"


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_a_base64_field_respelled_in_its_unused_bits_never_verifies(name: str) -> None:
    """Every spelling of the last character of every base64-looking string (a random character
    rarely lands there): the bits a decoder ignores must not give one signature many documents."""
    golden = json.loads(SEEDS[name][0])
    for path in _paths(golden):
        parent: Any = golden
        for part in path[:-1]:
            parent = parent[part]
        value = parent[path[-1]] if path else None
        if not isinstance(value, str) or not value or not set(value) <= set(_B64_CHARS + "="):
            continue
        text = value.rstrip("=")
        for char in _B64_CHARS:
            if char != text[-1]:
                doc = json.loads(json.dumps(golden))
                target = doc
                for part in path[:-1]:
                    target = target[part]
                target[path[-1]] = text[:-1] + char + value[len(text) :]
                _verify(name, doc)


def test_hostile_certificates_mutated_further_never_verify() -> None:
    documents = [p.read_bytes() for p in HOSTILE]

    @seed(SEED)
    @FUZZ
    @given(data=st.sampled_from(documents).flatmap(byte_mutations) | st.sampled_from(documents))
    def check(data: bytes) -> None:
        _verify("v2", data, self_signed=True)

    check()


@seed(SEED)
@FUZZ
@given(
    data=st.binary(max_size=512)
    | st.text(max_size=256).map(str.encode)
    | JSON_VALUES.map(lambda v: json.dumps(v).encode())
)
def test_garbage_is_a_format_error(data: bytes) -> None:
    FIGURES["garbage documents tried"] += 1
    for parse in (
        lambda: parse_json(data, max_bytes=4096, what="x"),
        lambda: parse_certificate(data),
    ):
        with contextlib.suppress(FormatError):
            parse()
    with pytest.raises(VerificationError) as info:
        verify_certificate(data, SEEDS["v2"][1])
    assert info.value.step == Step.FORMAT


def test_deep_and_wide_json_is_a_format_error() -> None:
    for depth in (33, 1000, 100_000):
        for data in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            with pytest.raises(FormatError):
                parse_json(data, max_bytes=1 << 20, what="x")


# -- notes, proofs and tokens ---------------------------------------------------------------------


GOLDEN_V2 = json.loads(SEEDS["v2"][0])
CHECKPOINT = GOLDEN_V2["log"]["checkpoint"]
POLICY_V2 = SEEDS["v2"][1]
LOG_KEY = POLICY_V2.log.keys[0]  # type: ignore[union-attr]
WITNESS_KEYS = [w.key for w in POLICY_V2.witnesses.members]


def _note_verdicts(text: str | bytes) -> tuple[bool, list[int | None]] | None:
    """Whether the log signed ``text`` and when each witness cosigned it; None if it is no note."""
    try:
        note = parse_note(text)
        Checkpoint.parse(note.text)
    except FormatError:
        return None
    log = NoteVerifier.from_vkey(LOG_KEY)
    signed = any(log.matches(s) and log.verify(note.text, s) for s in note.signatures)
    times = []
    for key in WITNESS_KEYS:
        witness = CosignatureVerifier.from_vkey(key)
        times.append(
            next(
                (witness.verify(note.text, s) for s in note.signatures if witness.matches(s)), None
            )
        )
    return signed, times


ORIGINAL_NOTE = parse_note(CHECKPOINT)


@seed(SEED)
@FUZZ
@given(data=byte_mutations(CHECKPOINT.encode()))
def test_a_changed_checkpoint_note_is_refused_or_its_signatures_fail(data: bytes) -> None:
    FIGURES["checkpoint notes tried"] += 1
    verdict = _note_verdicts(data)
    if verdict is None:
        return
    note = parse_note(data)
    signed, times = verdict
    if note.text != ORIGINAL_NOTE.text:
        assert not signed and times == [None, None], "a signature verified over a changed text"
        return
    original = {s.line() for s in ORIGINAL_NOTE.signatures}
    log = NoteVerifier.from_vkey(LOG_KEY)
    for sig in note.signatures:
        if sig.line() not in original:  # a changed signature line must not verify
            assert not (log.matches(sig) and log.verify(note.text, sig)), sig.line()


LEAF = bytes.fromhex(GOLDEN_V2["leaf_hash"])
PATH = [bytes.fromhex(h) for h in GOLDEN_V2["log"]["inclusion_proof"]]
INDEX = GOLDEN_V2["log"]["leaf_index"]
PROOF = format_tlog_proof(INDEX, PATH, CHECKPOINT, extra=b"fuzz")


@seed(SEED)
@FUZZ
@given(data=byte_mutations(PROOF.encode()))
def test_a_changed_tlog_proof_never_proves_anything_else(data: bytes) -> None:
    FIGURES["tlog proofs tried"] += 1
    try:
        proof = parse_tlog_proof(data)
    except FormatError:
        return
    verdict = _note_verdicts(proof.note.format())
    if proof.proves_inclusion_of(LEAF) and verdict is not None and verdict[0]:
        assert (proof.index, list(proof.inclusion_proof), proof.note.text) == (
            INDEX,
            PATH,
            ORIGINAL_NOTE.text,
        ), "a changed proof proved inclusion"


TOKEN = base64.b64decode(GOLDEN_V2["timestamps"][0]["token"])
DIGEST = __import__("hashlib").sha256(ORIGINAL_NOTE.text.encode()).digest()
ROOTS = POLICY_V2.timestamp_authorities[0].roots
ORIGINAL_TOKEN = verify_token(TOKEN, digest=DIGEST, trusted_roots=ROOTS)


@seed(SEED)
@FUZZ
@given(data=byte_mutations(TOKEN))
def test_a_changed_timestamp_token_is_refused_or_says_what_the_original_said(data: bytes) -> None:
    FIGURES["time-stamp tokens tried"] += 1
    with contextlib.suppress(FormatError):
        read_token(data)
    try:
        info = verify_token(data, digest=DIGEST, trusted_roots=ROOTS)
    except ClientSDKError:
        FIGURES["time-stamp tokens refused"] += 1
        return
    FIGURES["time-stamp tokens accepted"] += 1
    assert (info.gen_time, info.digest, info.serial_number, info.nonce) == (
        ORIGINAL_TOKEN.gen_time,
        ORIGINAL_TOKEN.digest,
        ORIGINAL_TOKEN.serial_number,
        ORIGINAL_TOKEN.nonce,
    ), "a changed token verified and says something else"


def test_zz_figures(request: pytest.FixtureRequest) -> None:
    """Last in the file: print (and with ``FUZZ_REPORT_VERIFIER``, write) what was tried."""
    figures = dict(sorted(FIGURES.items()))
    report = os.environ.get("FUZZ_REPORT_VERIFIER")
    if report:
        Path(report).write_text(json.dumps(figures, indent=2))
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line(f"\nverifier fuzz: {json.dumps(figures)}")
    assert FIGURES["ACCEPTED CHANGED"] == 0
