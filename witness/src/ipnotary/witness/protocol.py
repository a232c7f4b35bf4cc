"""The c2sp.org/tlog-witness ``add-checkpoint`` decision, with no HTTP in it.

:meth:`Witness.add_checkpoint` takes a request body and returns the cosignature line, or raises a
:mod:`ipnotary.witness.errors` error whose ``status`` is the one the spec gives. The checks
run in the spec's order:

1. the body is an ``old N`` line, at most 63 base64 proof lines, a blank line and a checkpoint note
   (400; over :data:`MAX_REQUEST_BYTES` 413);
2. the origin is a log this witness follows (404);
3. the note carries a valid signature from a key trusted for that origin, and no invalid one (403);
4. old size <= checkpoint size (400);
5. atomically with storing the new tree (:meth:`WitnessState.advance`): old size is the size last
   cosigned (409 + that size), a same-size checkpoint has the same root (409), and the RFC 9162
   consistency proof from the stored tree verifies (422), checked by
   :func:`ipnotary.sdk.merkle.verify_consistency`;
6. cosign (``cosignature/v1``) with the witness's own clock, after the state is on disk.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey

from ipnotary.sdk.errors import FormatError
from ipnotary.sdk.merkle import HASH_SIZE, MAX_PROOF_LENGTH, verify_consistency
from ipnotary.sdk.note import (
    MAX_NOTE_BYTES,
    Checkpoint,
    CosignatureSigner,
    MlDsaCosignatureSigner,
    Note,
    NoteVerifier,
    parse_note,
)
from ipnotary.witness.errors import (
    ForkDetected,
    InconsistentProof,
    MalformedRequest,
    NotSignedByLog,
    RequestTooLarge,
    SizeConflict,
    WitnessSetupError,
)
from ipnotary.witness.keys import KEY_FILE, WitnessKey, load_key_file, write_key_file
from ipnotary.witness.state import STATE_FILE, WitnessState

__all__ = [
    "MAX_REQUEST_BYTES",
    "AddCheckpointRequest",
    "Witness",
    "check_extends",
    "init_witness",
    "open_witness",
    "parse_add_checkpoint",
]

# The note, plus 63 proof lines of 45 bytes and the old size line, to prevent DoS.
MAX_REQUEST_BYTES = MAX_NOTE_BYTES + 4096
_OLD_SIZE_LINE = re.compile(r"old (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: tuple[bytes, ...]
    note: Note
    checkpoint: Checkpoint


def _proof_hash(line: str, number: int) -> bytes:
    try:
        raw = base64.b64decode(line.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise MalformedRequest(f"proof line {number} is not base64") from exc
    if len(raw) != HASH_SIZE or base64.b64encode(raw).decode("ascii") != line:
        raise MalformedRequest(f"proof line {number} is not the base64 of a {HASH_SIZE}-byte hash")
    return raw


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Parse an ``add-checkpoint`` body; :class:`MalformedRequest` on anything the spec forbids."""
    if len(body) > MAX_REQUEST_BYTES:
        raise RequestTooLarge(f"a request is at most {MAX_REQUEST_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("the request is not UTF-8") from exc
    head, blank, note_text = text.partition("\n\n")
    if not blank:
        raise MalformedRequest("no blank line between the old size and proof and the checkpoint")
    old_line, *proof_lines = head.split("\n")
    match = _OLD_SIZE_LINE.fullmatch(old_line)
    if match is None:
        raise MalformedRequest("the first line must be 'old <size>' without leading zeroes")
    old_size = int(match.group(1))
    if old_size >= 1 << 63:
        raise MalformedRequest("the old size is over 2**63-1")
    if len(proof_lines) > MAX_PROOF_LENGTH:
        raise MalformedRequest(f"at most {MAX_PROOF_LENGTH} consistency proof lines")
    proof = tuple(_proof_hash(line, n) for n, line in enumerate(proof_lines, start=2))
    try:
        note = parse_note(note_text)
        checkpoint = Checkpoint.parse(note.text)
    except FormatError as exc:
        raise MalformedRequest(f"the checkpoint is malformed: {exc}") from exc
    return AddCheckpointRequest(old_size, proof, note, checkpoint)


def check_extends(
    stored_size: int,
    stored_root: bytes,
    old_size: int,
    checkpoint: Checkpoint,
    proof: Sequence[bytes],
) -> None:
    """Whether ``checkpoint`` extends the tree the witness holds; raises 409/422 errors if not."""
    if old_size != stored_size:
        raise SizeConflict(
            stored_size, f"old size {old_size} is not {stored_size}, the size last cosigned"
        )
    if checkpoint.size == stored_size and checkpoint.root != stored_root:
        raise ForkDetected(
            stored_size, f"a different tree of size {stored_size} was cosigned: the log forked"
        )
    try:
        verify_consistency(stored_size, checkpoint.size, stored_root, checkpoint.root, proof)
    except ValueError as exc:
        raise InconsistentProof(f"the consistency proof does not verify: {exc}") from exc


def _signed_by_log(note: Note, vkeys: Sequence[str]) -> bool:
    """At least one trusted key signed, and no line claiming a trusted key is forged."""
    verifiers = []
    for vkey in vkeys:
        try:
            verifiers.append(NoteVerifier.from_vkey(vkey))
        except FormatError as exc:  # add-log checks keys, so only a hand-edited state gets here
            raise WitnessSetupError(f"a stored log key is unusable: {exc}") from exc
    claimed = [v for v in verifiers if any(v.matches(s) for s in note.signatures)]
    return bool(claimed) and all(note.signed_by(v) for v in claimed)


class Witness:
    """A tlog-witness: a cosigning key, a clock, and durable state."""

    def __init__(
        self,
        signer: CosignatureSigner | MlDsaCosignatureSigner,
        state: WitnessState,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.state = state
        self.clock = clock

    @property
    def name(self) -> str:
        return self.signer.name

    @property
    def vkey(self) -> str:
        return self.signer.vkey()

    def add_log(self, origin: str, vkey: str) -> bool:
        """Follow the log ``origin`` signed by ``vkey`` (an Ed25519 note key, type 0x01)."""
        try:
            NoteVerifier.from_vkey(vkey)  # a log key: Ed25519, type 0x01, key id matching
            Checkpoint(origin, 0, bytes(HASH_SIZE))  # the origin must be a valid origin line
        except FormatError as exc:
            raise MalformedRequest(str(exc)) from exc
        return self.state.add_log(origin, vkey, now=int(self.clock()))

    def add_checkpoint(self, body: bytes) -> str:
        """Answer one ``add-checkpoint`` request: the cosignature line, or a WitnessError."""
        request = parse_add_checkpoint(body)
        checkpoint = request.checkpoint
        vkeys = self.state.log_keys(checkpoint.origin)  # UnknownLog: 404
        if not _signed_by_log(request.note, vkeys):
            raise NotSignedByLog(f"no valid signature from a key trusted for {checkpoint.origin!r}")
        if request.old_size > checkpoint.size:
            raise MalformedRequest(
                f"old size {request.old_size} is larger than the checkpoint size {checkpoint.size}"
            )

        def check(stored_size: int, stored_root: bytes) -> None:
            check_extends(stored_size, stored_root, request.old_size, checkpoint, request.proof)

        self.state.advance(
            checkpoint.origin,
            checkpoint.size,
            checkpoint.root,
            check,
            request=body,
            now=int(self.clock()),
        )
        # Timestamped after the commit: the cosignature never predates the state that backs it.
        return self.signer.cosign(request.note.text, int(self.clock())).line()


ALGORITHMS = ("ed25519", "ml-dsa-44")


def _signer(name: str, key: WitnessKey) -> CosignatureSigner | MlDsaCosignatureSigner:
    if isinstance(key, MLDSA44PrivateKey):
        return MlDsaCosignatureSigner(name, key)
    return CosignatureSigner(name, key)


def init_witness(directory: Path, name: str, *, algorithm: str = "ed25519") -> Witness:
    """Create a witness in ``directory`` (mode 0700): a new key (0600) and an empty state.

    ``algorithm`` is ``ed25519`` (``cosignature/v1``) or ``ml-dsa-44``, the post-quantum
    cosignature of tlog-cosignature, which a quantum computer cannot forge; logs' clients and
    verifiers must know it (this SDK and the verification page do)."""
    if algorithm not in ALGORITHMS:
        raise WitnessSetupError(f"algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    key: WitnessKey = (
        MLDSA44PrivateKey.generate() if algorithm == "ml-dsa-44" else Ed25519PrivateKey.generate()
    )
    try:
        signer = _signer(name, key)
    except FormatError as exc:
        raise WitnessSetupError(f"invalid witness name: {exc}") from exc
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for existing in (KEY_FILE, STATE_FILE):
        if (directory / existing).exists():
            raise WitnessSetupError(
                f"{directory / existing} exists: {directory} is a witness already"
            )
    write_key_file(directory, key)
    state = WitnessState.create(directory / STATE_FILE, name)
    return Witness(signer, state)


def open_witness(
    directory: Path, *, clock: Callable[[], float] = time.time, busy_timeout: float = 10.0
) -> Witness:
    """The witness kept in ``directory`` by :func:`init_witness`."""
    key = load_key_file(directory)
    state = WitnessState.open(directory / STATE_FILE, busy_timeout=busy_timeout)
    try:
        signer = _signer(state.name, key)
    except FormatError as exc:
        raise WitnessSetupError(f"the stored witness name is invalid: {exc}") from exc
    return Witness(signer, state, clock=clock)
