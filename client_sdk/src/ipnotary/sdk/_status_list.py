"""The bitstring of a W3C Bitstring Status List: ``encodedList`` is the GZIP of the bits as a
multibase base64url string (``u…``, no padding), index 0 being the left-most bit of the first byte.

Nothing here signs or trusts anything; ``ipnotary.sdk.vc`` wraps the list in a signed
``BitstringStatusListCredential``. A list arrives from the network, so decoding is bounded: the
compressed text, and what it inflates to (a few kilobytes of GZIP can inflate to gigabytes).
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Iterable

from ipnotary.sdk.errors import FormatError

__all__ = ["MAX_LIST_BITS", "MIN_LIST_BITS", "bit_is_set", "decode_list", "encode_list"]

# The specification's minimum (16 KiB): a list this long hides which entry a verifier asked about
# among many (its "herd privacy"); shorter lists are refused.
MIN_LIST_BITS = 131_072
# Far beyond any list we serve (1 MiB of bits): the bound on what a fetched list may inflate to.
MAX_LIST_BITS = 8 * 1024 * 1024
_MAX_ENCODED_CHARS = 2 * 1024 * 1024


def encode_list(set_indices: Iterable[int], *, size: int = MIN_LIST_BITS) -> str:
    """``encodedList`` of a list of ``size`` bits in which exactly ``set_indices`` are set.

    GZIP's header carries no time (``mtime=0``), so one list always encodes to the same text."""
    if size % 8 or not MIN_LIST_BITS <= size <= MAX_LIST_BITS:
        raise ValueError(
            f"a status list has a multiple of 8 bits, {MIN_LIST_BITS} to {MAX_LIST_BITS}"
        )
    bits = bytearray(size // 8)
    for index in set_indices:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside a list of {size} bits")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_list(encoded: str, *, max_bits: int = MAX_LIST_BITS) -> bytes:
    """The bits of ``encodedList`` (one byte per 8 entries); ``FormatError`` for anything that is
    not a GZIP-compressed multibase base64url list of at least :data:`MIN_LIST_BITS` bits."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise FormatError("encodedList must be a multibase base64url string (starting with 'u')")
    if len(encoded) > _MAX_ENCODED_CHARS:
        raise FormatError(f"encodedList is over {_MAX_ENCODED_CHARS} characters")
    text = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise FormatError(f"encodedList is not base64url: {exc}") from exc
    if base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii") != text:
        raise FormatError("encodedList is not the one base64url (unpadded) spelling of its bytes")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # GZIP framing only
    try:
        bits = inflater.decompress(compressed, max_bits // 8 + 1)
    except zlib.error as exc:
        raise FormatError(f"encodedList is not GZIP-compressed: {exc}") from exc
    if len(bits) * 8 > max_bits or inflater.unconsumed_tail:
        raise FormatError(f"encodedList inflates to more than {max_bits} bits")
    if not inflater.eof or inflater.unused_data:
        raise FormatError("encodedList is not one complete GZIP stream")
    if len(bits) * 8 < MIN_LIST_BITS:
        raise FormatError(
            f"the status list has {len(bits) * 8} entries; the specification's minimum is "
            f"{MIN_LIST_BITS}"
        )
    return bits


def bit_is_set(bits: bytes, index: int) -> bool:
    """Whether entry ``index`` is set (the left-most bit of the first byte is entry 0)."""
    if not 0 <= index < len(bits) * 8:
        raise FormatError(f"status index {index} is outside a list of {len(bits) * 8} entries")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
