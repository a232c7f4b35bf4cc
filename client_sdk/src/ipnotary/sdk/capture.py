"""Web-page captures: the WACZ package a capture record anchors, and its offline verification.

A capture record (``kind: "capture"``, :class:`~ipnotary.sdk.records.CaptureRecord`) anchors
one WACZ file: its fingerprint is the record's ``content``, its ``datapackage.json`` digest and
the key that signed it are in ``package``, and every file inside it is named with its SHA-256 in
``files``. :func:`verify_capture` checks, in order, and raises
:class:`~ipnotary.sdk.errors.VerificationError` naming the step that failed:

1. the certificate (:func:`~ipnotary.sdk.verify.verify_certificate` with the WACZ as its content,
   so step ``content`` proves the WACZ is the one anchored), under the verifier's policy;
2. ``capture_record``  the record is a capture record of ours;
3. ``wacz_package``    the file is a ZIP within limits, with ``datapackage.json`` and
                       ``datapackage-digest.json``, safe names, and nothing it does not list;
4. ``wacz_digests``    each resource's SHA-256 and size equal ``datapackage.json``'s;
5. ``wacz_signature``  ``datapackage-digest.json`` holds the digest of ``datapackage.json`` and an
                       anonymous WACZ signature (WACZ Signing and Verification 0.1.0: ECDSA P-256
                       over the ``hash`` string, ``publicKey`` as SubjectPublicKeyInfo), made by
                       the key the record names, on the ``created`` the package states;
6. ``capture_files``   the files and ``datapackage.json`` are exactly those the record anchored.

The WACZ follows 1.2.0's layout and fields (``home``, CDXJ indexes, other files outside
``archive/``, ``indexes/`` and ``pages/``, all listed) and keeps 1.1.1's ``profile`` and
``wacz_version`` values, which is what the reference validator (py-wacz ``wacz validate``)
accepts; this verifier takes either form.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ipnotary.sdk.certificate import AnyCertificate
from ipnotary.sdk.errors import FormatError, VerificationError
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.records import CaptureRecord, parse_record
from ipnotary.sdk.verify import ChainView, VerificationResult, verify_certificate

__all__ = [
    "DATAPACKAGE",
    "DIGEST_FILE",
    "MAX_WACZ_ENTRIES",
    "PROVENANCE",
    "SIGNED_DATA_FIELDS",
    "CaptureStep",
    "CaptureVerification",
    "WaczFile",
    "WaczPackage",
    "capture_report",
    "is_wacz",
    "read_wacz",
    "sign_datapackage_hash",
    "verify_capture",
    "verify_wacz_signature",
]

DATAPACKAGE = "datapackage.json"
DIGEST_FILE = "datapackage-digest.json"
PROVENANCE = "capture/provenance.json"
SCREENSHOT = "capture/screenshot.png"
SIGNED_DATA_FIELDS = frozenset({"hash", "created", "software", "version", "signature", "publicKey"})

# Limits, to keep a hostile package from exhausting a verifier (a zip bomb, a million entries).
MAX_WACZ_ENTRIES = 256
MAX_ENTRY_BYTES = 2 * 1024**3
MAX_MANIFEST_BYTES = 1024**2


class CaptureStep:
    CAPTURE_RECORD = "capture_record"
    WACZ_PACKAGE = "wacz_package"
    WACZ_DIGESTS = "wacz_digests"
    WACZ_SIGNATURE = "wacz_signature"
    CAPTURE_FILES = "capture_files"


@dataclass(frozen=True)
class WaczFile:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class WaczPackage:
    datapackage: Mapping[str, Any]
    datapackage_sha256: str
    digest: Mapping[str, Any]
    files: tuple[WaczFile, ...]  # every resource, as measured in the ZIP


@dataclass(frozen=True)
class CaptureVerification:
    """What a capture's verification established."""

    certificate: VerificationResult
    record: CaptureRecord
    package: WaczPackage
    signing_key: str
    provenance: Mapping[str, Any]
    steps: tuple[str, ...]


def is_wacz(path: Path) -> bool:
    """Whether ``path`` is a ZIP holding a ``datapackage.json`` (a WACZ), cheaply."""
    try:
        with zipfile.ZipFile(path) as archive:
            return DATAPACKAGE in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _hash_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > info.file_size or size > MAX_ENTRY_BYTES:
                raise VerificationError(
                    CaptureStep.WACZ_PACKAGE,
                    f"{info.filename} inflates past its declared size: not a package of ours",
                )
            digest.update(chunk)
    return digest.hexdigest(), size


def _read_json(archive: zipfile.ZipFile, name: str) -> tuple[dict[str, Any], bytes]:
    info = archive.getinfo(name)
    if info.file_size > MAX_MANIFEST_BYTES:
        raise VerificationError(CaptureStep.WACZ_PACKAGE, f"{name} is over 1 MiB")
    raw = archive.read(info)
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise VerificationError(CaptureStep.WACZ_PACKAGE, f"{name} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise VerificationError(CaptureStep.WACZ_PACKAGE, f"{name} is not a JSON object")
    return value, raw


def read_wacz(source: Path | bytes | IO[bytes]) -> WaczPackage:
    """Open a WACZ and check its manifest against its contents (steps ``wacz_package`` and
    ``wacz_digests``); the signature is :func:`verify_wacz_signature`'s."""
    stream: IO[bytes] | Path = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        archive = zipfile.ZipFile(stream)
    except (OSError, zipfile.BadZipFile) as exc:
        raise VerificationError(CaptureStep.WACZ_PACKAGE, f"not a ZIP file: {exc}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_WACZ_ENTRIES:
            raise VerificationError(
                CaptureStep.WACZ_PACKAGE, f"{len(infos)} entries, over {MAX_WACZ_ENTRIES}"
            )
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise VerificationError(CaptureStep.WACZ_PACKAGE, "an entry name appears twice")
        for name in names:
            if name.startswith("/") or "\\" in name or ".." in name.split("/"):
                raise VerificationError(CaptureStep.WACZ_PACKAGE, f"unsafe entry name {name!r}")
        for required in (DATAPACKAGE, DIGEST_FILE):
            if required not in names:
                raise VerificationError(CaptureStep.WACZ_PACKAGE, f"{required} is missing")
        datapackage, raw = _read_json(archive, DATAPACKAGE)
        digest, _ = _read_json(archive, DIGEST_FILE)
        resources = datapackage.get("resources")
        if not isinstance(resources, list) or not resources:
            raise VerificationError(CaptureStep.WACZ_PACKAGE, "datapackage.json lists no resources")
        listed: dict[str, Mapping[str, Any]] = {}
        for resource in resources:
            if not isinstance(resource, Mapping) or not isinstance(resource.get("path"), str):
                raise VerificationError(CaptureStep.WACZ_PACKAGE, "a resource without a path")
            listed[resource["path"]] = resource
        unlisted = sorted(set(names) - set(listed) - {DATAPACKAGE, DIGEST_FILE})
        if unlisted:
            raise VerificationError(
                CaptureStep.WACZ_PACKAGE,
                f"the package holds files its datapackage.json does not list: {unlisted}",
            )
        files = []
        for path, resource in sorted(listed.items()):
            if path not in names:
                raise VerificationError(
                    CaptureStep.WACZ_DIGESTS, f"{path} is listed but not in the package"
                )
            sha256, size = _hash_entry(archive, archive.getinfo(path))
            if resource.get("hash") != f"sha256:{sha256}" or resource.get("bytes") != size:
                raise VerificationError(
                    CaptureStep.WACZ_DIGESTS,
                    f"{path} hashes to sha256:{sha256} ({size} bytes) but datapackage.json "
                    f"says {resource.get('hash')} ({resource.get('bytes')} bytes): altered",
                )
            files.append(WaczFile(path, sha256, size))
    return WaczPackage(datapackage, hashlib.sha256(raw).hexdigest(), digest, tuple(files))


def _raw_signature(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign_datapackage_hash(
    key: ec.EllipticCurvePrivateKey, datapackage_hash: str, *, created: str, software: str
) -> dict[str, str]:
    """The anonymous ``signedData`` for ``datapackage_hash`` (``sha256:<hex>``): ECDSA P-256 with
    SHA-256 over the hash string, as ``r || s`` (the WebCrypto form ArchiveWeb.page writes) in
    base64, and the public key as base64 DER SubjectPublicKeyInfo."""
    der = key.sign(datapackage_hash.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "hash": datapackage_hash,
        "created": created,
        "software": software,
        "version": "0.1.0",
        "signature": base64.b64encode(_raw_signature(der)).decode("ascii"),
        "publicKey": base64.b64encode(public).decode("ascii"),
    }


def verify_wacz_signature(package: WaczPackage) -> str:
    """Check ``datapackage-digest.json``: the digest, then the anonymous signature; returns the
    signing public key (base64 SubjectPublicKeyInfo), step ``wacz_signature`` otherwise."""
    step = CaptureStep.WACZ_SIGNATURE
    digest = package.digest
    expected = f"sha256:{package.datapackage_sha256}"
    if digest.get("path") != DATAPACKAGE or digest.get("hash") != expected:
        raise VerificationError(
            step, "datapackage-digest.json does not hold the digest of this datapackage.json"
        )
    signed = digest.get("signedData")
    if not isinstance(signed, Mapping):
        raise VerificationError(step, "the package is not signed (no signedData)")
    extra = set(signed) - SIGNED_DATA_FIELDS
    if extra or "publicKey" not in signed:
        raise VerificationError(
            step, f"signedData is not the anonymous form (fields {sorted(signed)})"
        )
    if signed.get("hash") != expected:
        raise VerificationError(step, "signedData signs another datapackage.json")
    if signed.get("created") != package.datapackage.get("created"):
        raise VerificationError(step, "signedData's created differs from the package's")
    try:
        public = serialization.load_der_public_key(base64.b64decode(str(signed["publicKey"])))
        raw = base64.b64decode(str(signed.get("signature", "")), validate=True)
    except (ValueError, TypeError) as exc:
        raise VerificationError(step, f"unreadable key or signature: {exc}") from None
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise VerificationError(step, "the signing key is not ECDSA P-256")
    if len(raw) != 64:
        raise VerificationError(step, "the signature is not 64 bytes (r || s)")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, expected.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VerificationError(step, "the WACZ signature does not verify") from None
    return str(signed["publicKey"])


def verify_capture(
    wacz: Path | bytes,
    certificate: AnyCertificate | bytes | str | Mapping[str, Any],
    policy: TrustPolicy | None,
    *,
    chain: ChainView | None = None,
    min_confirmations: int | None = None,
    now: datetime | None = None,
) -> CaptureVerification:
    """Verify a capture offline: its certificate under ``policy`` with the WACZ as content, then
    the package, its signature and that every file is the one anchored (module docstring)."""
    result = verify_certificate(
        certificate,
        policy,
        content=wacz,
        chain=chain,
        min_confirmations=min_confirmations,
        now=now,
    )
    try:
        record = parse_record(result.certificate.record)
    except FormatError as exc:
        raise VerificationError(CaptureStep.CAPTURE_RECORD, str(exc)) from None
    if not isinstance(record, CaptureRecord):
        raise VerificationError(
            CaptureStep.CAPTURE_RECORD, f"the certificate is for a {record.kind} record"
        )
    steps = [*result.steps, CaptureStep.CAPTURE_RECORD, CaptureStep.WACZ_PACKAGE]
    package = read_wacz(wacz)
    steps.append(CaptureStep.WACZ_DIGESTS)
    key = verify_wacz_signature(package)
    if key != record.package.signing_key:
        raise VerificationError(
            CaptureStep.WACZ_SIGNATURE, "the WACZ was signed by a key the record does not name"
        )
    steps.append(CaptureStep.WACZ_SIGNATURE)
    anchored = {(f.path, f.sha256, f.size) for f in record.files}
    present = {(f.path, f.sha256, f.size) for f in package.files}
    if record.package.datapackage_sha256 != package.datapackage_sha256 or anchored != present:
        differ = sorted({p for p, _, _ in anchored ^ present})
        raise VerificationError(
            CaptureStep.CAPTURE_FILES,
            "the package's files are not those the record anchored"
            + (f": {', '.join(differ)}" if differ else ": datapackage.json differs"),
        )
    steps.append(CaptureStep.CAPTURE_FILES)
    provenance: Mapping[str, Any] = {}
    source: Path | IO[bytes] = wacz if isinstance(wacz, Path) else io.BytesIO(wacz)
    with zipfile.ZipFile(source) as archive:
        if PROVENANCE in archive.namelist():
            provenance, _ = _read_json(archive, PROVENANCE)
    return CaptureVerification(result, record, package, key, provenance, tuple(steps))


def capture_report(verified: CaptureVerification) -> dict[str, Any]:
    """What ``notary verify`` adds to its report for a capture: the full list of steps and what
    the capture recorded (the fields of ``--json``)."""
    record = verified.record
    return {
        "steps": list(verified.steps),
        "capture": {
            "url": record.url,
            "final_url": record.final_url,
            "captured_at": record.captured_at,
            "environment_clean": record.environment.clean,
            "environment_failed": list(record.environment.failed),
            "blocked_requests": record.blocked_requests,
            "servers": [f"{s.host}:{s.port} {s.ip}" for s in record.servers],
            "files_checked": len(verified.package.files),
            "signing_key": verified.signing_key,
        },
    }
