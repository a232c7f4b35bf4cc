"""C2SP signed notes, tlog checkpoints and witness cosignatures (Ed25519 and ML-DSA-44).

The log's checkpoints are `c2sp.org/signed-note`_ texts in the `c2sp.org/tlog-checkpoint`_ shape,
signed by the log (signature type 0x01, :class:`NoteSigner`) and cosigned by witnesses that other
parties run (`c2sp.org/tlog-cosignature`_ ``cosignature/v1``, type 0x04,
:class:`CosignatureSigner`), or with ML-DSA-44 (type 0x06, :class:`MlDsaCosignatureSigner`: the
post-quantum cosignature of the newest tlog-cosignature text, which also signs the witness's name).
The same bytes are read by the Go ecosystem
(``golang.org/x/mod/sumdb/note``, torchwood's litewitness and spicy), and the tests check that both
ways.

Where to start reading:

* :func:`parse_note` / :class:`Note` and :class:`NoteSignature`: the envelope (text, blank line,
  signature lines ``— <name> base64(key id || signature)``).
* :class:`Checkpoint`: the note text of a tree head (origin, size, root hash, extension lines).
* :class:`NoteSigner` / :class:`NoteVerifier` and :class:`CosignatureSigner` /
  :class:`CosignatureVerifier`: keys, written as *vkeys* ``<name>+<key id hex>+base64(type ||
  key)``.

Parsing raises :class:`~ipnotary.sdk.errors.FormatError` on anything the specs forbid, and every
input has a size limit to prevent DoS. Verifying never raises: ``verify`` returns ``False`` (or
``None`` for a cosignature) when a signature does not check out, so a caller decides what a bad
signature means. Ed25519 and ML-DSA-44 (FIPS 204, pure, empty context) are ``cryptography``'s;
nothing here is hand-made cryptography.

.. _c2sp.org/signed-note: https://c2sp.org/signed-note
.. _c2sp.org/tlog-checkpoint: https://c2sp.org/tlog-checkpoint
.. _c2sp.org/tlog-cosignature: https://c2sp.org/tlog-cosignature
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey, MLDSA44PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ipnotary.sdk.errors import FormatError

__all__ = [
    "COSIGNATURE_V1",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "SIGNATURE_TYPE_COSIGNATURE_MLDSA44",
    "SIGNATURE_TYPE_COSIGNATURE_V1",
    "SIGNATURE_TYPE_ED25519",
    "AnyCosignatureVerifier",
    "Checkpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "MlDsaCosignatureSigner",
    "MlDsaCosignatureVerifier",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "cosignature_verifier_from_vkey",
    "key_id",
    "parse_note",
    "parse_signature_lines",
    "sign_note",
]

# A whole note (text and signatures) is at most this many UTF-8 bytes. Sixteen ML-DSA-44
# cosignatures (the spec's minimum count, at ~3.3 kB each in base64) still fit.
MAX_NOTE_BYTES = 64 * 1024
# The spec asks verifiers to accept at least 16; Go's note.Open stops at 100, and so do we.
MAX_SIGNATURES = 100

SIGNATURE_TYPE_ED25519 = 0x01
SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04
SIGNATURE_TYPE_COSIGNATURE_MLDSA44 = 0x06
COSIGNATURE_V1 = "cosignature/v1"
# tlog-cosignature's ML-DSA-44 signed message starts with this 12-byte label.
_SUBTREE_V1_LABEL = b"subtree/v1\n\x00"
_MLDSA44_PUBLIC_KEY_SIZE = 1312
_MLDSA44_SIGNATURE_SIZE = 2420

_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_MAX_UINT32 = (1 << 32) - 1
_MAX_INT63 = (1 << 63) - 1
_ED25519_PUBLIC_KEY_SIZE = 32
_ED25519_SIGNATURE_SIZE = 64
_HASH_SIZE = 32
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls other than newline


# -- Encoding rules shared by every type below -------------------------------------------------


def _is_unicode_space(ch: str) -> bool:
    # Go's unicode.IsSpace (the White_Space property) is category Z plus these controls; the
    # spec forbids "Unicode spaces" in key names and Go is the reference implementation.
    return ch in "\t\n\v\f\r\x85" or unicodedata.category(ch).startswith("Z")


def _check_key_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise FormatError("a key name must be a non-empty string")
    if "+" in name or any(_is_unicode_space(ch) for ch in name):
        raise FormatError(f"key name {name!r} contains a space or '+'")
    _check_utf8(name, "key name")
    if _CONTROL.search(name):
        raise FormatError(f"key name {name!r} contains a control character")


def _check_utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be written as UTF-8
        raise FormatError(f"{what} is not valid UTF-8: {exc}") from exc


def _check_note_text(text: str) -> None:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise FormatError("a note text must end with a newline")
    if len(_check_utf8(text, "note text")) > MAX_NOTE_BYTES:
        raise FormatError(f"a note text is at most {MAX_NOTE_BYTES} bytes")
    if _CONTROL.search(text):
        raise FormatError("a note must not contain ASCII control characters other than newline")


def _b64decode_strict(text: str, what: str) -> bytes:
    """Standard, padded base64 in its one canonical spelling (no stray bits, no whitespace)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise FormatError(f"{what} is not standard base64: {exc}") from exc
    # b64decode accepts non-zero padding bits; re-encoding catches them, so that every value has
    # exactly one text form and a parsed note formats back to the same bytes.
    if base64.b64encode(raw).decode("ascii") != text:
        raise FormatError(f"{what} is not canonical base64")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _parse_decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise FormatError(f"{what} {text!r} is not a decimal without leading zeroes")
    value = int(text)
    if value > _MAX_INT63:
        raise FormatError(f"{what} {text} is over 2**63-1")
    return value


def key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """``SHA-256(name || 0x0A || type || public key)[:4]`` as a big-endian uint32 (signed-note)."""
    _check_key_name(name)
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([signature_type]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


# -- Notes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name, its 32-bit key id, and the signature bytes after it."""

    name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if not isinstance(self.key_id, int) or not 0 <= self.key_id <= _MAX_UINT32:
            raise FormatError(f"key id {self.key_id!r} is not a uint32")
        if not isinstance(self.signature, bytes) or not self.signature:
            raise FormatError("a note signature needs at least one byte after the key id")

    def line(self) -> str:
        """``— <name> base64(key id || signature)`` and a newline."""
        raw = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIGNATURE_PREFIX}{self.name} {_b64(raw)}\n"


@dataclass(frozen=True)
class Note:
    """A signed note: ``text`` (ending in a newline), a blank line, then the signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        _check_note_text(self.text)
        if not isinstance(self.signatures, tuple) or not all(
            isinstance(s, NoteSignature) for s in self.signatures
        ):
            raise FormatError("a note's signatures are a tuple of NoteSignature")
        if not self.signatures:
            raise FormatError("a signed note has at least one signature")
        if len(self.signatures) > MAX_SIGNATURES:
            raise FormatError(f"a note carries at most {MAX_SIGNATURES} signatures")
        if len(self.format().encode("utf-8")) > MAX_NOTE_BYTES:
            raise FormatError(f"a note is at most {MAX_NOTE_BYTES} bytes")

    def format(self) -> str:
        """The note as it travels: text, blank line, one line per signature."""
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def with_signatures(self, *signatures: NoteSignature) -> Note:
        """This note with ``signatures`` appended, skipping lines it already carries (a witness's
        cosignatures joining the log's signature)."""
        merged = list(self.signatures)
        for sig in signatures:
            if sig not in merged:
                merged.append(sig)
        return Note(self.text, tuple(merged))

    def signed_by(self, verifier: NoteVerifier | AnyCosignatureVerifier) -> bool:
        """Whether the note carries a valid signature from ``verifier`` and no invalid one.

        Signature lines from other keys are ignored, as the spec requires. A line that names this
        key (same name and key id) but does not verify rejects the note: the spec lets clients
        reject the whole note then, and a forged line next to a real one is worth noticing.
        """
        matching = [s for s in self.signatures if verifier.matches(s)]
        if not matching:
            return False
        if isinstance(verifier, CosignatureVerifier | MlDsaCosignatureVerifier):
            return all(verifier.verify(self.text, s) is not None for s in matching)
        return all(verifier.verify(self.text, s) for s in matching)


def _decode_limited(data: str | bytes, what: str) -> str:
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise FormatError(f"{what} is over {MAX_NOTE_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(f"{what} is not valid UTF-8: {exc}") from exc
    elif isinstance(data, str):
        # Checking the character count first keeps a huge string from being encoded at all.
        if len(data) > MAX_NOTE_BYTES or len(_check_utf8(data, what)) > MAX_NOTE_BYTES:
            raise FormatError(f"{what} is over {MAX_NOTE_BYTES} bytes")
        text = data
    else:
        raise FormatError(f"{what} must be str or bytes, not {type(data).__name__}")
    if _CONTROL.search(text):
        raise FormatError(f"{what} contains an ASCII control character other than newline")
    return text


def _parse_signature_block(block: str) -> tuple[NoteSignature, ...]:
    if not block.endswith("\n"):
        raise FormatError("the signature lines must each end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise FormatError(f"a note carries at most {MAX_SIGNATURES} signatures")
    signatures = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_SIGNATURE_PREFIX):
            raise FormatError(f"signature line {number} does not start with an em dash and a space")
        name, space, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not space or not encoded:
            raise FormatError(f"signature line {number} has no signature after the key name")
        raw = _b64decode_strict(encoded, f"signature line {number}")
        if len(raw) < 5:
            raise FormatError(f"signature line {number} is shorter than a key id and a signature")
        signatures.append(NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return tuple(signatures)


def parse_note(data: str | bytes) -> Note:
    """Parse a signed note; signatures are not checked (see :meth:`Note.signed_by`).

    The text is everything up to and including the newline before the *last* blank line; what
    follows must be one or more well-formed signature lines and nothing else.
    """
    message = _decode_limited(data, "a signed note")
    split = message.rfind("\n\n")
    if split < 0:
        raise FormatError("a signed note needs a blank line before its signatures")
    text, block = message[: split + 1], message[split + 2 :]
    if not block:
        raise FormatError("a signed note has at least one signature")
    return Note(text, _parse_signature_block(block))


def parse_signature_lines(data: str | bytes) -> tuple[NoteSignature, ...]:
    """Parse bare signature lines, as a tlog-witness answers ``add-checkpoint`` with."""
    block = _decode_limited(data, "the signature lines")
    if not block:
        raise FormatError("expected at least one signature line")
    return _parse_signature_block(block)


# -- Checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tree head as the text of a checkpoint note (c2sp.org/tlog-checkpoint)::

    <origin>
    <size in decimal>
    <base64 root hash>
    [<extension line>...]
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise FormatError("a checkpoint origin must be a non-empty string")
        if "\n" in self.origin or _CONTROL.search(self.origin):
            raise FormatError("a checkpoint origin is one line without control characters")
        _check_utf8(self.origin, "the checkpoint origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise FormatError("a checkpoint size is an integer")
        if not 0 <= self.size <= _MAX_INT63:
            raise FormatError(f"checkpoint size {self.size} is outside 0..2**63-1")
        if not isinstance(self.root, bytes) or len(self.root) != _HASH_SIZE:
            raise FormatError("a checkpoint root hash is 32 bytes")
        if not isinstance(self.extensions, tuple):
            raise FormatError("checkpoint extensions are a tuple of lines")
        for ext in self.extensions:
            if not isinstance(ext, str) or not ext or "\n" in ext or _CONTROL.search(ext):
                raise FormatError("a checkpoint extension is one non-empty line")
        _check_note_text(self.text())

    def text(self) -> str:
        """The note text the log signs and witnesses cosign."""
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text (the part before the blank line)."""
        if not isinstance(text, str):
            raise FormatError("a checkpoint text is a string")
        if len(text) > MAX_NOTE_BYTES:
            raise FormatError(f"a checkpoint text is at most {MAX_NOTE_BYTES} bytes")
        if not text.endswith("\n"):
            raise FormatError("a checkpoint text ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise FormatError("a checkpoint has an origin, a size and a root hash line")
        origin, size, root, *extensions = lines
        checkpoint = cls(
            origin=origin,
            size=_parse_decimal(size, "checkpoint size"),
            root=_decode_hash(root, "checkpoint root hash"),
            extensions=tuple(extensions),
        )
        return checkpoint


def _decode_hash(text: str, what: str) -> bytes:
    raw = _b64decode_strict(text, what)
    if len(raw) != _HASH_SIZE:
        raise FormatError(f"{what} is {len(raw)} bytes, not {_HASH_SIZE}")
    return raw


# -- Keys ---------------------------------------------------------------------------------------


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _vkey_parts(vkey: str) -> tuple[str, str, bytes]:
    """A vkey's name, key id (hex) and key material (type byte first), unchecked."""
    if not isinstance(vkey, str) or len(vkey) > 4096:
        raise FormatError("a verifier key is a short string")
    name, plus1, rest = vkey.partition("+")
    hex_id, plus2, encoded = rest.partition("+")
    if not plus1 or not plus2 or not _KEY_ID_HEX.fullmatch(hex_id):
        raise FormatError(f"verifier key {vkey!r} is not <name>+<8 hex digits>+<base64 key>")
    _check_key_name(name)
    material = _b64decode_strict(encoded, "the verifier key")
    if not material:
        raise FormatError("the verifier key has no key material")
    return name, hex_id, material


def _checked_public(vkey: str, signature_type: int, kind: str, size: int) -> tuple[str, int, bytes]:
    name, hex_id, material = _vkey_parts(vkey)
    if material[0] != signature_type:
        raise FormatError(
            f"verifier key {name!r} has signature type 0x{material[0]:02x}, not the "
            f"0x{signature_type:02x} of {kind}"
        )
    public = material[1:]
    if len(public) != size:
        raise FormatError(f"{kind} verifier key holds {size} key bytes, not {len(public)}")
    expected = key_id(name, signature_type, public)
    if int(hex_id, 16) != expected:
        raise FormatError(f"verifier key {name!r} has key id {hex_id}, not {expected:08x}")
    return name, expected, public


def _parse_vkey(vkey: str, signature_type: int, kind: str) -> tuple[str, int, Ed25519PublicKey]:
    name, expected, public = _checked_public(vkey, signature_type, kind, _ED25519_PUBLIC_KEY_SIZE)
    return name, expected, Ed25519PublicKey.from_public_bytes(public)


class _Ed25519Key:
    """What a signer and a verifier of one signature type share: name, key id and vkey."""

    signature_type: ClassVar[int]
    name: str
    key_id: int
    public_key: Ed25519PublicKey

    def _bind(self, name: str, public_key: Ed25519PublicKey) -> None:
        self.name = name
        self.public_key = public_key
        self.key_id = key_id(name, self.signature_type, _raw_public(public_key))

    @property
    def public_key_bytes(self) -> bytes:
        """The raw public key: what identifies the signer, whatever name and key id it is
        listed under (tlog-policy calls two vkeys of one public key duplicates)."""
        return _raw_public(self.public_key)

    def vkey(self) -> str:
        """``<name>+<key id hex>+base64(type || public key)``, the form logs and witnesses
        publish."""
        material = bytes([self.signature_type]) + _raw_public(self.public_key)
        return f"{self.name}+{self.key_id:08x}+{_b64(material)}"

    def matches(self, sig: NoteSignature) -> bool:
        """Whether ``sig`` claims to be from this key: the same name *and* key id."""
        return sig.name == self.name and sig.key_id == self.key_id

    def _ed25519_valid(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vkey()!r})"


class NoteVerifier(_Ed25519Key):
    """Checks Ed25519 note signatures (type 0x01): a log's checkpoint signature."""

    signature_type = SIGNATURE_TYPE_ED25519

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        self._bind(name, public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Read a vkey; refuses other signature types (a witness's 0x04 key cannot sign a log's
        checkpoint) and a key id that does not match the key."""
        name, _, public = _parse_vkey(vkey, cls.signature_type, "an Ed25519 note key")
        return cls(name, public)

    def verify(self, text: str, sig: NoteSignature) -> bool:
        """Whether ``sig`` is this key's valid signature over the note ``text``."""
        if not self.matches(sig) or len(sig.signature) != _ED25519_SIGNATURE_SIZE:
            return False
        try:
            message = text.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return self._ed25519_valid(message, sig.signature)


class NoteSigner(_Ed25519Key):
    """Signs notes with Ed25519 (type 0x01): the log's checkpoint key."""

    signature_type = SIGNATURE_TYPE_ED25519

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self._bind(name, private_key.public_key())

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Read a Go ``note`` signer key, ``PRIVATE+KEY+<name>+<key id>+base64(0x01 || seed)``, as
        ``note.GenerateKey`` and ``spicy -init`` write them."""
        prefix = "PRIVATE+KEY+"
        if not isinstance(skey, str) or not skey.startswith(prefix):
            raise FormatError("a signer key starts with PRIVATE+KEY+")
        name, plus1, rest = skey[len(prefix) :].partition("+")
        hex_id, plus2, encoded = rest.partition("+")
        if not plus1 or not plus2 or not _KEY_ID_HEX.fullmatch(hex_id):
            raise FormatError("a signer key is PRIVATE+KEY+<name>+<8 hex digits>+<base64 key>")
        material = _b64decode_strict(encoded, "the signer key")
        if len(material) != 1 + 32 or material[0] != cls.signature_type:
            raise FormatError("the signer key is not an Ed25519 seed of type 0x01")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(material[1:]))
        if signer.key_id != int(hex_id, 16):
            raise FormatError(f"signer key {name!r} has key id {hex_id}, not {signer.key_id:08x}")
        return signer

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.public_key)

    def sign(self, text: str) -> NoteSignature:
        """Sign a note text (which must end with a newline)."""
        _check_note_text(text)
        signature = self._private_key.sign(text.encode("utf-8"))
        return NoteSignature(self.name, self.key_id, signature)


def sign_note(text: str, *signers: NoteSigner) -> Note:
    """A note over ``text`` signed by each of ``signers`` in order."""
    if not signers:
        raise FormatError("a signed note needs at least one signer")
    return Note(text, tuple(s.sign(text) for s in signers))


def _cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    # tlog-cosignature: two header lines, then the whole checkpoint text. Like torchwood, only
    # accept a text that is exactly a well-formed checkpoint, so what is cosigned is a tree head.
    Checkpoint.parse(checkpoint_text)
    return f"{COSIGNATURE_V1}\ntime {timestamp}\n{checkpoint_text}".encode()


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise FormatError("a cosignature timestamp is an integer")
    if not 0 <= timestamp <= _MAX_INT63:
        raise FormatError(f"cosignature timestamp {timestamp} is outside 0..2**63-1")


class CosignatureVerifier(_Ed25519Key):
    """Checks ``cosignature/v1`` witness cosignatures (type 0x04) and reads their timestamp."""

    signature_type = SIGNATURE_TYPE_COSIGNATURE_V1

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        self._bind(name, public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        """Read a witness's vkey (type 0x04); refuses other types and a mismatched key id."""
        name, _, public = _parse_vkey(vkey, cls.signature_type, "a cosignature/v1 key")
        return cls(name, public)

    def verify(self, checkpoint_text: str, sig: NoteSignature) -> int | None:
        """The POSIX time the witness cosigned ``checkpoint_text`` at, or ``None`` if ``sig`` is
        not this witness's valid cosignature over it. A timestamp in the future is returned as
        is: whether to accept it is the caller's policy."""
        if not self.matches(sig) or len(sig.signature) != 8 + _ED25519_SIGNATURE_SIZE:
            return None
        timestamp = int.from_bytes(sig.signature[:8], "big")
        if timestamp > _MAX_INT63:
            return None
        try:
            message = _cosigned_message(checkpoint_text, timestamp)
        except FormatError:
            return None
        if not self._ed25519_valid(message, sig.signature[8:]):
            return None
        return timestamp


class CosignatureSigner(_Ed25519Key):
    """A witness's key: timestamped ``cosignature/v1`` Ed25519 cosignatures (type 0x04)."""

    signature_type = SIGNATURE_TYPE_COSIGNATURE_V1

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self._bind(name, private_key.public_key())

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.public_key)

    def cosign(self, checkpoint_text: str, timestamp: int) -> NoteSignature:
        """Cosign a checkpoint text as of ``timestamp`` (POSIX seconds, the witness's own clock)."""
        _check_timestamp(timestamp)
        signature = self._private_key.sign(_cosigned_message(checkpoint_text, timestamp))
        return NoteSignature(self.name, self.key_id, timestamp.to_bytes(8, "big") + signature)


# -- ML-DSA-44 cosignatures (tlog-cosignature, type 0x06) -----------------------------------------


def _length_prefixed(value: bytes, what: str) -> bytes:
    # opaque value<1..2^8-1>: one length byte, then the bytes.
    if not 1 <= len(value) <= 255:
        raise FormatError(f"{what} is 1 to 255 bytes for an ML-DSA-44 cosignature")
    return bytes([len(value)]) + value


def _mldsa_cosigned_message(name: str, checkpoint_text: str, timestamp: int) -> bytes:
    """tlog-cosignature's ``cosigned_message`` for a checkpoint: the label, the cosigner's name,
    the timestamp, the log's origin, start 0, end = the tree size, and the root hash. Extension
    lines are not signed (the spec makes no statement about them)."""
    checkpoint = Checkpoint.parse(checkpoint_text)
    return b"".join(
        (
            _SUBTREE_V1_LABEL,
            _length_prefixed(name.encode("utf-8"), "the cosigner name"),
            timestamp.to_bytes(8, "big"),
            _length_prefixed(checkpoint.origin.encode("utf-8"), "the log origin"),
            (0).to_bytes(8, "big"),
            checkpoint.size.to_bytes(8, "big"),
            checkpoint.root,
        )
    )


class _MlDsaKey:
    """Name, key id and vkey of an ML-DSA-44 cosigner (type 0x06)."""

    signature_type: ClassVar[int] = SIGNATURE_TYPE_COSIGNATURE_MLDSA44
    name: str
    key_id: int
    public_key: MLDSA44PublicKey

    def _bind(self, name: str, public_key: MLDSA44PublicKey) -> None:
        self.name = name
        self.public_key = public_key
        self.key_id = key_id(name, self.signature_type, self.public_key_bytes)

    @property
    def public_key_bytes(self) -> bytes:
        """The raw 1312-byte public key: what identifies the witness, whatever its name."""
        return self.public_key.public_bytes_raw()

    def vkey(self) -> str:
        """``<name>+<key id hex>+base64(0x06 || public key)``, as the witness publishes it."""
        material = bytes([self.signature_type]) + self.public_key_bytes
        return f"{self.name}+{self.key_id:08x}+{_b64(material)}"

    def matches(self, sig: NoteSignature) -> bool:
        return sig.name == self.name and sig.key_id == self.key_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, key id {self.key_id:08x})"


class MlDsaCosignatureVerifier(_MlDsaKey):
    """Checks ML-DSA-44 witness cosignatures (type 0x06) and reads their timestamp."""

    def __init__(self, name: str, public_key: MLDSA44PublicKey) -> None:
        _check_key_name(name)
        self._bind(name, public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> MlDsaCosignatureVerifier:
        name, _, public = _checked_public(
            vkey, SIGNATURE_TYPE_COSIGNATURE_MLDSA44, "an ML-DSA-44", _MLDSA44_PUBLIC_KEY_SIZE
        )
        try:
            return cls(name, MLDSA44PublicKey.from_public_bytes(public))
        except ValueError as exc:
            raise FormatError(f"verifier key {name!r} is not an ML-DSA-44 key: {exc}") from exc

    def verify(self, checkpoint_text: str, sig: NoteSignature) -> int | None:
        """The POSIX time the witness cosigned ``checkpoint_text`` at, or ``None`` if ``sig`` is
        not its valid cosignature over it. ``0`` means the witness makes no statement about the
        time (the spec allows it), only about the tree's consistency."""
        if not self.matches(sig) or len(sig.signature) != 8 + _MLDSA44_SIGNATURE_SIZE:
            return None
        timestamp = int.from_bytes(sig.signature[:8], "big")
        if timestamp > _MAX_INT63:
            return None
        try:
            message = _mldsa_cosigned_message(self.name, checkpoint_text, timestamp)
        except FormatError:
            return None
        try:
            self.public_key.verify(sig.signature[8:], message)
        except InvalidSignature:
            return None
        return timestamp


class MlDsaCosignatureSigner(_MlDsaKey):
    """A witness's ML-DSA-44 key: timestamped cosignatures that a quantum computer cannot forge."""

    def __init__(self, name: str, private_key: MLDSA44PrivateKey) -> None:
        _check_key_name(name)
        self._private_key = private_key
        self._bind(name, private_key.public_key())

    def verifier(self) -> MlDsaCosignatureVerifier:
        return MlDsaCosignatureVerifier(self.name, self.public_key)

    def cosign(self, checkpoint_text: str, timestamp: int) -> NoteSignature:
        """Cosign a checkpoint text as of ``timestamp`` (POSIX seconds, the witness's own clock)."""
        _check_timestamp(timestamp)
        message = _mldsa_cosigned_message(self.name, checkpoint_text, timestamp)
        signature = self._private_key.sign(message)
        return NoteSignature(self.name, self.key_id, timestamp.to_bytes(8, "big") + signature)


AnyCosignatureVerifier = CosignatureVerifier | MlDsaCosignatureVerifier


def cosignature_verifier_from_vkey(vkey: str) -> AnyCosignatureVerifier:
    """A witness's verifier from its vkey, by the signature type it names: Ed25519
    ``cosignature/v1`` (0x04) or ML-DSA-44 (0x06)."""
    _, _, material = _vkey_parts(vkey)
    if material[0] == SIGNATURE_TYPE_COSIGNATURE_MLDSA44:
        return MlDsaCosignatureVerifier.from_vkey(vkey)
    return CosignatureVerifier.from_vkey(vkey)
