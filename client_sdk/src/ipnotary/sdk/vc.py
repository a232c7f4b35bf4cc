"""Certificates as W3C Verifiable Credentials 2.0, secured with Data Integrity ``eddsa-jcs-2022``.

A certificate proves everything by itself (``docs/certificate.md``); a credential carries it in the
W3C data model, so that wallets and generic verifiers can read and check what it says. Start with
:func:`issue_record_credential` (what the service does) and :func:`verify_credential` (what anyone
does); ``docs/credentials.md`` shows both.

* ``issuer`` is the service's Ed25519 issuer key as a ``did:key`` (Multikey ``z6Mk…``);
  ``validFrom`` is the certificate's ``issued_at``.
* ``credentialSubject`` (type ``NotarisedRecord``, terms in our context :data:`CONTEXT`, whose
  identifier :data:`CONTEXT_URL` is never fetched: it ships here and every deployment serves it)
  says what the record is (kind, id, leaf hash, holder, digests or commitment, when it was
  received), when it provably existed by and from which sources under the issuer's policy, and
  carries the whole certificate (log proof, cosignatures, tokens, anchor) as a JSON literal.
* ``credentialStatus`` (for records that can be revoked) is a ``BitstringStatusListEntry``; the
  list is a ``BitstringStatusListCredential`` signed the same way
  (:func:`issue_status_list_credential`).
* The proof follows W3C vc-di-eddsa's ``eddsa-jcs-2022``: ``SHA-256(JCS(proof configuration)) ‖
  SHA-256(JCS(document))`` signed with Ed25519 (``cryptography``), JCS from ``rfc8785``
  (``ipnotary.sdk.canonical``). ``tests/unit/client_sdk/test_vc_vectors.py`` reproduces the
  specification's test vectors byte for byte; Digital Bazaar's verifier checks our credentials in
  ``tests/integration/test_vc_interop.py``.

:func:`verify_credential` raises ``VerificationError`` at the first failed step:

1. ``credential_format``   the document is one of our credentials, within limits
2. ``credential_proof``    the Data Integrity proof verifies with the issuer's ``did:key``
3. ``credential_issuer``   (policy) that key is an issuer key the policy trusts when it signed
4. ``credential_subject``  what the subject says is what the embedded certificate's record says
5. the embedded certificate's own steps (``format`` … ``time``, see ``ipnotary.sdk.verify``) under
   the same policy: the credential proves nothing the certificate does not
6. ``credential_status``   (when asked, with the list or by fetching it) the credential is not
   revoked
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from multiformats import multibase, multicodec

from ipnotary.sdk._status_list import MIN_LIST_BITS, bit_is_set, decode_list, encode_list
from ipnotary.sdk.canonical import canonical_json, parse_json
from ipnotary.sdk.certificate import (
    MAX_CERTIFICATE_BYTES,
    AnyCertificate,
    format_timestamp,
    parse_certificate,
    parse_time,
)
from ipnotary.sdk.errors import APIError, FormatError, TransportError, VerificationError
from ipnotary.sdk.numerals import is_ascii_digits
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.signing import key_id, public_key_raw
from ipnotary.sdk.verify import (
    ChainView,
    ContentDigests,
    Step,
    VerificationResult,
    verify_certificate,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CONTEXT",
    "CONTEXT_URL",
    "CREDENTIAL_MEDIA_TYPE",
    "CRYPTOSUITE",
    "MAX_CREDENTIAL_BYTES",
    "RECORD_CREDENTIAL_TYPE",
    "VC_CONTEXT_V2",
    "CredentialStatus",
    "CredentialStep",
    "CredentialVerificationResult",
    "ProofInputs",
    "StatusListEntry",
    "VerifiedProof",
    "add_data_integrity_proof",
    "check_credential_status",
    "check_data_model",
    "did_key",
    "eddsa_jcs_2022_inputs",
    "fetch_status_list_credential",
    "issue_record_credential",
    "issue_status_list_credential",
    "parse_credential",
    "public_key_from_did_key",
    "record_credential_subject",
    "verification_method",
    "verify_credential",
    "verify_data_integrity_credential",
]

VC_CONTEXT_V2: Final = "https://www.w3.org/ns/credentials/v2"
# Our terms. An identifier, not a location to fetch: verifiers load the context from here
# (CONTEXT) or from any deployment (GET /v1/credentials/contexts/v1), never from the network.
CONTEXT_URL: Final = "https://w3id.org/ipnotary/credentials/v1"
_VOCAB: Final = "https://w3id.org/ipnotary/credentials#"
_XSD_DATETIME: Final = "http://www.w3.org/2001/XMLSchema#dateTime"

RECORD_CREDENTIAL_TYPE: Final = "NotarisedRecordCredential"
_SUBJECT_TYPE: Final = "NotarisedRecord"
CRYPTOSUITE: Final = "eddsa-jcs-2022"
_PROOF_TYPE: Final = "DataIntegrityProof"
_ASSERTION: Final = "assertionMethod"
# VC 2.0 registers application/vc for a credential, whatever secures it (here an embedded proof).
CREDENTIAL_MEDIA_TYPE: Final = "application/vc"
_REVOCATION: Final = "revocation"

# The certificate's own limit and room for the wrapper; a status list of a million entries.
MAX_CREDENTIAL_BYTES: Final = MAX_CERTIFICATE_BYTES + 64 * 1024
MAX_STATUS_LIST_CREDENTIAL_BYTES: Final = 2 * 1024 * 1024 + 16 * 1024

CONTEXT: Final[dict[str, Any]] = {
    "@context": {
        "@protected": True,
        RECORD_CREDENTIAL_TYPE: _VOCAB + RECORD_CREDENTIAL_TYPE,
        _SUBJECT_TYPE: {
            "@id": _VOCAB + _SUBJECT_TYPE,
            "@context": {
                "@protected": True,
                "id": "@id",
                "type": "@type",
                "recordKind": _VOCAB + "recordKind",
                "recordId": _VOCAB + "recordId",
                "leafHash": _VOCAB + "leafHash",
                "receivedAt": {"@id": _VOCAB + "receivedAt", "@type": _XSD_DATETIME},
                "holder": {
                    "@id": _VOCAB + "holder",
                    "@context": {"@protected": True, "principalId": _VOCAB + "principalId"},
                },
                "content": {
                    "@id": _VOCAB + "content",
                    "@context": {
                        "@protected": True,
                        "size": {
                            "@id": _VOCAB + "size",
                            "@type": "http://www.w3.org/2001/XMLSchema#integer",
                        },
                        "sha256": _VOCAB + "sha256",
                        "sm3": _VOCAB + "sm3",
                        "cid": _VOCAB + "cid",
                        "cidV1": _VOCAB + "cidV1",
                        "declared": {"@id": _VOCAB + "declared", "@container": "@set"},
                    },
                },
                "commitment": _VOCAB + "commitment",
                "provenTime": {"@id": _VOCAB + "provenTime", "@type": _XSD_DATETIME},
                "timeSource": _VOCAB + "timeSource",
                "timeEvidence": {
                    "@id": _VOCAB + "timeEvidence",
                    "@container": "@set",
                    "@context": {
                        "@protected": True,
                        "source": _VOCAB + "timeEvidenceSource",
                        "time": {"@id": _VOCAB + "timeEvidenceTime", "@type": _XSD_DATETIME},
                        "detail": _VOCAB + "timeEvidenceDetail",
                    },
                },
                # The certificate is one JSON value, hashed and signed as JCS bytes elsewhere:
                # to JSON-LD it is a literal, never a graph to reinterpret.
                "certificate": {"@id": _VOCAB + "certificate", "@type": "@json"},
            },
        },
    }
}

# XML Schema dateTimeStamp (a dateTime with a time zone), as VC 2.0 requires of validFrom/Until.
_DATETIME_STAMP = re.compile(
    r"^-?(?:[1-9][0-9]{3,}|0[0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?|24:00:00(?:\.0+)?)"
    r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))$"
)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_DID_KEY = re.compile(
    r"^did:key:(z6Mk[1-9A-HJ-NP-Za-km-z]{40,50})(?:#(z6Mk[1-9A-HJ-NP-Za-km-z]+))?$"
)
_MAX_SKEW = timedelta(seconds=300)


class CredentialStep(StrEnum):
    """The credential's own steps; the embedded certificate's are ``ipnotary.sdk.verify.Step``."""

    FORMAT = "credential_format"
    PROOF = "credential_proof"
    ISSUER = "credential_issuer"
    SUBJECT = "credential_subject"
    STATUS = "credential_status"


class CredentialStatus(StrEnum):
    NOT_REVOCABLE = (
        "not_revocable"  # the credential has no status entry: its record is never revoked
    )
    NOT_CHECKED = "not_checked"  # it has one; no list was given or fetched
    ACTIVE = "active"  # the issuer's signed list, checked, does not revoke it


# -- did:key ------------------------------------------------------------------------------------


def did_key(public_key: Ed25519PublicKey) -> str:
    """The ``did:key`` of an Ed25519 key: ``did:key:z6Mk…`` (multicodec ed25519-pub, base58btc)."""
    wrapped = multicodec.wrap("ed25519-pub", public_key_raw(public_key))
    return "did:key:" + multibase.encode(wrapped, "base58btc")


def verification_method(public_key: Ed25519PublicKey) -> str:
    """The key's verification method in its DID document: ``did:key:z6Mk…#z6Mk…``."""
    did = did_key(public_key)
    return f"{did}#{did.removeprefix('did:key:')}"


def public_key_from_did_key(value: str) -> Ed25519PublicKey:
    """The Ed25519 key a ``did:key`` (or its verification method) names; ``FormatError`` for any
    other DID, another key type, or a fragment that is not the key itself."""
    match = _DID_KEY.match(value) if isinstance(value, str) else None
    if match is None:
        raise FormatError(f"{str(value)[:120]!r} is not the did:key of an Ed25519 key")
    encoded, fragment = match.groups()
    if fragment is not None and fragment != encoded:
        raise FormatError("a did:key verification method's fragment must be the key itself")
    try:
        codec, raw = multicodec.unwrap(multibase.decode(encoded))
    except (ValueError, KeyError) as exc:
        raise FormatError(f"the did:key does not decode: {exc}") from exc
    if codec.name != "ed25519-pub" or len(raw) != 32:
        raise FormatError("the did:key does not hold a 32-byte Ed25519 public key")
    key = Ed25519PublicKey.from_public_bytes(raw)
    if did_key(key) != f"did:key:{encoded}":  # base58 has one spelling; refuse any other
        raise FormatError("the did:key is not the one encoding of its key")
    return key


# -- Data Integrity, eddsa-jcs-2022 -------------------------------------------------------------


@dataclass(frozen=True)
class ProofInputs:
    """The byte strings the cryptosuite hashes, as the specification names them."""

    canonical_document: bytes  # JCS of the document without its proof ("transformed data")
    canonical_proof_config: bytes  # JCS of the proof without its proofValue
    hash_data: bytes  # SHA-256(canonical_proof_config) ‖ SHA-256(canonical_document), 64 bytes


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def eddsa_jcs_2022_inputs(
    document: Mapping[str, Any], proof_options: Mapping[str, Any]
) -> ProofInputs:
    """What ``eddsa-jcs-2022`` signs for ``document`` under ``proof_options`` (the proof without
    ``proofValue``): its transformation, proof configuration and hashing algorithms."""
    if proof_options.get("type") != _PROOF_TYPE or proof_options.get("cryptosuite") != CRYPTOSUITE:
        raise FormatError(f"the proof is not a {_PROOF_TYPE} of the {CRYPTOSUITE} cryptosuite")
    created = proof_options.get("created")
    if created is not None and not (isinstance(created, str) and _DATETIME_STAMP.match(created)):
        raise FormatError("proof.created is not an XML Schema dateTime with a time zone")
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in proof_options.items() if k != "proofValue"}
    canonical_document = canonical_json(unsecured)
    canonical_config = canonical_json(config)
    return ProofInputs(
        canonical_document=canonical_document,
        canonical_proof_config=canonical_config,
        hash_data=hashlib.sha256(canonical_config).digest()
        + hashlib.sha256(canonical_document).digest(),
    )


def _proof_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_data_integrity_proof(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    *,
    created: datetime | None,
    method: str | None = None,
) -> dict[str, Any]:
    """``document`` with an ``eddsa-jcs-2022`` proof for ``assertionMethod`` by ``private_key``.

    ``method`` defaults to the key's ``did:key`` verification method. The proof takes the
    document's ``@context``, as the specification's step 2 advises, so it stays valid in a proof
    set or chain."""
    if "proof" in document:
        raise FormatError("the document already has a proof")
    proof: dict[str, Any] = {
        "type": _PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": method or verification_method(private_key.public_key()),
        "proofPurpose": _ASSERTION,
    }
    if created is not None:
        proof["created"] = _proof_time(created)
    if "@context" in document:
        proof["@context"] = document["@context"]
    signature = private_key.sign(eddsa_jcs_2022_inputs(document, proof).hash_data)
    return {**document, "proof": {**proof, "proofValue": multibase.encode(signature, "base58btc")}}


@dataclass(frozen=True)
class VerifiedProof:
    """Who signed a document whose ``eddsa-jcs-2022`` proof verified."""

    verification_method: str
    controller: str  # the did:key
    public_key: Ed25519PublicKey
    key_id: str  # SHA-256 of the raw key, hex: as trust policies and certificates name keys
    created: datetime | None


def _verify_proof(document: Mapping[str, Any], step: str) -> VerifiedProof:
    """Steps 1-9 of the specification's "Verify Proof (eddsa-jcs-2022)", for a document with one
    proof whose verification method is a ``did:key`` (resolved here, offline)."""
    proof = document.get("proof")
    if isinstance(proof, list):
        raise VerificationError(step, "the document has a proof set; one proof is expected")
    if not isinstance(proof, Mapping):
        raise VerificationError(step, "the document has no proof")
    if proof.get("type") != _PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise VerificationError(
            step,
            f"the proof is {proof.get('type')!r} of cryptosuite {proof.get('cryptosuite')!r}; "
            f"expected {_PROOF_TYPE} of {CRYPTOSUITE}",
        )
    if proof.get("proofPurpose") != _ASSERTION:
        raise VerificationError(
            step, f"the proof's purpose is {proof.get('proofPurpose')!r}, not {_ASSERTION}"
        )
    method = proof.get("verificationMethod")
    if not isinstance(method, str):
        raise VerificationError(step, "proof.verificationMethod must be a did:key URL")
    try:
        public_key = public_key_from_did_key(method)
    except FormatError as exc:
        raise VerificationError(step, f"proof.verificationMethod: {exc}") from exc
    if "#" not in method:
        raise VerificationError(step, "proof.verificationMethod names a DID, not a key of it")
    proof_value = proof.get("proofValue")
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        raise VerificationError(step, "proof.proofValue is not a multibase base58btc string")
    try:
        signature = multibase.decode(proof_value)
    except (ValueError, KeyError) as exc:
        raise VerificationError(step, f"proof.proofValue does not decode: {exc}") from exc
    if len(signature) != 64 or multibase.encode(signature, "base58btc") != proof_value:
        raise VerificationError(step, "proof.proofValue is not one 64-byte Ed25519 signature")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    if "@context" in options:
        wanted = _as_list(options["@context"])
        if _as_list(unsecured.get("@context"))[: len(wanted)] != wanted:
            raise VerificationError(
                step, "the document's @context does not start with the proof's @context"
            )
        unsecured["@context"] = options["@context"]
    try:
        inputs = eddsa_jcs_2022_inputs(unsecured, options)
    except FormatError as exc:
        raise VerificationError(step, str(exc)) from exc
    try:
        public_key.verify(signature, inputs.hash_data)
    except InvalidSignature:
        raise VerificationError(
            step, "the proof's signature does not cover this document: it was altered"
        ) from None
    created = options.get("created")
    return VerifiedProof(
        verification_method=str(method),
        controller=str(method).partition("#")[0],
        public_key=public_key,
        key_id=key_id(public_key),
        created=_parse_datetime(created, step) if isinstance(created, str) else None,
    )


def _parse_datetime(value: str, step: str) -> datetime:
    """A dateTimeStamp already matched by ``_DATETIME_STAMP``, in UTC."""
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError as exc:  # 24:00:00, or a year Python's datetime cannot hold
        raise VerificationError(
            step, f"{value[:40]!r} is a time this verifier cannot represent"
        ) from exc


def _issuer_id(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def check_data_model(
    document: Mapping[str, Any], *, now: datetime | None, step: str = CredentialStep.FORMAT
) -> None:
    """The VC 2.0 data model's rules a verifier (or an issuer, before it signs) can check without
    JSON-LD processing; ``VerificationError`` at ``step`` for the first one broken. ``now``: the
    moment the validity period must cover (None: not checked, as an issuer may sign a credential
    valid from later)."""
    context = document.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT_V2:
        raise VerificationError(step, f"@context must be a list starting with {VC_CONTEXT_V2}")
    if not all(isinstance(c, str | dict) for c in context):
        raise VerificationError(step, "@context holds something other than URLs and contexts")
    types = document.get("type")
    if "VerifiableCredential" not in _as_list(types) or not all(
        isinstance(t, str) for t in _as_list(types)
    ):
        raise VerificationError(step, "type must include VerifiableCredential")
    issuer = _issuer_id(document)
    if issuer is None or not _URL.match(issuer):
        raise VerificationError(step, "issuer must be a URL, or an object whose id is one")
    subjects = _as_list(document.get("credentialSubject"))
    if not subjects or not all(isinstance(s, Mapping) and s for s in subjects):
        raise VerificationError(step, "credentialSubject must make a claim (a non-empty object)")
    for subject in subjects:
        if "id" in subject and not (isinstance(subject["id"], str) and _URL.match(subject["id"])):
            raise VerificationError(step, "credentialSubject.id must be a URL")
    for field in ("validFrom", "validUntil"):
        value = document.get(field)
        if value is None:
            continue
        if not isinstance(value, str) or not _DATETIME_STAMP.match(value):
            raise VerificationError(step, f"{field} must be an XML Schema dateTimeStamp")
        moment = _parse_datetime(value, step)
        if now is None:
            continue
        if field == "validFrom" and moment > now + _MAX_SKEW:
            raise VerificationError(step, f"the credential is valid only from {value}")
        if field == "validUntil" and moment < now - _MAX_SKEW:
            raise VerificationError(step, f"the credential was valid only until {value}")
    for status in _as_list(document.get("credentialStatus", [])):
        if not isinstance(status, Mapping) or not isinstance(status.get("type"), str):
            raise VerificationError(step, "credentialStatus must be an object with a type")
        if "id" in status and not (isinstance(status["id"], str) and _URL.match(status["id"])):
            raise VerificationError(step, "credentialStatus.id must be a URL")


def verify_data_integrity_credential(
    document: Mapping[str, Any], *, now: datetime | None = None, require_issuer_key: bool = True
) -> VerifiedProof:
    """Any VC 2.0 credential secured with one ``eddsa-jcs-2022`` proof by a ``did:key``: its data
    model rules, the proof, and (``require_issuer_key``) that the key is the issuer's own, the
    issuer being that ``did:key``. Nothing about whether the issuer is trusted:
    :func:`verify_credential` decides that for our credentials. Without ``require_issuer_key``
    the caller binds the key to an issuer that is no ``did:key`` (as the specification's vector
    names ``https://vc.example/issuers/5678``) by means of its own."""
    moment = now or datetime.now(UTC)
    check_data_model(document, now=moment)
    proof = _verify_proof(document, CredentialStep.PROOF)
    if require_issuer_key and proof.controller != _issuer_id(document):
        raise VerificationError(
            CredentialStep.PROOF,
            f"the proof is by {proof.controller}, not by the credential's issuer "
            f"{_issuer_id(document)}",
        )
    if proof.created is not None and proof.created > moment + _MAX_SKEW:
        raise VerificationError(CredentialStep.PROOF, "the proof says it was created in the future")
    return proof


# -- our record credentials ---------------------------------------------------------------------


@dataclass(frozen=True)
class StatusListEntry:
    """A record's place in a Bitstring Status List (``credentialStatus``)."""

    list_url: str
    index: int
    purpose: str = _REVOCATION

    def as_json(self) -> dict[str, Any]:
        return {
            "id": f"{self.list_url}#{self.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": self.purpose,
            "statusListIndex": str(self.index),
            "statusListCredential": self.list_url,
        }


# Who a record belongs to, by kind: its holder; for credit and pledge records the authority or
# registrar that recorded them.
_PARTY_FIELDS = ("holder", "authority", "registrar")
_FINGERPRINT_FIELDS = ("content", "ciphertext")  # stored bytes: a file, or a trade secret's cipher
_FINGERPRINT_KEYS = {"size": "size", "sha256": "sha256", "sm3": "sm3", "cid": "cid"}
_FINGERPRINT_KEYS["cid_v1"] = "cidV1"


def _commitment(record: Mapping[str, Any]) -> str | None:
    """The commitment a record holds instead of content: a trade secret's, a credit entry's, or
    the one of the filing (disclosure) or entry (repair) it refers to."""
    for value in (
        record.get("commitment"),
        record.get("entry_commitment"),
        *(
            record[field].get("commitment")
            for field in ("filing", "entry")
            if isinstance(record.get(field), Mapping)
        ),
    ):
        if isinstance(value, str):
            return value
    return None


def record_credential_subject(certificate: AnyCertificate) -> dict[str, Any]:
    """What the credential says about the record, all of it read from the certificate's record
    (so a verifier can derive it again): kind, id, leaf hash, holder, digests or commitment."""
    record = certificate.record
    subject: dict[str, Any] = {
        "type": _SUBJECT_TYPE,
        "recordKind": certificate.kind,
        "recordId": certificate.record_id,
        "leafHash": certificate.leaf_hash,
    }
    for field in _PARTY_FIELDS:
        party = record.get(field)
        if isinstance(party, Mapping) and isinstance(party.get("id"), str):
            subject["holder"] = {"principalId": party["id"], "name": str(party.get("name", ""))}
            break
    for field in _FINGERPRINT_FIELDS:
        fingerprint = record.get(field)
        if isinstance(fingerprint, Mapping):
            content = {
                ours: fingerprint[theirs]
                for theirs, ours in _FINGERPRINT_KEYS.items()
                if fingerprint.get(theirs) is not None
            }
            if isinstance(fingerprint.get("declared"), list):
                content["declared"] = list(fingerprint["declared"])
            subject["content"] = content
            break
    commitment = _commitment(record)
    if commitment is not None:
        subject["commitment"] = commitment
    if isinstance(record.get("received_at"), str):
        subject["receivedAt"] = record["received_at"]
    return subject


def issue_record_credential(
    certificate: AnyCertificate,
    policy: TrustPolicy | None,
    private_key: Ed25519PrivateKey,
    *,
    status: StatusListEntry | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The certificate as a signed credential. The proven time and its sources are the issuer's
    findings under ``policy`` (its published one): a verifier finds its own under its policy."""
    result = verify_certificate(certificate, policy, now=now)
    subject = record_credential_subject(result.certificate)
    subject["provenTime"] = format_timestamp(result.proven_time)
    subject["timeSource"] = result.time_source.value
    subject["timeEvidence"] = [
        {"source": e.source.value, "time": format_timestamp(e.time), "detail": e.detail}
        for e in result.time_evidence
    ]
    subject["certificate"] = result.certificate.model_dump(mode="json", exclude_unset=True)
    unsigned: dict[str, Any] = {
        "@context": [VC_CONTEXT_V2, CONTEXT_URL],
        "type": ["VerifiableCredential", RECORD_CREDENTIAL_TYPE],
        "issuer": did_key(private_key.public_key()),
        "validFrom": result.certificate.issued_at,
        "credentialSubject": subject,
    }
    if status is not None:
        unsigned["credentialStatus"] = status.as_json()
    return add_data_integrity_proof(unsigned, private_key, created=now or datetime.now(UTC))


def issue_status_list_credential(
    url: str,
    revoked: Iterable[int],
    private_key: Ed25519PrivateKey,
    *,
    valid_from: datetime,
    size: int = MIN_LIST_BITS,
) -> dict[str, Any]:
    """The ``BitstringStatusListCredential`` at ``url`` revoking the entries ``revoked``.

    ``valid_from`` is when the list last changed; the proof is dated then too, so the list
    credential is the same bytes until it changes again (Ed25519 signatures are deterministic)."""
    unsigned = {
        "@context": [VC_CONTEXT_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": did_key(private_key.public_key()),
        "validFrom": format_timestamp(valid_from),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": _REVOCATION,
            "encodedList": encode_list(revoked, size=size),
        },
    }
    return add_data_integrity_proof(unsigned, private_key, created=valid_from)


_TOP_LEVEL = frozenset(
    {"@context", "type", "issuer", "validFrom", "credentialSubject", "credentialStatus", "proof"}
)
_TIME_CLAIMS = frozenset({"provenTime", "timeSource", "timeEvidence", "certificate"})


def parse_credential(data: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """One of our record credentials as JSON, within its limits; ``VerificationError`` at step
    ``credential_format`` for anything else (the proof is not checked here)."""
    step = CredentialStep.FORMAT
    if isinstance(data, Mapping):
        document: Any = dict(data)
        try:
            size = len(canonical_json(document))
        except FormatError as exc:
            raise VerificationError(step, str(exc)) from exc
        if size > MAX_CREDENTIAL_BYTES:
            raise VerificationError(step, f"the credential is over {MAX_CREDENTIAL_BYTES} bytes")
    else:
        try:
            document = parse_json(data, max_bytes=MAX_CREDENTIAL_BYTES, what="credential")
        except FormatError as exc:
            raise VerificationError(step, str(exc)) from exc
    if not isinstance(document, dict):
        raise VerificationError(step, "a credential is a JSON object")
    unknown = sorted(set(document) - _TOP_LEVEL)
    if unknown:
        raise VerificationError(step, f"unknown member(s) {', '.join(unknown)[:200]}")
    if document.get("@context") != [VC_CONTEXT_V2, CONTEXT_URL]:
        raise VerificationError(step, f"@context must be [{VC_CONTEXT_V2}, {CONTEXT_URL}]")
    if document.get("type") != ["VerifiableCredential", RECORD_CREDENTIAL_TYPE]:
        raise VerificationError(
            step, f"type must be [VerifiableCredential, {RECORD_CREDENTIAL_TYPE}]"
        )
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != _SUBJECT_TYPE:
        raise VerificationError(step, f"credentialSubject must be one {_SUBJECT_TYPE}")
    if not isinstance(subject.get("certificate"), dict):
        raise VerificationError(step, "credentialSubject.certificate must be the certificate")
    if not isinstance(subject.get("provenTime"), str) or not isinstance(
        subject.get("timeEvidence"), list
    ):
        raise VerificationError(step, "credentialSubject must state provenTime and timeEvidence")
    status = document.get("credentialStatus")
    if status is not None:
        _status_entry(status, step)
    proof = document.get("proof")
    if not isinstance(proof, dict) or not isinstance(proof.get("created"), str):
        raise VerificationError(step, "the credential must have one proof, with its creation time")
    return document


def _status_entry(status: Any, step: str) -> StatusListEntry:
    if not isinstance(status, Mapping) or status.get("type") != "BitstringStatusListEntry":
        raise VerificationError(step, "credentialStatus must be one BitstringStatusListEntry")
    url, index = status.get("statusListCredential"), status.get("statusListIndex")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 2000:
        raise VerificationError(
            step, "credentialStatus.statusListCredential must be an http(s) URL"
        )
    if not isinstance(index, str) or not is_ascii_digits(index) or len(index) > 10:
        raise VerificationError(step, "credentialStatus.statusListIndex must be a decimal string")
    if status.get("statusPurpose") != _REVOCATION:
        raise VerificationError(step, "credentialStatus.statusPurpose must be revocation")
    if status.get("id") == url:
        raise VerificationError(step, "credentialStatus.id must not be the list's URL")
    return StatusListEntry(url, int(index), _REVOCATION)


@dataclass(frozen=True)
class CredentialVerificationResult:
    """What a verified credential proves: its own checks, and its certificate's under the same
    policy (``certificate``: proven time, sources, verdict)."""

    certificate: VerificationResult
    issuer: str  # the did:key that signed the credential
    issuer_key_id: str
    proof_created: datetime | None
    status: CredentialStatus
    status_list: str | None  # the list's URL, for a revocable record
    steps: tuple[str, ...]
    notes: tuple[str, ...]
    credential: dict[str, Any]

    @property
    def trusted(self) -> bool:
        return self.certificate.trusted


def verify_credential(
    credential: bytes | str | Mapping[str, Any],
    policy: TrustPolicy | None,
    *,
    content: bytes | str | Path | ContentDigests | None = None,
    chain: ChainView | None = None,
    min_confirmations: int | None = None,
    status_list: bytes | str | Mapping[str, Any] | None = None,
    fetch_status: bool = False,
    http: httpx.Client | None = None,
    now: datetime | None = None,
) -> CredentialVerificationResult:
    """Verify one of our record credentials under ``policy``; raise ``VerificationError`` at the
    first failed step (the module's docstring lists them).

    ``policy``, ``content``, ``chain`` and ``min_confirmations`` are those of
    ``verify_certificate``, which checks the embedded certificate: the credential is trusted only
    as far as its certificate is. The revocation status is checked against ``status_list`` (the
    list credential, e.g. saved earlier) or, with ``fetch_status``, the list fetched from its URL
    (through ``http`` if given); a revoked credential fails at ``credential_status``. A list that
    cannot be fetched raises ``TransportError`` or ``APIError``: that says nothing about the
    credential."""
    moment = now or datetime.now(UTC)
    document = parse_credential(credential)
    steps: list[str] = [CredentialStep.FORMAT]
    notes: list[str] = []
    proof = verify_data_integrity_credential(document, now=moment)
    assert proof.created is not None  # parse_credential requires it
    certificate = _embedded_certificate(document)
    issued_at = parse_time(certificate.issued_at)
    if proof.created < issued_at.replace(microsecond=0) - _MAX_SKEW:
        raise VerificationError(
            CredentialStep.PROOF,
            f"the proof says it was made {proof.created.isoformat()}, before the certificate it "
            f"carries was issued ({certificate.issued_at})",
        )
    steps.append(CredentialStep.PROOF)
    if policy is not None:
        _check_credential_issuer(policy, proof)
        steps.append(CredentialStep.ISSUER)
    _check_subject(document, certificate)
    steps.append(CredentialStep.SUBJECT)

    result = verify_certificate(
        certificate,
        policy,
        content=content,
        chain=chain,
        min_confirmations=min_confirmations,
        now=now,
    )
    steps.extend(result.steps)
    claimed = document["credentialSubject"]["provenTime"]
    if claimed != format_timestamp(result.proven_time):
        notes.append(
            f"the credential states the record existed by {claimed} "
            f"({document['credentialSubject'].get('timeSource')}) under its issuer's policy; "
            f"under yours it is proven by {format_timestamp(result.proven_time)} "
            f"({result.time_source.value})"
        )

    state, url = CredentialStatus.NOT_REVOCABLE, None
    if "credentialStatus" in document:
        entry = _status_entry(document["credentialStatus"], CredentialStep.FORMAT)
        state, url = CredentialStatus.NOT_CHECKED, entry.list_url
        if status_list is None and fetch_status:
            status_list = fetch_status_list_credential(entry.list_url, http=http)
        if status_list is not None:
            if check_credential_status(document, status_list, now=moment):
                raise VerificationError(
                    CredentialStep.STATUS,
                    f"the issuer has revoked this credential (entry {entry.index} of its status "
                    f"list {entry.list_url})",
                )
            state = CredentialStatus.ACTIVE
            steps.append(CredentialStep.STATUS)
        else:
            notes.append("the credential's revocation status was not checked")
    return CredentialVerificationResult(
        certificate=result,
        issuer=proof.controller,
        issuer_key_id=proof.key_id,
        proof_created=proof.created,
        status=state,
        status_list=url,
        steps=tuple(steps),
        notes=(*notes, *result.notes),
        credential=document,
    )


def _embedded_certificate(document: Mapping[str, Any]) -> AnyCertificate:
    try:
        return parse_certificate(document["credentialSubject"]["certificate"])
    except FormatError as exc:
        raise VerificationError(Step.FORMAT, f"the credential's certificate: {exc}") from exc


def _check_credential_issuer(policy: TrustPolicy, proof: VerifiedProof) -> None:
    key = policy.issuer(proof.key_id)
    if key is None:
        raise VerificationError(
            CredentialStep.ISSUER,
            f"the credential was signed by {proof.controller} (key {proof.key_id}), which the "
            "trust policy does not list: anyone can sign a credential with a key of their own",
        )
    assert proof.created is not None
    if not key.covers(proof.created):
        raise VerificationError(
            CredentialStep.ISSUER,
            f"issuer key {proof.key_id} is trusted from {key.not_before or 'the start'} to "
            f"{key.not_after or 'now'}, and the credential says it was signed "
            f"{proof.created.isoformat()}",
        )


def _check_subject(document: Mapping[str, Any], certificate: AnyCertificate) -> None:
    subject = document["credentialSubject"]
    expected = record_credential_subject(certificate)
    for field in sorted(set(subject) | set(expected)):
        if field in _TIME_CLAIMS:
            continue
        if subject.get(field) != expected.get(field):
            raise VerificationError(
                CredentialStep.SUBJECT,
                f"credentialSubject.{field} is {str(subject.get(field))[:200]!r}, but the "
                f"certificate's record says {str(expected.get(field))[:200]!r}",
            )
    if document.get("validFrom") != certificate.issued_at:
        raise VerificationError(
            CredentialStep.SUBJECT,
            f"validFrom is {document.get('validFrom')!r}; the certificate was issued "
            f"{certificate.issued_at}",
        )
    claimed = subject["provenTime"]
    if not _DATETIME_STAMP.match(claimed) or not all(
        isinstance(e, Mapping) and isinstance(e.get("time"), str) for e in subject["timeEvidence"]
    ):
        raise VerificationError(CredentialStep.SUBJECT, "the stated times are not dateTimes")


# -- revocation ---------------------------------------------------------------------------------


def check_credential_status(
    credential: Mapping[str, Any],
    status_list_credential: bytes | str | Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> bool:
    """Whether the issuer's status list revokes ``credential`` (True: revoked).

    The list credential must be the one the entry names, signed (``eddsa-jcs-2022``) by the
    credential's own issuer, for revocation; ``VerificationError`` at ``credential_status``
    otherwise."""
    step = CredentialStep.STATUS
    entry = _status_entry(credential.get("credentialStatus"), step)
    if isinstance(status_list_credential, Mapping):
        listed: Any = dict(status_list_credential)
    else:
        try:
            listed = parse_json(
                status_list_credential,
                max_bytes=MAX_STATUS_LIST_CREDENTIAL_BYTES,
                what="status list credential",
            )
        except FormatError as exc:
            raise VerificationError(step, str(exc)) from exc
    if not isinstance(listed, dict):
        raise VerificationError(step, "a status list credential is a JSON object")
    try:
        proof = verify_data_integrity_credential(listed, now=now)
    except VerificationError as exc:
        raise VerificationError(step, f"the status list credential: {exc.reason}") from exc
    if proof.controller != _issuer_id(credential):
        raise VerificationError(
            step,
            f"the status list is signed by {proof.controller}, not by the credential's issuer "
            f"{_issuer_id(credential)}",
        )
    if listed.get("id") != entry.list_url:
        raise VerificationError(
            step, f"the status list credential is {listed.get('id')!r}, not {entry.list_url}"
        )
    if "BitstringStatusListCredential" not in _as_list(listed.get("type")):
        raise VerificationError(
            step, "the status list credential is no BitstringStatusListCredential"
        )
    subject = listed.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
        raise VerificationError(step, "the status list credential holds no BitstringStatusList")
    if subject.get("statusPurpose") != entry.purpose:
        raise VerificationError(
            step, f"the status list is for {subject.get('statusPurpose')!r}, not {entry.purpose}"
        )
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise VerificationError(step, "the status list has no encodedList")
    try:
        return bit_is_set(decode_list(encoded), entry.index)
    except FormatError as exc:
        raise VerificationError(step, f"the status list: {exc}") from exc


def fetch_status_list_credential(
    url: str, *, http: httpx.Client | None = None, timeout: float = 10.0
) -> bytes:
    """The status list credential at ``url`` (http or https), at most
    ``MAX_STATUS_LIST_CREDENTIAL_BYTES``; ``TransportError`` if it cannot be reached, ``APIError``
    for an answer other than 200."""
    import httpx  # only when a list is fetched: verifying offline needs no HTTP client

    if not url.startswith(("https://", "http://")):
        raise FormatError(f"a status list is fetched over http(s), not {url[:80]!r}")
    client = http or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        with client.stream("GET", url, headers={"Accept": CREDENTIAL_MEDIA_TYPE}) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_STATUS_LIST_CREDENTIAL_BYTES:
                    raise FormatError(
                        f"the status list at {url} is over {MAX_STATUS_LIST_CREDENTIAL_BYTES} bytes"
                    )
            if response.status_code != 200:
                raise APIError(
                    response.status_code,
                    "status_list_unavailable",
                    "Status list unavailable",
                    f"GET {url} answered {response.status_code}",
                )
            return bytes(body)
    except httpx.HTTPError as exc:
        raise TransportError(f"could not fetch the status list {url}: {exc}") from exc
    finally:
        if http is None:
            client.close()
