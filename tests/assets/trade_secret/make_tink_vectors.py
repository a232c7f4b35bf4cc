"""Regenerate ``tink-vectors.json`` with Google Tink itself (not with our code).

Run with a Python that has ``tink`` installed (it is not a project dependency)::

    python -m venv /tmp/tink && /tmp/tink/bin/pip install tink
    /tmp/tink/bin/python tests/assets/trade_secret/make_tink_vectors.py

Each vector is a random key, associated data and plaintext encrypted by Tink's
``AesGcmHkdfStreaming`` (HKDF-SHA256, 32-byte derived key; the parameters of
``AES256_GCM_HKDF_1MB`` with the segment size shown). The tests decrypt them with
:mod:`ipnotary.sdk.trade_secret.stream`, which proves our framing is Tink's byte for byte.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from tink import cleartext_keyset_handle, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

OUT = Path(__file__).resolve().parent / "tink-vectors.json"
# Sizes around the boundaries of 1 KiB segments: empty, one byte, a full first segment
# (1024 - 40 - 16 = 968), one more, two full segments, one more, and several segments.
CASES = [(1024, n) for n in (0, 1, 968, 969, 1976, 1977, 5000)] + [(1 << 20, 100)]


def streaming_primitive(key: bytes, segment_size: int) -> streaming_aead.StreamingAead:
    params = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
        ciphertext_segment_size=segment_size, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256
    )
    key_proto = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(
        version=0, key_value=key, params=params
    )
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
                    value=key_proto.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    return cleartext_keyset_handle.from_keyset(keyset).primitive(streaming_aead.StreamingAead)


class _KeepOnClose(io.BytesIO):
    """Tink closes the destination when the encrypting stream closes; keep what was written."""

    final = b""

    def close(self) -> None:
        self.final = self.getvalue()
        super().close()


def main() -> None:
    streaming_aead.register()
    vectors = []
    for segment_size, size in CASES:
        key, aad, plaintext = os.urandom(32), os.urandom(24), os.urandom(size)
        sink = _KeepOnClose()
        with streaming_primitive(key, segment_size).new_encrypting_stream(sink, aad) as enc:
            enc.write(plaintext)
        vectors.append(
            {
                "segment_size": segment_size,
                "key": key.hex(),
                "aad": aad.hex(),
                "plaintext": plaintext.hex(),
                "ciphertext": sink.final.hex(),
            }
        )
    OUT.write_text(
        json.dumps({"generator": "tink-py " + _tink_version(), "vectors": vectors}, indent=1) + "\n"
    )


def _tink_version() -> str:
    from importlib.metadata import version

    return version("tink")


if __name__ == "__main__":
    main()
