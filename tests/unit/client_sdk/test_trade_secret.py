"""Trade-secret filings: what a holder seals only the recipients it discloses to can open, any
change to the ciphertext is refused, and the commitment pins the one plaintext that was filed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipnotary.sdk import NotaryClient
from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.errors import APIError, DecryptionError, FormatError, VerificationError
from ipnotary.sdk.signing import sign_document
from ipnotary.sdk.trade_secret import (
    CONTAINER_MAGIC,
    RECIPIENT_KEY_STEP,
    SUITE_HYBRID,
    SUITE_X25519,
    KeyMaterial,
    RecipientKeys,
    SealedSecret,
    WrappedKey,
    check_recipient_document,
    compute_commitment,
    disclose,
    inspect_container,
    new_filing_id,
    open_secret,
    seal_secret,
    stream,
    unwrap_data_key,
    verify_commitment,
    verify_recipient_document,
    wrap_data_key,
)

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "trade_secret"
KEY_DOCS = ASSETS / "key-documents"
MIB = 1 << 20
SEG = stream.DEFAULT_SEGMENT_SIZE
FIRST = SEG - stream.HEADER_SIZE - stream.TAG_SIZE  # plaintext in segment 0
SMALL = stream.MIN_SEGMENT_SIZE
MARKER = b"TOP-SECRET-FORMULA-7f3a9c"


@pytest.fixture(scope="module")
def holder() -> RecipientKeys:
    return RecipientKeys.generate()


@pytest.fixture(scope="module")
def arbitrator() -> RecipientKeys:
    return RecipientKeys.generate()


@pytest.fixture(scope="module")
def notary() -> RecipientKeys:
    return RecipientKeys.generate()


def pin(keys: RecipientKeys) -> str:
    """The signing key id a recipient hands out of band."""
    assert keys.signing_key_id is not None
    return keys.signing_key_id


def pattern(size: int, seed: int = 0) -> bytes:
    """Incompressible-looking, reproducible bytes (a SHA-256 counter stream)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def seal_bytes(
    tmp: Path,
    data: bytes,
    keys: RecipientKeys,
    *,
    filing_id: str | None = None,
    segment_size: int = SEG,
) -> SealedSecret:
    plain = tmp / "plain.bin"
    plain.write_bytes(data)
    return seal_secret(
        plain,
        tmp / "secret.ipnts",
        holder=keys.public_key(),
        filing_id=filing_id or new_filing_id(),
        segment_size=segment_size,
    )


def open_to(
    tmp: Path,
    sealed: SealedSecret,
    wrapped: WrappedKey,
    keys: RecipientKeys,
    source: Path | bytes | None = None,
    **overrides: Any,
) -> bytes:
    out = tmp / "opened.bin"
    ciphertext: Path | io.BytesIO = sealed.ciphertext_path
    if isinstance(source, bytes):
        ciphertext = io.BytesIO(source)
    elif source is not None:
        ciphertext = source
    args = {"filing_id": sealed.filing_id, "commitment": sealed.commitment, **overrides}
    opened = open_secret(ciphertext, wrapped, keys, out, **args)
    assert opened.path == out and opened.size == out.stat().st_size
    return out.read_bytes()


# ------------------------------------------------------------------------------ round trips --


@pytest.mark.parametrize(
    "size",
    [0, 1, FIRST - 1, FIRST, FIRST + 1, MIB, MIB + 1, FIRST + SEG - 16, 3 * MIB + 12345],
    ids=[
        "empty",
        "1-byte",
        "first-segment-minus-1",
        "exactly-first-segment",
        "first-segment-plus-1",
        "1-MiB",
        "1-MiB-plus-1",
        "exactly-two-segments",
        "multi-MiB",
    ],
)
def test_round_trip_through_disclosure(
    tmp_path: Path, holder: RecipientKeys, arbitrator: RecipientKeys, size: int
) -> None:
    data = pattern(size)
    sealed = seal_bytes(tmp_path, data, holder)
    assert sealed.size == size
    assert (
        inspect_container(sealed.ciphertext_path).plaintext_size(
            sealed.ciphertext_path.stat().st_size
        )
        == size
    )

    assert open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder) == data
    to_arbitrator = disclose(
        sealed.holder_wrapped_key,
        holder,
        arbitrator.public_document(),
        filing_id=sealed.filing_id,
        signing_key_id=pin(arbitrator),
    )
    assert to_arbitrator.suite == SUITE_HYBRID
    assert to_arbitrator.recipient_key_id == arbitrator.key_id
    assert open_to(tmp_path, sealed, to_arbitrator, arbitrator) == data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.one_of(
        st.integers(0, 6 * SMALL),
        # Segment boundaries for 1 KiB segments: 968 bytes in the first, 1008 in each later one.
        st.sampled_from([SMALL - 56 + (SMALL - 16) * n for n in range(5)]).flatmap(
            lambda edge: st.integers(edge - 2, edge + 2)
        ),
    ),
    segment_size=st.sampled_from([SMALL, SMALL + 1, 4096]),
    chunking=st.integers(1, 5000),
)
def test_stream_round_trip_at_segment_boundaries(
    size: int, segment_size: int, chunking: int
) -> None:
    """Any size, any segment size, and a source that returns short reads of any length."""
    data = pattern(size, seed=size)
    key = os.urandom(32)
    sink = io.BytesIO()
    seen = bytearray()
    assert (
        stream.encrypt_stream(
            key,
            ShortReads(data, chunking),
            sink,
            b"aad",
            segment_size=segment_size,
            observe=seen.extend,
        )
        == size
    )
    assert bytes(seen) == data
    ciphertext = sink.getvalue()
    assert stream.plaintext_size(len(ciphertext), segment_size) == size
    out = io.BytesIO()
    assert (
        stream.decrypt_stream(
            key, ShortReads(ciphertext, chunking), out, b"aad", segment_size=segment_size
        )
        == size
    )
    assert out.getvalue() == data
    with pytest.raises(DecryptionError):
        stream.decrypt_stream(
            key, io.BytesIO(ciphertext), io.BytesIO(), b"other aad", segment_size=segment_size
        )


class ShortReads(io.RawIOBase):
    """A pipe-like source that never returns more than ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self._pos : self._pos + size]
        self._pos += len(chunk)
        return chunk


def test_seal_accepts_a_stream_and_small_segments(tmp_path: Path, holder: RecipientKeys) -> None:
    data = pattern(10 * SMALL + 3)
    sealed = seal_secret(
        io.BytesIO(data),
        tmp_path / "c",
        holder=holder.public_key(),
        filing_id="ts_stream",
        segment_size=SMALL,
    )
    assert inspect_container(sealed.ciphertext_path).segment_size == SMALL
    assert open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder) == data


def test_tink_ciphertexts_decrypt_with_our_stream_reader() -> None:
    """Vectors written by Google Tink itself (see make_tink_vectors.py): our framing is Tink's."""
    vectors = json.loads((ASSETS / "tink-vectors.json").read_text())["vectors"]
    assert len(vectors) >= 8
    for v in vectors:
        ciphertext = bytes.fromhex(v["ciphertext"])
        out = io.BytesIO()
        stream.decrypt_stream(
            bytes.fromhex(v["key"]),
            io.BytesIO(ciphertext),
            out,
            bytes.fromhex(v["aad"]),
            segment_size=v["segment_size"],
        )
        assert out.getvalue() == bytes.fromhex(v["plaintext"])
        assert stream.plaintext_size(len(ciphertext), v["segment_size"]) == len(out.getvalue())


def test_tink_decrypts_what_we_encrypt() -> None:
    tink = pytest.importorskip("tink", reason="tink is not a dependency; see make_tink_vectors.py")
    sys.path.insert(0, str(ASSETS))
    try:
        from make_tink_vectors import streaming_primitive
    finally:
        sys.path.remove(str(ASSETS))
    tink.streaming_aead.register()
    for size in (0, 1, 968, 969, 1976, 5000):
        key, data = os.urandom(32), pattern(size)
        sink = io.BytesIO()
        stream.encrypt_stream(key, io.BytesIO(data), sink, b"ad", segment_size=1024)
        with streaming_primitive(key, 1024).new_decrypting_stream(
            io.BytesIO(sink.getvalue()), b"ad"
        ) as dec:
            assert dec.read() == data


# ----------------------------------------------------------------- who can open what --


def test_disclosure_to_one_recipient_does_not_open_for_another(
    tmp_path: Path, holder: RecipientKeys, arbitrator: RecipientKeys, notary: RecipientKeys
) -> None:
    sealed = seal_bytes(tmp_path, b"formula", holder)
    to_arbitrator = disclose(
        sealed.holder_wrapped_key,
        holder,
        arbitrator.public_document(),
        filing_id=sealed.filing_id,
        signing_key_id=pin(arbitrator),
    )

    with pytest.raises(DecryptionError, match="made for recipient key"):
        open_to(tmp_path, sealed, to_arbitrator, notary)
    with pytest.raises(DecryptionError, match="made for recipient key"):
        open_to(tmp_path, sealed, to_arbitrator, holder)
    # Relabelling the wrapped key with the notary's id does not help: HPKE fails.
    relabelled = replace(to_arbitrator, recipient_key_id=notary.key_id)
    with pytest.raises(DecryptionError, match="failed authentication"):
        open_to(tmp_path, sealed, relabelled, notary)
    assert not (tmp_path / "opened.bin").exists()


def test_a_wrapped_key_opens_only_its_own_filing(tmp_path: Path, holder: RecipientKeys) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = seal_bytes(tmp_path / "one", b"secret one", holder, filing_id="ts_first")
    second = seal_bytes(tmp_path / "two", b"secret two", holder, filing_id="ts_second")

    with pytest.raises(DecryptionError, match="for filing 'ts_first', not 'ts_second'"):
        open_to(tmp_path, second, first.holder_wrapped_key, holder)
    relabelled = replace(first.holder_wrapped_key, filing_id="ts_second")
    with pytest.raises(DecryptionError, match="failed authentication"):
        open_to(tmp_path, second, relabelled, holder)
    with pytest.raises(DecryptionError, match="for filing 'ts_first', not 'ts_second'"):
        disclose(
            first.holder_wrapped_key,
            holder,
            holder.public_document(),
            filing_id="ts_second",
            signing_key_id=pin(holder),
        )
    # The container of filing one presented as filing two is refused from its header.
    with pytest.raises(DecryptionError, match="belongs to filing 'ts_first'"):
        open_to(tmp_path, second, second.holder_wrapped_key, holder, source=first.ciphertext_path)


def test_wrong_filing_id_is_refused(tmp_path: Path, holder: RecipientKeys) -> None:
    sealed = seal_bytes(tmp_path, b"x" * 100, holder)
    with pytest.raises(DecryptionError, match="not 'ts_other'"):
        open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder, filing_id="ts_other")


def test_classic_x25519_only_when_the_holder_allows_it(
    tmp_path: Path, holder: RecipientKeys
) -> None:
    """wrap_data_key never falls back on its own: a recipient without an ML-KEM-768 key gets a
    classic wrap only if the holder says so."""
    classic = RecipientKeys.generate(post_quantum=False)
    assert "hpke_mlkem768x25519" not in classic.public_document()["encryption_key"]
    sealed = seal_bytes(tmp_path, MARKER * 1000, holder)
    with pytest.raises(VerificationError, match="no post-quantum") as info:
        disclose(
            sealed.holder_wrapped_key,
            holder,
            classic.public_document(),
            filing_id=sealed.filing_id,
            signing_key_id=pin(classic),
        )
    assert info.value.step == RECIPIENT_KEY_STEP
    with pytest.raises(VerificationError, match="no post-quantum"):
        wrap_data_key(KeyMaterial.generate(), classic.public_key(), filing_id="ts_x")
    wrapped = disclose(
        sealed.holder_wrapped_key,
        holder,
        classic.public_document(),
        filing_id=sealed.filing_id,
        signing_key_id=pin(classic),
        allow_classic=True,
    )
    assert wrapped.suite == SUITE_X25519
    assert len(wrapped.to_bytes()) < 600  # no 1120-byte hybrid encapsulation
    assert open_to(tmp_path, sealed, wrapped, classic) == MARKER * 1000
    # Filing to oneself with classic-only keys needs the same consent, and leaves nothing behind.
    (tmp_path / "own").mkdir()
    with pytest.raises(VerificationError, match="no post-quantum"):
        seal_bytes(tmp_path / "own", b"x", classic)
    assert not (tmp_path / "own" / "secret.ipnts").exists()


def test_stripping_the_hybrid_key_from_a_document_is_detected(arbitrator: RecipientKeys) -> None:
    """The operator cannot silently downgrade a recipient to classic X25519: the stripped
    document no longer carries the recipient's signature."""
    doc = arbitrator.public_document()
    inner = {
        k: v for k, v in doc["encryption_key"].items() if k not in ("hpke_mlkem768x25519", "key_id")
    }
    inner["key_id"] = hashlib.sha256(canonical_json(inner)).hexdigest()
    with pytest.raises(VerificationError, match="signature does not verify"):
        verify_recipient_document({**doc, "encryption_key": inner}, signing_key_id=pin(arbitrator))


def test_wrap_data_key_takes_no_unverified_document(arbitrator: RecipientKeys) -> None:
    with pytest.raises(TypeError, match="verify_recipient_document"):
        wrap_data_key(
            KeyMaterial.generate(),
            arbitrator.public_document(),  # type: ignore[arg-type]
            filing_id="ts_x",
        )


def key_document_cases() -> list[str]:
    return sorted(json.loads((KEY_DOCS / "manifest.json").read_text())["cases"])


@pytest.mark.parametrize("case", key_document_cases())
def test_a_served_key_document_is_used_only_if_the_pinned_key_signed_it(
    tmp_path: Path, holder: RecipientKeys, case: str
) -> None:
    """What a malicious operator could serve in place of the recipient's document, one file per
    attack (tests/assets/trade_secret/key-documents/)."""
    manifest = json.loads((KEY_DOCS / "manifest.json").read_text())
    expected = manifest["cases"][case]
    doc = json.loads((KEY_DOCS / f"{case}.json").read_text())
    sealed = seal_bytes(tmp_path, b"formula", holder)
    if expected["raises"] is None:
        key = verify_recipient_document(doc, signing_key_id=manifest["signing_key_id"])
        assert key.signing_key_id == manifest["signing_key_id"]
        wrapped = disclose(
            sealed.holder_wrapped_key,
            holder,
            doc,
            filing_id=sealed.filing_id,
            signing_key_id=manifest["signing_key_id"],
            allow_classic=True,
        )
        assert wrapped.recipient_key_id == key.key_id
        return
    error = {"VerificationError": VerificationError, "FormatError": FormatError}[expected["raises"]]
    with pytest.raises(error, match=expected["message"]) as info:
        disclose(
            sealed.holder_wrapped_key,
            holder,
            doc,
            filing_id=sealed.filing_id,
            signing_key_id=manifest["signing_key_id"],
            allow_classic=True,
        )
    if isinstance(info.value, VerificationError):
        assert info.value.step == RECIPIENT_KEY_STEP
    # The service's own check (no pin) refuses the same forgeries of the signature.
    if expected["message"] == "signature does not verify":
        with pytest.raises(VerificationError):
            check_recipient_document(doc)


def test_a_pin_is_a_signing_key_id(arbitrator: RecipientKeys) -> None:
    doc = arbitrator.public_document()
    for bad in ("", arbitrator.key_id.upper(), "prn_123"):
        with pytest.raises(FormatError, match="64 lowercase hex"):
            verify_recipient_document(doc, signing_key_id=bad)
    # The encryption key id is not a pin: only the signing key vouches for a document.
    with pytest.raises(VerificationError, match="not by"):
        verify_recipient_document(doc, signing_key_id=arbitrator.key_id)


class FakeService:
    """Serves the holder's wrapped key and whatever key document the operator chooses."""

    def __init__(self, own: WrappedKey, served: dict[str, Any]) -> None:
        self.own, self.served = own, served
        self.document_fetches = 0
        self.posted: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/encryption-key"):
            self.document_fetches += 1
            return httpx.Response(200, json=self.served)
        if request.url.path.endswith("/key"):
            return httpx.Response(200, content=self.own.to_bytes())
        self.posted.append(json.loads(request.content))
        return httpx.Response(503, json={"code": "stop_here", "title": "stop", "detail": "stop"})


def test_the_client_fetches_the_key_document_once_and_sends_nothing_for_a_substitute(
    tmp_path: Path, holder: RecipientKeys, arbitrator: RecipientKeys
) -> None:
    sealed = seal_bytes(tmp_path, b"formula", holder)
    operator = RecipientKeys.generate()
    fake = FakeService(sealed.holder_wrapped_key, operator.public_document())
    with NotaryClient("http://notary.test", "k", transport=httpx.MockTransport(fake)) as client:
        with pytest.raises(VerificationError, match="not by"):
            client.disclose_trade_secret(
                sealed.filing_id, holder, "prn_arb", signing_key_id=pin(arbitrator)
            )
        assert fake.document_fetches == 1 and fake.posted == []

        fake.served, fake.document_fetches = arbitrator.public_document(), 0
        with pytest.raises(APIError):  # the fake stops at the POST; what was posted is checked
            client.disclose_trade_secret(
                sealed.filing_id, holder, "prn_arb", signing_key_id=pin(arbitrator)
            )
    assert fake.document_fetches == 1
    wrapped = WrappedKey.from_json(fake.posted[0]["wrapped_key"])
    assert wrapped.recipient_key_id == arbitrator.key_id and wrapped.suite == SUITE_HYBRID
    assert open_to(tmp_path, sealed, wrapped, arbitrator) == b"formula"


def test_key_files_made_before_signed_documents_keep_opening_their_filings(tmp_path: Path) -> None:
    """recipient-keys.json is a first-version key file (no signing key); upgrading it keeps the
    key id, so the filing wrapped to it still opens, and the upgraded file can sign."""
    manifest = json.loads((ASSETS / "manifest.json").read_text())
    old = RecipientKeys.load(ASSETS / "recipient-keys.json")
    assert old.signing_key_id is None
    with pytest.raises(FormatError, match="notary keys upgrade"):
        old.public_document()
    old.with_signing_key().save(tmp_path / "upgraded.json")
    upgraded = RecipientKeys.load(tmp_path / "upgraded.json")
    assert upgraded.key_id == old.key_id and upgraded.signing_key_id is not None
    opened = open_secret(
        ASSETS / "valid.bin",
        WrappedKey.from_json(manifest["wrapped_key"]),
        upgraded,
        tmp_path / "out",
        filing_id=manifest["filing_id"],
        commitment=manifest["commitment"],
    )
    assert opened.size == manifest["plaintext_size"]
    assert (
        verify_recipient_document(
            upgraded.public_document(), signing_key_id=upgraded.signing_key_id
        ).key_id
        == old.key_id
    )
    with pytest.raises(ValueError, match="already have a signing key"):
        upgraded.with_signing_key()


def test_hybrid_wrapped_key_needs_the_hybrid_private_key(arbitrator: RecipientKeys) -> None:
    wrapped = wrap_data_key(KeyMaterial.generate(), arbitrator.public_key(), filing_id="ts_x")
    classic_only = RecipientKeys(x25519=arbitrator.x25519)
    forged = replace(wrapped, recipient_key_id=classic_only.key_id)
    with pytest.raises(DecryptionError, match="hybrid key"):
        unwrap_data_key(forged, classic_only, filing_id="ts_x")


# ------------------------------------------------------------------------------- tampering --


def hostile_cases() -> list[str]:
    return sorted(json.loads((ASSETS / "manifest.json").read_text())["cases"])


@pytest.mark.parametrize("attack", hostile_cases())
def test_hostile_container_is_refused(tmp_path: Path, attack: str) -> None:
    manifest = json.loads((ASSETS / "manifest.json").read_text())
    keys = RecipientKeys.load(ASSETS / "recipient-keys.json")
    wrapped = WrappedKey.from_json(manifest["wrapped_key"])
    out = tmp_path / "opened.bin"
    with pytest.raises(DecryptionError, match=manifest["cases"][attack]):
        open_secret(
            ASSETS / f"{attack}.bin",
            wrapped,
            keys,
            out,
            filing_id=manifest["filing_id"],
            commitment=manifest["commitment"],
        )
    assert list(tmp_path.iterdir()) == [], "no plaintext, partial or whole, may be left behind"


def test_the_untampered_asset_opens(tmp_path: Path) -> None:
    manifest = json.loads((ASSETS / "manifest.json").read_text())
    keys = RecipientKeys.load(ASSETS / "recipient-keys.json")
    opened = open_secret(
        ASSETS / "valid.bin",
        WrappedKey.from_json(manifest["wrapped_key"]),
        keys,
        tmp_path / "out",
        filing_id=manifest["filing_id"],
        commitment=manifest["commitment"],
    )
    assert opened.size == manifest["plaintext_size"]
    assert b"TRADE-SECRET-MARKER" in opened.path.read_bytes()


@pytest.fixture(scope="module")
def small_container(
    tmp_path_factory: pytest.TempPathFactory, holder: RecipientKeys
) -> tuple[SealedSecret, bytes]:
    """Four 1 KiB segments, the last one short."""
    tmp = tmp_path_factory.mktemp("small")
    sealed = seal_bytes(tmp, pattern(3200), holder, segment_size=SMALL)
    return sealed, sealed.ciphertext_path.read_bytes()


def test_every_header_byte_is_protected(
    tmp_path: Path, holder: RecipientKeys, small_container: tuple[SealedSecret, bytes]
) -> None:
    """Flip each byte of the magic, JSON header and stream header: every flip is refused."""
    sealed, data = small_container
    header_end = len(inspect_container(sealed.ciphertext_path).header_bytes)
    for offset in range(header_end + stream.HEADER_SIZE):
        tampered = bytearray(data)
        tampered[offset] ^= 0x20
        with pytest.raises(DecryptionError):
            open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder, source=bytes(tampered))


def test_a_flipped_byte_in_each_segment_is_refused(
    tmp_path: Path, holder: RecipientKeys, small_container: tuple[SealedSecret, bytes]
) -> None:
    sealed, data = small_container
    start = len(inspect_container(sealed.ciphertext_path).header_bytes)
    # First byte, a middle byte and the last tag byte of every segment.
    boundaries = [start + stream.HEADER_SIZE, *range(start + SMALL, len(data), SMALL)]
    ends = [*boundaries[1:], len(data)]
    for index, (lo, hi) in enumerate(zip(boundaries, ends, strict=True)):
        for offset in (lo, (lo + hi) // 2, hi - 1):
            tampered = bytearray(data)
            tampered[offset] ^= 0x01
            where = "first segment" if index == 0 else f"segment {index}"
            with pytest.raises(DecryptionError, match=f"{where} failed authentication"):
                open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder, source=bytes(tampered))
    assert not (tmp_path / "opened.bin").exists()


def test_cut_and_extended_streams_are_named(tmp_path: Path, holder: RecipientKeys) -> None:
    """A container whose final segment is full: cutting it or appending to it is reported so."""
    sealed = seal_bytes(
        tmp_path, pattern((SMALL - 56) + 2 * (SMALL - 16)), holder, segment_size=SMALL
    )
    data = sealed.ciphertext_path.read_bytes()
    assert (len(data) - len(inspect_container(sealed.ciphertext_path).header_bytes)) % SMALL == 0
    with pytest.raises(DecryptionError, match="appended after the final segment"):
        open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder, source=data + b"junk")
    with pytest.raises(DecryptionError, match="truncated: it ends after segment 1"):
        open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder, source=data[:-SMALL])


def test_a_tampered_wrapped_key_is_refused(tmp_path: Path, holder: RecipientKeys) -> None:
    sealed = seal_bytes(tmp_path, b"abc", holder)
    wrapped = sealed.holder_wrapped_key
    for offset in (0, 500, len(wrapped.sealed) - 1):
        sealed_bytes = bytearray(wrapped.sealed)
        sealed_bytes[offset] ^= 0x80
        with pytest.raises(DecryptionError, match="failed authentication"):
            open_to(tmp_path, sealed, replace(wrapped, sealed=bytes(sealed_bytes)), holder)


# ------------------------------------------------------------------------------ commitment --


def test_the_commitment_hides_the_plaintext_and_its_digest(
    tmp_path: Path, holder: RecipientKeys
) -> None:
    data = b"guessable secret: the recipe is flour"
    sealed = seal_bytes(tmp_path, data, holder)
    digest = hashlib.sha256(data).digest()
    assert sealed.commitment not in {
        hashlib.sha256(data).hexdigest(),
        hashlib.sha256(digest).hexdigest(),
        hashlib.sha256(digest.hex().encode()).hexdigest(),
    }
    again = seal_bytes(tmp_path, data, holder)
    assert again.commitment != sealed.commitment  # salted: equal secrets are not linkable

    material = unwrap_data_key(sealed.holder_wrapped_key, holder, filing_id=sealed.filing_id)
    verify_commitment(digest, material.commitment_salt, sealed.commitment)
    assert compute_commitment(digest, material.commitment_salt) == sealed.commitment


def test_the_holder_cannot_open_the_commitment_to_another_plaintext(
    tmp_path: Path, holder: RecipientKeys, arbitrator: RecipientKeys
) -> None:
    """A holder who later wants the arbitrator to accept different contents under the anchored
    commitment must forge a new container and key; the commitment check catches it."""
    original = seal_bytes(tmp_path, b"the real formula", holder, filing_id="ts_dispute")
    salt = unwrap_data_key(
        original.holder_wrapped_key, holder, filing_id="ts_dispute"
    ).commitment_salt
    with pytest.raises(VerificationError, match="do not open"):
        verify_commitment(hashlib.sha256(b"a better formula").digest(), salt, original.commitment)

    forged_dir = tmp_path / "forged"
    forged_dir.mkdir()
    forged = seal_bytes(forged_dir, b"a better formula", holder, filing_id="ts_dispute")
    forged_material = unwrap_data_key(forged.holder_wrapped_key, holder, filing_id="ts_dispute")
    # Even reusing the original salt does not help.
    to_arbitrator = wrap_data_key(
        KeyMaterial(data_key=forged_material.data_key, commitment_salt=salt),
        arbitrator.public_key(),
        filing_id="ts_dispute",
    )
    with pytest.raises(DecryptionError, match="does not match the filed commitment"):
        open_to(tmp_path, original, to_arbitrator, arbitrator, source=forged.ciphertext_path)
    assert not (tmp_path / "opened.bin").exists()


def test_a_wrong_commitment_leaves_no_plaintext(tmp_path: Path, holder: RecipientKeys) -> None:
    sealed = seal_bytes(tmp_path, MARKER, holder)
    with pytest.raises(DecryptionError, match="does not match the filed commitment"):
        open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder, commitment="0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.bin", "secret.ipnts"]
    with pytest.raises(FormatError):
        open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder, commitment="XYZ")


# --------------------------------------------------------------------- what leaves the machine --


def test_nothing_sent_to_the_service_contains_the_plaintext_or_its_digest(
    tmp_path: Path, holder: RecipientKeys
) -> None:
    data = b"prefix " + MARKER + b" suffix" + pattern(2 * MIB) + MARKER
    sealed = seal_bytes(tmp_path, data, holder)
    material = unwrap_data_key(sealed.holder_wrapped_key, holder, filing_id=sealed.filing_id)
    digest = hashlib.sha256(data).digest()
    uploaded = [
        sealed.ciphertext_path.read_bytes(),
        sealed.holder_wrapped_key.to_bytes(),
        sealed.commitment.encode(),
        canonical_json(holder.public_document()),
    ]
    forbidden = [
        MARKER,
        digest,
        digest.hex().encode(),
        material.data_key,
        material.commitment_salt,
        material.commitment_salt.hex().encode(),
    ]
    for blob in uploaded:
        for needle in forbidden:
            assert needle not in blob
    assert digest.hex() not in repr(sealed) and material.data_key.hex() not in repr(material)


def test_opened_and_sealed_files_are_private_to_the_user(
    tmp_path: Path, holder: RecipientKeys
) -> None:
    sealed = seal_bytes(tmp_path, MARKER, holder)
    open_to(tmp_path, sealed, sealed.holder_wrapped_key, holder)
    assert stat.S_IMODE((tmp_path / "opened.bin").stat().st_mode) == 0o600


# ---------------------------------------------------------------------- documents and keys --


def test_wrapped_key_json_round_trip_and_limits(holder: RecipientKeys) -> None:
    wrapped = wrap_data_key(KeyMaterial.generate(), holder.public_key(), filing_id="ts_j")
    assert WrappedKey.from_bytes(wrapped.to_bytes()) == wrapped
    assert WrappedKey.from_json(json.loads(wrapped.to_bytes())) == wrapped
    doc = wrapped.to_json()
    with pytest.raises(FormatError, match="unknown fields"):
        WrappedKey.from_json({**doc, "plaintext_sha256": "00"})
    with pytest.raises(FormatError, match="must be"):
        WrappedKey.from_json({**doc, "sealed": doc["sealed"][:-8]})
    with pytest.raises(FormatError, match="unknown suite"):
        WrappedKey.from_json({**doc, "suite": "hpke-base/p256"})
    with pytest.raises(FormatError, match="filing id"):
        WrappedKey.from_json({**doc, "filing_id": "../../etc/passwd"})
    with pytest.raises(FormatError, match="limit"):
        WrappedKey.from_bytes(b" " * 9000)


def test_public_document_is_validated(arbitrator: RecipientKeys) -> None:
    doc = arbitrator.public_document()
    inner = doc["encryption_key"]
    assert inner["key_id"] == arbitrator.key_id
    assert len(inner["key_id"]) == 64
    assert check_recipient_document(doc).signing_key_id == arbitrator.signing_key_id

    def signed(encryption_key: dict[str, Any]) -> dict[str, Any]:
        """Re-signed by the arbitrator: what the signature cannot vouch for is still checked."""
        assert arbitrator.signing is not None
        unsigned = {**doc, "encryption_key": encryption_key}
        unsigned.pop("signature")
        return {**unsigned, "signature": sign_document(arbitrator.signing, unsigned)}

    def check(encryption_key: dict[str, Any]) -> None:
        verify_recipient_document(signed(encryption_key), signing_key_id=pin(arbitrator))

    with pytest.raises(FormatError, match="unknown fields"):
        check({**inner, "rsa": "x"})
    with pytest.raises(FormatError, match=r"media_type|not a trade-secret"):
        check({**inner, "media_type": "x"})
    short = {k: v for k, v in inner.items() if k != "key_id"}
    short["x25519"] = short["x25519"][:-3]  # 30 bytes
    short["key_id"] = hashlib.sha256(canonical_json(short)).hexdigest()
    with pytest.raises(FormatError, match="32 bytes"):
        check(short)
    low_order = {"media_type": inner["media_type"], "x25519": "A" * 43}  # the all-zero point
    low_order["key_id"] = hashlib.sha256(canonical_json(low_order)).hexdigest()
    key = verify_recipient_document(signed(low_order), signing_key_id=pin(arbitrator))
    with pytest.raises(FormatError, match="not usable"):
        wrap_data_key(KeyMaterial.generate(), key, filing_id="ts_x", allow_classic=True)


def test_private_key_file_round_trip(tmp_path: Path, arbitrator: RecipientKeys) -> None:
    arbitrator.save(tmp_path / "plain.json")
    loaded = RecipientKeys.load(tmp_path / "plain.json")
    assert loaded.key_id == arbitrator.key_id
    assert loaded.signing_key_id == arbitrator.signing_key_id
    assert loaded.public_document() == arbitrator.public_document()  # Ed25519 is deterministic
    assert stat.S_IMODE((tmp_path / "plain.json").stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        arbitrator.save(tmp_path / "plain.json")
    # A signing key that does not match the file's signing_key_id is refused.
    doc = json.loads((tmp_path / "plain.json").read_text())
    with pytest.raises(FormatError, match="signing key does not match"):
        RecipientKeys.from_private_document({**doc, "signing_key_id": "0" * 64})

    arbitrator.save(tmp_path / "locked.json", password="correct horse", scrypt_n=1 << 14)
    text = (tmp_path / "locked.json").read_text()
    assert arbitrator.private_document()["x25519"] not in text
    assert (
        RecipientKeys.load(tmp_path / "locked.json", password="correct horse").key_id
        == arbitrator.key_id
    )
    with pytest.raises(DecryptionError, match="wrong password"):
        RecipientKeys.load(tmp_path / "locked.json", password="wrong horse")
    with pytest.raises(DecryptionError, match="password-protected"):
        RecipientKeys.load(tmp_path / "locked.json")
    # The KDF parameters are authenticated: weakening them breaks the file.
    doc = json.loads(text)
    doc["kdf"]["n"] = 1 << 15
    with pytest.raises(DecryptionError, match="wrong password"):
        RecipientKeys.from_private_document(doc, password="correct horse")
    doc["kdf"]["n"] = 1 << 30
    with pytest.raises(FormatError, match="out-of-range"):
        RecipientKeys.from_private_document(doc, password="correct horse")


def test_private_key_for_a_classic_only_recipient(tmp_path: Path) -> None:
    classic = RecipientKeys.generate(post_quantum=False)
    classic.save(tmp_path / "k.json")
    loaded = RecipientKeys.load(tmp_path / "k.json")
    assert loaded.key_id == classic.key_id and not loaded.has_hybrid


def test_filing_ids(holder: RecipientKeys, tmp_path: Path) -> None:
    fid = new_filing_id()
    assert fid.startswith("ts_") and len(fid) == 35 and fid != new_filing_id()
    for bad in ("", "x" * 129, "ts/1", "ts 1", "-ts", "ts_\u00e9"):
        with pytest.raises(FormatError):
            seal_secret(io.BytesIO(b""), tmp_path / "c", holder=holder.public_key(), filing_id=bad)
    assert not (tmp_path / "c").exists()


def test_container_starts_with_its_magic(tmp_path: Path, holder: RecipientKeys) -> None:
    sealed = seal_bytes(tmp_path, b"", holder)
    data = sealed.ciphertext_path.read_bytes()
    assert data.startswith(CONTAINER_MAGIC + b"\x01")
    header = json.loads(inspect_container(sealed.ciphertext_path).header_bytes[11:])
    assert set(header) == {"media_type", "filing_id", "stream", "segment_size"}
