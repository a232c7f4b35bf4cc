"""Offline inclusion proofs in the C2SP ``tlog-proof@v1`` text format, and spicy's older bundle.

A proof says "entry ``index`` is in the tree this signed (and cosigned) checkpoint commits to"::

    c2sp.org/tlog-proof@v1
    extra <base64 opaque data>            (optional, not authenticated)
    index <decimal>
    <base64 hash>                          (RFC 9162 audit path, leaf-side sibling first; 0..63)
    ...
    <blank line>
    <the checkpoint note, verbatim, with the log's signature and witnesses' cosignatures>

Start with :func:`format_tlog_proof` and :func:`parse_tlog_proof`. :func:`format_spicy_bundle`
writes the same content in the form torchwood's ``spicy -verify`` v0.6.1 reads from ``FILE.spicy``
(no header line, no extra line; it starts at ``index``), so an independent program can check our
proofs.

Parsing checks the structure, the checkpoint note and that the index is inside the tree; it does not
check signatures (that needs the verifier's trust policy) and it does not trust the ``extra`` data.
:meth:`TlogProof.proves_inclusion_of` recomputes the root from a leaf hash.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.merkle import HASH_SIZE, MAX_PROOF_LENGTH, root_from_inclusion_proof
from ipnotary.sdk.note import MAX_NOTE_BYTES, Checkpoint, Note, parse_note

__all__ = [
    "MAX_EXTRA_BYTES",
    "MAX_TLOG_PROOF_BYTES",
    "TLOG_PROOF_HEADER",
    "TlogProof",
    "format_spicy_bundle",
    "format_tlog_proof",
    "parse_spicy_bundle",
    "parse_tlog_proof",
]

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
_INDEX_LINE = re.compile(r"index (0|[1-9][0-9]{0,18})")
# The spec sets no limit on the opaque extra data; ours keeps a proof file small enough to read
# whole, to prevent DoS.
MAX_EXTRA_BYTES = 16 * 1024
MAX_TLOG_PROOF_BYTES = (
    MAX_NOTE_BYTES + 4 * MAX_EXTRA_BYTES // 3 + (MAX_PROOF_LENGTH + 8) * 64 + 1024
)


@dataclass(frozen=True)
class TlogProof:
    """A parsed proof: the entry's index, its audit path, and the checkpoint note that commits."""

    index: int
    inclusion_proof: tuple[bytes, ...]
    note: Note
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise FormatError("a proof's index is a non-negative integer")
        if len(self.inclusion_proof) > MAX_PROOF_LENGTH:
            raise FormatError(f"an inclusion proof has at most {MAX_PROOF_LENGTH} hashes")
        if any(not isinstance(h, bytes) or len(h) != HASH_SIZE for h in self.inclusion_proof):
            raise FormatError(f"every inclusion proof hash is {HASH_SIZE} bytes")
        if self.extra is not None and (
            not isinstance(self.extra, bytes) or len(self.extra) > MAX_EXTRA_BYTES
        ):
            raise FormatError(f"the extra data is at most {MAX_EXTRA_BYTES} bytes")
        if self.index >= self.checkpoint.size:
            raise FormatError(
                f"index {self.index} is outside the checkpoint's tree of {self.checkpoint.size}"
            )

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint.parse(self.note.text)

    def format(self) -> str:
        """The ``tlog-proof@v1`` text."""
        header = TLOG_PROOF_HEADER + "\n"
        if self.extra is not None:
            header += f"extra {base64.b64encode(self.extra).decode('ascii')}\n"
        return header + _body(self.index, self.inclusion_proof, self.note)

    def proves_inclusion_of(self, leaf_hash: bytes) -> bool:
        """Whether the audit path leads from ``leaf_hash`` at ``index`` to the checkpoint's root.

        Only the Merkle arithmetic: who signed the checkpoint is the caller's trust policy.
        """
        checkpoint = self.checkpoint
        try:
            root = root_from_inclusion_proof(
                leaf_hash, self.index, checkpoint.size, self.inclusion_proof
            )
        except ValueError:
            return False
        return root == checkpoint.root


def _body(index: int, proof: Sequence[bytes], note: Note) -> str:
    hashes = "".join(base64.b64encode(h).decode("ascii") + "\n" for h in proof)
    return f"index {index}\n{hashes}\n{note.format()}"


def _checked_note(checkpoint_note: str | Note) -> Note:
    note = checkpoint_note if isinstance(checkpoint_note, Note) else parse_note(checkpoint_note)
    Checkpoint.parse(note.text)  # a proof's note must be a checkpoint
    return note


def format_tlog_proof(
    index: int,
    inclusion_proof: Sequence[bytes],
    checkpoint_note: str | Note,
    extra: bytes | None = None,
) -> str:
    """Write a ``c2sp.org/tlog-proof@v1`` proof; ``checkpoint_note`` is the signed checkpoint
    (text or :class:`Note`) with whatever cosignatures it carries. Raises ``FormatError``."""
    note = _checked_note(checkpoint_note)
    return TlogProof(index, tuple(inclusion_proof), note, extra).format()


def format_spicy_bundle(
    index: int, inclusion_proof: Sequence[bytes], checkpoint_note: str | Note
) -> str:
    """Write the ``FILE.spicy`` bundle that torchwood's ``spicy -verify`` (v0.6.1) reads next to
    ``FILE``: ``index N``, the audit path in base64 one hash a line, a blank line, the checkpoint
    note. spicy hashes ``FILE``'s bytes as the leaf (``SHA-256(0x00 || bytes)``) and needs the
    log key's name to equal the checkpoint origin."""
    note = _checked_note(checkpoint_note)
    proof = TlogProof(index, tuple(inclusion_proof), note)
    return _body(proof.index, proof.inclusion_proof, proof.note)


def _decode_hash(line: str, number: int) -> bytes:
    try:
        raw = base64.b64decode(line.encode("ascii"), validate=True)
    except (UnicodeEncodeError, ValueError) as exc:
        raise FormatError(f"proof line {number} is not a base64 hash: {exc}") from exc
    if len(raw) != HASH_SIZE or base64.b64encode(raw).decode("ascii") != line:
        raise FormatError(f"proof line {number} is not the canonical base64 of a 32-byte hash")
    return raw


def _parse_index(line: str) -> int:
    match = _INDEX_LINE.fullmatch(line)
    if not match:
        raise FormatError(f"expected 'index <decimal without leading zeroes>', got {line[:40]!r}")
    value = int(match.group(1))
    if value >= 1 << 63:
        raise FormatError("the index is over 2**63-1")
    return value


def _parse_body(lines: list[str], rest: str, extra: bytes | None) -> TlogProof:
    index = _parse_index(lines[0])
    hashes: list[bytes] = []
    for number, line in enumerate(lines[1:], start=2):
        if len(hashes) == MAX_PROOF_LENGTH:
            raise FormatError(f"an inclusion proof has at most {MAX_PROOF_LENGTH} hashes")
        hashes.append(_decode_hash(line, number))
    return TlogProof(index, tuple(hashes), _checked_note(rest), extra)


def _split_head(text: str) -> tuple[list[str], str]:
    """The lines before the first blank line, and everything after it (the checkpoint note)."""
    head, blank, rest = text.partition("\n\n")
    if not blank:
        raise FormatError("a proof needs a blank line between the audit path and the checkpoint")
    return head.split("\n"), rest


def _decode(data: str | bytes) -> str:
    if isinstance(data, bytes):
        if len(data) > MAX_TLOG_PROOF_BYTES:
            raise FormatError(f"a proof is at most {MAX_TLOG_PROOF_BYTES} bytes")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(f"a proof is not valid UTF-8: {exc}") from exc
    if not isinstance(data, str):
        raise FormatError("a proof is str or bytes")
    if len(data) > MAX_TLOG_PROOF_BYTES:
        raise FormatError(f"a proof is at most {MAX_TLOG_PROOF_BYTES} bytes")
    return data


def parse_tlog_proof(data: str | bytes) -> TlogProof:
    """Parse a ``c2sp.org/tlog-proof@v1`` proof. Raises ``FormatError``; checks no signature."""
    lines, rest = _split_head(_decode(data))
    if lines[0] != TLOG_PROOF_HEADER:
        raise FormatError(f"a tlog proof starts with the line {TLOG_PROOF_HEADER!r}")
    extra = None
    body = lines[1:]
    if body and body[0].startswith("extra "):
        encoded = body[0].removeprefix("extra ")
        try:
            extra = base64.b64decode(encoded.encode("ascii"), validate=True)
        except (UnicodeEncodeError, ValueError) as exc:
            raise FormatError(f"the extra line is not base64: {exc}") from exc
        if base64.b64encode(extra).decode("ascii") != encoded:
            raise FormatError("the extra line is not canonical base64")
        body = body[1:]
    if not body:
        raise FormatError("a tlog proof has an index line")
    return _parse_body(body, rest, extra)


def parse_spicy_bundle(data: str | bytes) -> TlogProof:
    """Parse a spicy v0.6.1 ``FILE.spicy`` bundle (``index N``, hashes, blank line, note)."""
    lines, rest = _split_head(_decode(data))
    return _parse_body(lines, rest, None)
