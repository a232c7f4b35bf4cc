"""Regenerate the hostile containers: ``python -m tests.assets.trade_secret.make_hostile``.

Writes ``recipient-keys.json`` (TEST-ONLY private keys, unencrypted on purpose), ``valid.bin`` (a
container of :data:`PLAINTEXT` in 1 KiB segments, so it has four), ``manifest.json`` (filing id,
commitment, the key wrapped to the test keys, and for each hostile file the phrase the
``DecryptionError`` must contain) and one ``<attack>.bin`` per attack, each derived from
``valid.bin``. Regenerating changes every byte (fresh keys, salts and nonces); the tests only need
the files to agree with each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ipnotary.sdk.canonical import canonical_json
from ipnotary.sdk.trade_secret import (
    CONTAINER_MAGIC,
    RecipientKeys,
    inspect_container,
    seal_secret,
    stream,
    unwrap_data_key,
)

HERE = Path(__file__).resolve().parent
FILING_ID = "ts_0123456789abcdef0123456789abcdef"
SEGMENT = 1024
# 3200 bytes: three full segments and a short fourth (968 + 1008 + 1008 + 216).
PLAINTEXT = b"TRADE-SECRET-MARKER " * 160


def _segments(container: bytes, prefix_len: int) -> tuple[bytes, list[bytes]]:
    """Split a container into (prefix + stream header, [segment 0, segment 1, ...])."""
    head_end = prefix_len + stream.HEADER_SIZE
    first_end = prefix_len + SEGMENT
    segments = [container[head_end:first_end]]
    for start in range(first_end, len(container), SEGMENT):
        segments.append(container[start : start + SEGMENT])
    return container[:head_end], segments


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]


def _with_header(valid: bytes, prefix_len: int, header: bytes) -> bytes:
    prefix = CONTAINER_MAGIC + b"\x01" + len(header).to_bytes(2, "big") + header
    return prefix + valid[prefix_len:]


def main() -> None:
    # Without a signing key, on purpose: a key file from before key documents were signed, so the
    # tests show that such files (and the filings wrapped to them) keep opening.
    fresh = RecipientKeys.generate()
    keys = RecipientKeys(
        x25519=fresh.x25519, mlkem768=fresh.mlkem768, hybrid_x25519=fresh.hybrid_x25519
    )
    (HERE / "recipient-keys.json").write_bytes(canonical_json(keys.private_document()))
    plain_path = HERE / "plaintext.tmp"
    plain_path.write_bytes(PLAINTEXT)
    try:
        sealed = seal_secret(
            plain_path,
            HERE / "valid.bin",
            holder=keys.public_key(),
            filing_id=FILING_ID,
            segment_size=SEGMENT,
        )
    finally:
        plain_path.unlink()
    valid = (HERE / "valid.bin").read_bytes()
    info = inspect_container(HERE / "valid.bin")
    plen = len(info.header_bytes)
    head, segs = _segments(valid, plen)
    assert len(segs) == 4 and len(segs[-1]) < SEGMENT, [len(s) for s in segs]
    header_json = json.loads(info.header_bytes[len(CONTAINER_MAGIC) + 3 :])

    def header(**changes: object) -> bytes:
        return canonical_json({**header_json, **changes})

    # An empty final segment after full ones, correctly encrypted: only a hostile encoder that
    # holds the key writes it, and the reader refuses it as non-canonical.
    material = unwrap_data_key(sealed.holder_wrapped_key, keys, filing_id=FILING_ID)
    salt = valid[plen + 1 : plen + 33]
    prefix7 = valid[plen + 33 : plen + 40]
    aead = AESGCM(stream._derive_key(material.data_key, salt, info.header_bytes))
    first, full = SEGMENT - stream.HEADER_SIZE - 16, SEGMENT - 16
    parts = [
        PLAINTEXT[:first],
        PLAINTEXT[first : first + full],
        PLAINTEXT[first + full : first + 2 * full],
    ]
    crafted = [aead.encrypt(stream._nonce(prefix7, i, False), p, None) for i, p in enumerate(parts)]
    crafted.append(aead.encrypt(stream._nonce(prefix7, 3, True), b"", None))

    cases: dict[str, tuple[bytes, str]] = {
        "bad-magic": (b"\x89PNG\r\n\x1a\n" + valid[8:], "wrong magic number"),
        "plaintext-not-a-container": (PLAINTEXT, "wrong magic number"),
        "empty-file": (b"", "wrong magic number"),
        "truncated-inside-magic": (valid[:5], "truncated"),
        "unknown-version": (valid[:8] + b"\x02" + valid[9:], "unsupported container version"),
        "header-oversized": (valid[:9] + b"\xff\xff" + valid[11:], "limit is 4096"),
        "truncated-inside-header": (valid[: plen - 5], "truncated inside its header"),
        "header-only": (valid[:plen], "truncated inside its stream header"),
        "header-duplicate-key": (
            _with_header(valid, plen, header()[:-1] + b',"stream":"x"}'),
            "twice",
        ),
        "header-not-canonical": (
            _with_header(valid, plen, header().replace(b",", b", ")),
            "canonical",
        ),
        "header-unknown-field": (_with_header(valid, plen, header(extra=1)), "unknown fields"),
        "header-segment-size-huge": (
            _with_header(valid, plen, header(segment_size=2**31)),
            "segment_size",
        ),
        "header-segment-size-relabelled": (
            _with_header(valid, plen, header(segment_size=2048)),
            "failed authentication",
        ),
        "header-other-filing-id": (
            _with_header(valid, plen, header(filing_id="ts_" + "f" * 32)),
            "belongs to filing",
        ),
        "stream-header-length-byte": (_flip(valid, plen), "stream header announces"),
        "stream-header-salt-flipped": (_flip(valid, plen + 5), "failed authentication"),
        "stream-header-nonce-prefix-flipped": (_flip(valid, plen + 36), "failed authentication"),
        "segment-0-byte-flipped": (_flip(valid, plen + 40 + 100), "first segment failed"),
        "segment-1-byte-flipped": (_flip(valid, plen + SEGMENT + 7), "segment 1 failed"),
        "segment-2-tag-flipped": (_flip(valid, plen + 3 * SEGMENT - 1), "segment 2 failed"),
        "segment-3-final-byte-flipped": (_flip(valid, len(valid) - 20), "segment 3 failed"),
        "swapped-segments-1-2": (head + segs[0] + segs[2] + segs[1] + segs[3], "segment 1 failed"),
        "duplicated-segment-1": (
            head + segs[0] + segs[1] + segs[1] + segs[2] + segs[3],
            "segment 2 failed",
        ),
        "truncated-final-segment": (valid[:-7], "segment 3 failed"),
        "final-segment-shorter-than-tag": (valid[: -len(segs[-1]) + 9], "truncated or padded"),
        "dropped-final-segment": (head + b"".join(segs[:3]), "truncated: it ends after segment 2"),
        "dropped-middle-segment": (head + segs[0] + segs[1] + segs[3], "segment 2 failed"),
        # The final segment is short, so appended bytes merge into it and break its tag.
        "appended-garbage": (valid + b"\x00" * 40, "segment 3 failed"),
        "appended-copy-of-final-segment": (valid + segs[3], "segment 3 failed"),
        "empty-final-segment": (head + b"".join(crafted), "truncated or padded"),
    }
    manifest: dict[str, Any] = {
        "filing_id": FILING_ID,
        "commitment": sealed.commitment,
        "plaintext_size": len(PLAINTEXT),
        "wrapped_key": sealed.holder_wrapped_key.to_json(),
        "cases": {},
    }
    for old in HERE.glob("*.bin"):
        if old.name != "valid.bin":
            old.unlink()
    for name, (data, expect) in sorted(cases.items()):
        (HERE / f"{name}.bin").write_bytes(data)
        manifest["cases"][name] = expect
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
