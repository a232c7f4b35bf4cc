"""Trade-secret recipient keys, their signed public documents, and the pin a holder checks them by.

Part of :mod:`ipnotary.sdk.trade_secret`, which re-exports its public names. A recipient (an
arbitrator, a notary, a holder filing to itself) keeps three things in one private key file
(:class:`RecipientKeys`):

* an X25519 key pair, for classic HPKE;
* a hybrid ML-KEM-768 + X25519 key pair (its own X25519 half: one key, one use);
* an Ed25519 signing key, which signs the public document and never encrypts anything.

The public documents:

* the *encryption key document* (``RECIPIENT_KEY_MEDIA_TYPE``, version 1): the two public
  encryption keys and ``key_id``, the SHA-256 of the canonical document without ``key_id``.
  Wrapped keys are bound to this id, so it never changes for a given pair of encryption keys;
* the *signed key document* (``SIGNED_RECIPIENT_KEY_MEDIA_TYPE``, version 2): the encryption key
  document, the Ed25519 public ``signing_key`` and an Ed25519 ``signature`` over the RFC 8785
  bytes of everything else. This is what a principal registers and the service serves.

Trust comes from the pin, not from the service: the recipient gives its **signing key id**
(SHA-256 of the raw Ed25519 key, hex; ``notary keys generate`` prints it) to the holder out of
band, and :func:`verify_recipient_document` refuses any document that is unsigned, whose signature
does not verify, or that another key signed. Only a :class:`RecipientPublicKey` from there (or from
one's own :meth:`RecipientKeys.public_key`) can be wrapped to.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.errors import DecryptionError, FormatError, VerificationError
from ipnotary.sdk.signing import (
    b64decode,
    b64encode,
    key_id,
    public_key_from_b64,
    public_key_to_b64,
    sign_document,
    signature_is_valid,
)

__all__ = [
    "ENCRYPTED_PRIVATE_KEY_MEDIA_TYPE",
    "PRIVATE_KEY_MEDIA_TYPE",
    "PRIVATE_KEY_MEDIA_TYPE_V1",
    "RECIPIENT_KEY_MEDIA_TYPE",
    "RECIPIENT_KEY_STEP",
    "SIGNED_RECIPIENT_KEY_MEDIA_TYPE",
    "RecipientKeyInfo",
    "RecipientKeys",
    "RecipientPublicKey",
    "check_recipient_document",
    "recipient_key_id",
    "verify_recipient_document",
]

RECIPIENT_KEY_MEDIA_TYPE = "application/vnd.ipnotary.trade-secret-recipient-key+json;version=1"
SIGNED_RECIPIENT_KEY_MEDIA_TYPE = (
    "application/vnd.ipnotary.trade-secret-recipient-key+json;version=2"
)
PRIVATE_KEY_MEDIA_TYPE_V1 = "application/vnd.ipnotary.trade-secret-private-key+json;version=1"
PRIVATE_KEY_MEDIA_TYPE = "application/vnd.ipnotary.trade-secret-private-key+json;version=2"
ENCRYPTED_PRIVATE_KEY_MEDIA_TYPE = (
    "application/vnd.ipnotary.trade-secret-private-key-encrypted+json;version=1"
)

# The ``VerificationError.step`` of every refusal to trust a recipient key document.
RECIPIENT_KEY_STEP = "recipient_key"

# Limits ("to prevent DoS"): every document here is small; anything larger is hostile.
MAX_PUBLIC_DOCUMENT_BYTES = 4096
MAX_PRIVATE_KEY_FILE_BYTES = 8192
_HEX64 = re.compile(r"[0-9a-f]{64}")

_MLKEM768_PUBLIC_SIZE = 1184
_MLKEM768_SEED_SIZE = 64
_HYBRID_PUBLIC_SIZE = _MLKEM768_PUBLIC_SIZE + 32  # pk_ML-KEM-768 || pk_X25519

# Key files: scrypt (RFC 7914) at 128 MiB of memory by default; reading accepts at most 256 MiB
# (N = 2^18) so a hostile file cannot make us allocate gigabytes.
DEFAULT_SCRYPT_N = 1 << 17
_SCRYPT_N_RANGE = (1 << 14, 1 << 18)
_SCRYPT_R = 8
_SCRYPT_P = 1


# ---------------------------------------------------------------------------- public keys --


@dataclass(frozen=True, repr=False)
class RecipientPublicKey:
    """Public keys a holder may wrap to: its own (:meth:`RecipientKeys.public_key`), or a
    recipient's document checked against the signing key id the recipient gave out of band
    (:func:`verify_recipient_document`). ``wrap_data_key`` takes nothing else."""

    key_id: str  # the encryption key id that wrapped keys are bound to
    x25519: X25519PublicKey
    hybrid: hpke.MLKEM768X25519PublicKey | None
    signing_key_id: str | None  # None only for one's own keys made before documents were signed

    @property
    def post_quantum(self) -> bool:
        return self.hybrid is not None

    def __repr__(self) -> str:
        return (
            f"RecipientPublicKey(key_id={self.key_id!r}, "
            f"signing_key_id={self.signing_key_id!r}, post_quantum={self.post_quantum})"
        )


@dataclass(frozen=True)
class RecipientKeyInfo:
    """What a document says about itself once parsed (and, if signed, its signature checked),
    without any pin: enough for the service to store it, never enough to wrap to it."""

    key_id: str
    signing_key_id: str | None  # None: an unsigned (version 1) document
    post_quantum: bool


def check_recipient_document(doc: Mapping[str, Any]) -> RecipientKeyInfo:
    """Validate a recipient key document of either version; a signed one's signature must verify.

    Raises :class:`FormatError` for a malformed document and :class:`VerificationError` (step
    ``recipient_key``) for a signature that does not verify. Pins nothing: a holder about to
    wrap a key calls :func:`verify_recipient_document` instead.
    """
    parsed = _parse_document(doc)
    return RecipientKeyInfo(
        key_id=parsed.key_id, signing_key_id=parsed.signing_key_id, post_quantum=parsed.post_quantum
    )


def recipient_key_id(doc: Mapping[str, Any]) -> str:
    """The encryption key id of a valid recipient key document (see
    :func:`check_recipient_document`)."""
    return check_recipient_document(doc).key_id


def verify_recipient_document(doc: Mapping[str, Any], *, signing_key_id: str) -> RecipientPublicKey:
    """The recipient's public keys, if ``doc`` is signed by the key ``signing_key_id`` names.

    ``signing_key_id`` is what the recipient gave you out of band (``notary keys generate`` and
    ``notary keys show`` print it), never something the service sent. Refused, with
    :class:`VerificationError` at step ``recipient_key``: an unsigned (version 1) document, a
    document signed by any other key, and one whose signature does not verify.
    """
    if not isinstance(signing_key_id, str) or not _HEX64.fullmatch(signing_key_id):
        raise FormatError(
            "a signing key id is 64 lowercase hex digits, as 'notary keys show' prints it"
        )
    if isinstance(doc, Mapping) and doc.get("media_type") == RECIPIENT_KEY_MEDIA_TYPE:
        raise VerificationError(
            RECIPIENT_KEY_STEP,
            "the recipient's key document is unsigned (version 1), so nothing shows it is "
            "theirs: ask them to add a signing key ('notary keys upgrade') and register again",
        )
    return _parse_signed_document(doc, expected_signer=signing_key_id)


def _parse_document(doc: Mapping[str, Any]) -> RecipientPublicKey:
    if not isinstance(doc, Mapping):
        raise FormatError("a recipient key document is a JSON object")
    if doc.get("media_type") == RECIPIENT_KEY_MEDIA_TYPE:
        return _parse_encryption_document(doc)
    return _parse_signed_document(doc, expected_signer=None)


def _parse_signed_document(
    doc: Mapping[str, Any], *, expected_signer: str | None
) -> RecipientPublicKey:
    if not isinstance(doc, Mapping):
        raise FormatError("a recipient key document is a JSON object")
    expect_keys(
        doc,
        {"media_type", "encryption_key", "signing_key", "signature"},
        set(),
        what="recipient key document",
    )
    if doc["media_type"] != SIGNED_RECIPIENT_KEY_MEDIA_TYPE:
        raise FormatError(f"not a trade-secret recipient key document: {doc['media_type']!r}")
    if len(canonical_json(dict(doc))) > MAX_PUBLIC_DOCUMENT_BYTES:
        raise FormatError(f"recipient key document is over {MAX_PUBLIC_DOCUMENT_BYTES} bytes")
    if not isinstance(doc["signature"], str):
        raise FormatError("recipient key document: signature must be a base64url string")
    try:
        signer = public_key_from_b64(doc["signing_key"])
    except ValueError as exc:  # FormatError is one; cryptography's own refusals are the rest
        raise FormatError(f"recipient key document: signing_key: {exc}") from exc
    signer_id = key_id(signer)
    # The pin first: a document from anyone else is refused whatever its signature says.
    if expected_signer is not None and not hmac.compare_digest(signer_id, expected_signer):
        raise VerificationError(
            RECIPIENT_KEY_STEP,
            f"the recipient key document is signed by key {signer_id}, not by {expected_signer}, "
            "the key the recipient gave you: it is not their document (substituted by the "
            "service, or the recipient made new keys); confirm the id with the recipient",
        )
    unsigned = {k: v for k, v in doc.items() if k != "signature"}
    if not signature_is_valid(signer, unsigned, doc["signature"]):
        raise VerificationError(
            RECIPIENT_KEY_STEP,
            f"the recipient key document's signature does not verify under its signing key "
            f"{signer_id}: it was altered after it was signed",
        )
    inner = _parse_encryption_document(doc["encryption_key"])
    return replace(inner, signing_key_id=signer_id)


def _parse_encryption_document(doc: Mapping[str, Any]) -> RecipientPublicKey:
    if not isinstance(doc, Mapping):
        raise FormatError("an encryption key document is a JSON object")
    expect_keys(
        doc,
        {"media_type", "x25519", "key_id"},
        {"hpke_mlkem768x25519"},
        what="encryption key document",
    )
    if doc["media_type"] != RECIPIENT_KEY_MEDIA_TYPE:
        raise FormatError(f"not a trade-secret encryption key document: {doc['media_type']!r}")
    if len(canonical_json(dict(doc))) > MAX_PUBLIC_DOCUMENT_BYTES:
        raise FormatError(f"encryption key document is over {MAX_PUBLIC_DOCUMENT_BYTES} bytes")
    if doc["key_id"] != _encryption_key_id(doc):
        raise FormatError("encryption key document: key_id does not match its keys")
    try:
        x25519 = X25519PublicKey.from_public_bytes(b64_exact(doc["x25519"], 32, "x25519"))
        hybrid = None
        if "hpke_mlkem768x25519" in doc:
            raw = b64_exact(doc["hpke_mlkem768x25519"], _HYBRID_PUBLIC_SIZE, "hpke_mlkem768x25519")
            hybrid = hpke.MLKEM768X25519PublicKey(
                MLKEM768PublicKey.from_public_bytes(raw[:_MLKEM768_PUBLIC_SIZE]),
                X25519PublicKey.from_public_bytes(raw[_MLKEM768_PUBLIC_SIZE:]),
            )
    except ValueError as exc:
        raise FormatError(f"encryption key document: {exc}") from exc
    return RecipientPublicKey(
        key_id=doc["key_id"], x25519=x25519, hybrid=hybrid, signing_key_id=None
    )


def _encryption_key_id(doc: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical document without ``key_id``: one id covering every key in it."""
    return hashlib.sha256(
        canonical_json({k: v for k, v in doc.items() if k != "key_id"})
    ).hexdigest()


# --------------------------------------------------------------------------- private keys --


@dataclass(frozen=True, repr=False)
class RecipientKeys:
    """A principal's private keys for trade secrets: HPKE key pairs and the document signing key.

    The hybrid key is ML-KEM-768 plus its own X25519 key (never the classic one: one key, one use).
    It is optional only for a principal whose tooling has no ML-KEM; holders then have to opt in
    to classic X25519 HPKE explicitly, which a future quantum computer could break. ``signing`` is
    absent only from key files made before key documents were signed; :meth:`with_signing_key`
    adds one without changing :attr:`key_id`, so filings wrapped to the old file still open.
    """

    x25519: X25519PrivateKey
    mlkem768: MLKEM768PrivateKey | None = None
    hybrid_x25519: X25519PrivateKey | None = None
    signing: Ed25519PrivateKey | None = None

    def __post_init__(self) -> None:
        if (self.mlkem768 is None) != (self.hybrid_x25519 is None):
            raise ValueError("the hybrid key needs both its ML-KEM-768 and its X25519 half")

    @classmethod
    def generate(cls, *, post_quantum: bool = True) -> RecipientKeys:
        if not post_quantum:
            return cls(x25519=X25519PrivateKey.generate(), signing=Ed25519PrivateKey.generate())
        return cls(
            x25519=X25519PrivateKey.generate(),
            mlkem768=MLKEM768PrivateKey.generate(),
            hybrid_x25519=X25519PrivateKey.generate(),
            signing=Ed25519PrivateKey.generate(),
        )

    def with_signing_key(self) -> RecipientKeys:
        """The same encryption keys (same :attr:`key_id`) with a new document signing key."""
        if self.signing is not None:
            raise ValueError(f"these keys already have a signing key ({self.signing_key_id})")
        return replace(self, signing=Ed25519PrivateKey.generate())

    @property
    def has_hybrid(self) -> bool:
        return self.mlkem768 is not None

    @property
    def key_id(self) -> str:
        """The encryption key id: SHA-256 of the canonical encryption key document."""
        return self._encryption_document["key_id"]

    @cached_property
    def signing_key_id(self) -> str | None:
        """SHA-256 of the raw Ed25519 public key, hex: what the recipient gives holders out of
        band. ``None`` for a key file made before key documents were signed."""
        return None if self.signing is None else key_id(self.signing.public_key())

    def encryption_document(self) -> dict[str, str]:
        """The unsigned encryption key document (version 1) that :attr:`key_id` covers."""
        return dict(self._encryption_document)

    @cached_property
    def _encryption_document(self) -> dict[str, str]:
        doc = {
            "media_type": RECIPIENT_KEY_MEDIA_TYPE,
            "x25519": b64encode(self.x25519.public_key().public_bytes_raw()),
        }
        if self.mlkem768 is not None and self.hybrid_x25519 is not None:
            doc["hpke_mlkem768x25519"] = b64encode(
                self.mlkem768.public_key().public_bytes_raw()
                + self.hybrid_x25519.public_key().public_bytes_raw()
            )
        doc["key_id"] = _encryption_key_id(doc)
        return doc

    def public_document(self) -> dict[str, Any]:
        """The signed key document to register (``PUT /v1/principals/me/encryption-key``)."""
        if self.signing is None:
            raise FormatError(
                "these keys have no signing key (the file predates signed key documents): "
                "'notary keys upgrade' adds one and keeps the key id"
            )
        unsigned: dict[str, Any] = {
            "media_type": SIGNED_RECIPIENT_KEY_MEDIA_TYPE,
            "encryption_key": self.encryption_document(),
            "signing_key": public_key_to_b64(self.signing.public_key()),
        }
        return {**unsigned, "signature": sign_document(self.signing, unsigned)}

    def public_key(self) -> RecipientPublicKey:
        """One's own public keys, for sealing a filing to oneself; trusted because local."""
        hybrid = None
        if self.mlkem768 is not None and self.hybrid_x25519 is not None:
            hybrid = hpke.MLKEM768X25519PublicKey(
                self.mlkem768.public_key(), self.hybrid_x25519.public_key()
            )
        return RecipientPublicKey(
            key_id=self.key_id,
            x25519=self.x25519.public_key(),
            hybrid=hybrid,
            signing_key_id=self.signing_key_id,
        )

    def __repr__(self) -> str:
        return (
            f"RecipientKeys(key_id={self.key_id!r}, signing_key_id={self.signing_key_id!r}, "
            f"post_quantum={self.has_hybrid})"
        )

    # -- private key file --

    def private_document(
        self, *, password: str | bytes | None = None, scrypt_n: int = DEFAULT_SCRYPT_N
    ) -> dict[str, Any]:
        """The private keys as a JSON document, encrypted under ``password`` if one is given.

        With a password: scrypt(N=``scrypt_n``, r=8, p=1) derives an AES-256-GCM key that encrypts
        the plain document; the KDF parameters and key id are authenticated as associated data.
        """
        plain: dict[str, Any] = {
            "media_type": PRIVATE_KEY_MEDIA_TYPE_V1,
            "key_id": self.key_id,
            "x25519": b64encode(self.x25519.private_bytes_raw()),
        }
        if self.mlkem768 is not None and self.hybrid_x25519 is not None:
            plain["mlkem768_seed"] = b64encode(self.mlkem768.private_bytes_raw())
            plain["hybrid_x25519"] = b64encode(self.hybrid_x25519.private_bytes_raw())
        if self.signing is not None:
            plain["media_type"] = PRIVATE_KEY_MEDIA_TYPE
            plain["ed25519"] = b64encode(self.signing.private_bytes_raw())
            plain["signing_key_id"] = self.signing_key_id
        if password is None:
            return plain
        if not password:
            raise ValueError("an empty password protects nothing; pass password=None instead")
        if not _SCRYPT_N_RANGE[0] <= scrypt_n <= _SCRYPT_N_RANGE[1] or scrypt_n & (scrypt_n - 1):
            raise ValueError(f"scrypt_n must be a power of two in {_SCRYPT_N_RANGE}")
        envelope: dict[str, Any] = {
            "media_type": ENCRYPTED_PRIVATE_KEY_MEDIA_TYPE,
            "key_id": self.key_id,
            "kdf": {
                "name": "scrypt",
                "salt": b64encode(os.urandom(16)),
                "n": scrypt_n,
                "r": _SCRYPT_R,
                "p": _SCRYPT_P,
            },
            "aead": "aes-256-gcm",
            "nonce": b64encode(os.urandom(12)),
        }
        key = _password_key(password, envelope["kdf"])
        envelope["ciphertext"] = b64encode(
            AESGCM(key).encrypt(
                b64decode(envelope["nonce"]), canonical_json(plain), canonical_json(envelope)
            )
        )
        return envelope

    @classmethod
    def from_private_document(
        cls, doc: Mapping[str, Any], *, password: str | bytes | None = None
    ) -> RecipientKeys:
        if not isinstance(doc, Mapping):
            raise FormatError("a private key document is a JSON object")
        if doc.get("media_type") == ENCRYPTED_PRIVATE_KEY_MEDIA_TYPE:
            if password is None:
                raise DecryptionError("this key file is password-protected; give the password")
            doc = _decrypt_private_document(doc, password)
        signed = doc.get("media_type") == PRIVATE_KEY_MEDIA_TYPE
        required = {"media_type", "key_id", "x25519"}
        if signed:
            required |= {"ed25519", "signing_key_id"}
        expect_keys(doc, required, {"mlkem768_seed", "hybrid_x25519"}, what="private key document")
        if doc["media_type"] not in (PRIVATE_KEY_MEDIA_TYPE, PRIVATE_KEY_MEDIA_TYPE_V1):
            raise FormatError(f"not a trade-secret private key document: {doc['media_type']!r}")
        try:
            x25519 = X25519PrivateKey.from_private_bytes(b64_exact(doc["x25519"], 32, "x25519"))
            mlkem = hybrid_x = signing = None
            if "mlkem768_seed" in doc or "hybrid_x25519" in doc:
                mlkem = MLKEM768PrivateKey.from_seed_bytes(
                    b64_exact(doc.get("mlkem768_seed"), _MLKEM768_SEED_SIZE, "mlkem768_seed")
                )
                hybrid_x = X25519PrivateKey.from_private_bytes(
                    b64_exact(doc.get("hybrid_x25519"), 32, "hybrid_x25519")
                )
            if signed:
                signing = Ed25519PrivateKey.from_private_bytes(
                    b64_exact(doc["ed25519"], 32, "ed25519")
                )
            keys = cls(x25519=x25519, mlkem768=mlkem, hybrid_x25519=hybrid_x, signing=signing)
        except ValueError as exc:
            raise FormatError(f"private key document: {exc}") from exc
        if keys.key_id != doc["key_id"]:
            raise FormatError("private key document: the keys do not match its key_id")
        if signed and keys.signing_key_id != doc["signing_key_id"]:
            raise FormatError(
                "private key document: the signing key does not match its signing_key_id"
            )
        return keys

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        password: str | bytes | None = None,
        scrypt_n: int = DEFAULT_SCRYPT_N,
    ) -> None:
        """Write the private key file, readable by its owner only; never overwrites a file."""
        data = canonical_json(self.private_document(password=password, scrypt_n=scrypt_n))
        fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, password: str | bytes | None = None
    ) -> RecipientKeys:
        with open(path, "rb") as fh:
            data = fh.read(MAX_PRIVATE_KEY_FILE_BYTES + 1)
        doc = parse_json(data, max_bytes=MAX_PRIVATE_KEY_FILE_BYTES, what="private key file")
        return cls.from_private_document(doc, password=password)


def _password_key(password: str | bytes, kdf: Mapping[str, Any]) -> bytes:
    if isinstance(password, str):
        # NFC so the same password typed on two systems gives the same bytes.
        password = unicodedata.normalize("NFC", password).encode("utf-8")
    return Scrypt(
        salt=b64decode(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]
    ).derive(password)


def _decrypt_private_document(envelope: Mapping[str, Any], password: str | bytes) -> dict[str, Any]:
    expect_keys(
        envelope,
        {"media_type", "key_id", "kdf", "aead", "nonce", "ciphertext"},
        set(),
        what="encrypted private key document",
    )
    kdf = envelope["kdf"]
    expect_keys(kdf, {"name", "salt", "n", "r", "p"}, set(), what="key file kdf")
    n = kdf["n"]
    if (
        kdf["name"] != "scrypt"
        or envelope["aead"] != "aes-256-gcm"
        or not isinstance(n, int)
        or isinstance(n, bool)
        or not _SCRYPT_N_RANGE[0] <= n <= _SCRYPT_N_RANGE[1]
        or n & (n - 1)
        or kdf["r"] != _SCRYPT_R
        or kdf["p"] != _SCRYPT_P
    ):
        raise FormatError("key file: unsupported or out-of-range key derivation parameters")
    if not isinstance(envelope["ciphertext"], str):
        raise FormatError("key file: ciphertext must be a base64url string")
    aad = canonical_json({k: v for k, v in envelope.items() if k != "ciphertext"})
    try:
        plain = AESGCM(_password_key(password, kdf)).decrypt(
            b64_exact(envelope["nonce"], 12, "nonce"), b64decode(envelope["ciphertext"]), aad
        )
    except InvalidTag:
        raise DecryptionError("wrong password for this key file, or the file was altered") from None
    doc = parse_json(plain, max_bytes=MAX_PRIVATE_KEY_FILE_BYTES, what="private key document")
    if not isinstance(doc, dict) or doc.get("key_id") != envelope["key_id"]:
        raise FormatError("key file: the encrypted keys do not carry the key id outside")
    return doc


# -------------------------------------------------------------- shared document plumbing --
# (wrapping and container parse their documents with these too)


def expect_keys(
    doc: Mapping[str, Any], required: set[str], optional: set[str], *, what: str
) -> None:
    if not isinstance(doc, Mapping):
        raise FormatError(f"{what} is not a JSON object")
    missing = required - doc.keys()
    if missing:
        raise FormatError(f"{what} lacks {sorted(missing)}")
    unknown = doc.keys() - required - optional
    if unknown:
        raise FormatError(f"{what} has unknown fields {sorted(unknown)}")


def b64_exact(value: object, size: int, name: str) -> bytes:
    if not isinstance(value, str):
        raise FormatError(f"{name} must be a base64url string")
    raw = b64decode(value)
    if len(raw) != size:
        raise FormatError(f"{name} must be {size} bytes, not {len(raw)}")
    return raw
