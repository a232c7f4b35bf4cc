"""``NotaryClient``: a typed HTTP client for the notary service.

The transport is injectable (``httpx.MockTransport`` in tests, a custom one for proxies or mTLS).
Nothing the service returns is trusted blindly: receipts and certificates are checked with the
SDK's own verifier before they are handed to the caller, and downloaded content is re-hashed.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Self

import httpx

from ipnotary.sdk.certificate import AnyCertificate, Receipt, parse_certificate, record_leaf_hash
from ipnotary.sdk.errors import APIError, ContentIntegrityError, FormatError, TransportError
from ipnotary.sdk.kinds import RecordKind, RecordStatus
from ipnotary.sdk.policy import TrustPolicy
from ipnotary.sdk.records import RecordBody, WorkRecord, content_of, parse_record
from ipnotary.sdk.signing import key_id, public_key_from_b64, signature_is_valid
from ipnotary.sdk.verify import verify_certificate

if TYPE_CHECKING:  # the trade-secret module (cryptography's HPKE) loads only when used
    from ipnotary.sdk.arbitration import CasesClient
    from ipnotary.sdk.attestations import NotarialClient
    from ipnotary.sdk.complaints import ComplaintsClient
    from ipnotary.sdk.trade_secret import OpenedSecret, RecipientKeys, RecipientPublicKey

__all__ = [
    "RECORD_PATHS",
    "STAGES",
    "CertificatePdf",
    "NotaryClient",
    "RecordKind",
    "Submission",
    "WorkSubmission",
    "record_path",
]

ProgressCallback = Callable[[int], None]
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Submission:
    """A submission's answer: the record id, whether it is new, and the verified signed receipt.

    ``warnings``: what was not done, each ``{code, detail, fields}``; with ``created`` false,
    ``details_not_changed`` names the details sent that differ from the record, which stays as it
    was first recorded (docs/api.md)."""

    id: str
    created: bool
    status: str
    receipt: Receipt
    warnings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class CertificatePdf:
    """A record's signed PDF certificate, checked, and the link that opens it without an API key
    (``None`` when the service gives none)."""

    data: bytes
    shared_link: str | None


# The header the certificate routes name a record's shared link in (docs/api.md).
SHARED_LINK_HEADER = "x-shared-certificate-url"

# What a certificate waits for at each stage a record's view names (``waiting_for``), as a person
# reads it: which party to look at when it takes long.
STAGES = {
    "sealing": "its batch to close and be sealed into the log (batches close every few seconds)",
    "anchoring": "its checkpoint to be anchored on the chain (if this takes long, the chain "
    "node may be down: /readyz says)",
    "witnesses": "the witness quorum to cosign its checkpoint (a witness may be down: /readyz "
    "names it)",
    "timestamps": "a time-stamp authority's token on its checkpoint (a TSA may be down: /readyz "
    "names it)",
    "certifying": "certification, which follows within a second",
    "anchoring, witnesses or timestamps": "anchoring, the witness quorum or a time-stamp "
    "authority (this service does not say which)",
}


def _stage_of(view: dict[str, Any]) -> str:
    """The stage a record's view says it waits for; from its status where the service does not
    say (an older release)."""
    stage = view.get("waiting_for")
    if isinstance(stage, str) and stage:
        return stage
    if view.get("status") == RecordStatus.pending:
        return "sealing"
    return "anchoring, witnesses or timestamps"


@dataclass(frozen=True)
class WorkSubmission(Submission):
    """A work registration's answer: a :class:`Submission` and the earlier registrations of the
    same content by others (empty when this one is the first; the record holds the same list)."""

    prior_registrations: tuple[dict[str, Any], ...] = ()


class _ProgressReader:
    """Wraps a file so an upload can report bytes sent (for progress bars), and hashes what it
    sends when asked to (``sha256``: a hash's ``update``), so the answer can be checked against
    the bytes that left."""

    def __init__(
        self,
        fh: BinaryIO,
        callback: ProgressCallback | None,
        sha256: Callable[[bytes], object] | None = None,
    ) -> None:
        self._fh = fh
        self._callback = callback
        self._sha256 = sha256

    def read(self, n: int = -1) -> bytes:
        data = self._fh.read(n)
        if self._sha256 is not None:
            self._sha256(data)
        if self._callback and data:
            self._callback(len(data))
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1 << 20):
            yield chunk


# Where each kind of record lives in the API, by its id's prefix (``ev_…``): kept for callers of
# earlier releases; ``RecordKind`` is the one declaration.
RECORD_PATHS: dict[str, str] = {k.id_prefix: k.api_path.removeprefix("/v1/") for k in RecordKind}


_KIND_NAMES = frozenset(k.value for k in RecordKind)


def record_path(record_id: str, kind: RecordKind | str | None = None) -> str:
    """``/v1/<collection>/<id>``: of ``kind`` if given, else of the kind the id's prefix names
    (evidence for a prefix no kind uses). A collection path string (``"works"``) in place of
    ``kind`` is deprecated."""
    return _kind_for(record_id, kind).record_path(record_id)


def _kind_for(record_id: str, kind: RecordKind | str | None) -> RecordKind:
    if kind is None:
        return RecordKind.of_id(record_id) or RecordKind.evidence
    if isinstance(kind, RecordKind):
        return kind
    if kind in _KIND_NAMES:
        return RecordKind(kind)
    warnings.warn(
        "a collection path as the kind is deprecated; pass a RecordKind "
        f"(RecordKind.{RecordKind.of_api_path(kind).name})",
        DeprecationWarning,
        stacklevel=3,
    )
    return RecordKind.of_api_path(kind)


def _legacy_kind(kind: RecordKind | None, kind_path: str | None) -> RecordKind | None:
    """``kind_path=`` (a collection path string) from earlier releases, as a ``RecordKind``."""
    if kind_path is None:
        return kind
    if kind is not None:
        raise TypeError("pass kind= or the deprecated kind_path=, not both")
    found = RecordKind.of_api_path(kind_path)
    warnings.warn(
        f"kind_path= is deprecated and will be removed in the next release; pass "
        f"kind=RecordKind.{found.name}",
        DeprecationWarning,
        stacklevel=3,
    )
    return found


class NotaryClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        policy: TrustPolicy | None = None,
    ) -> None:
        """``policy``: the caller's trust policy; receipts, certificates and status documents are
        checked against it as they arrive (without one, only for self-consistency)."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=10.0),
        )
        self.policy = policy

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Plumbing ----------------------------------------------------------------------------

    def _unreachable(self, what: str, exc: httpx.TransportError) -> TransportError:
        """A transport failure naming the service it could not reach (its origin only: a path or
        credentials in the base URL stay out of messages) and what it was doing."""
        base = self._http.base_url
        origin = f"{base.scheme}://{base.host}" + (f":{base.port}" if base.port else "")
        reason = str(exc) or type(exc).__name__
        return TransportError(f"could not reach the notary service at {origin} ({what}): {reason}")

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        # A database restart or failover answers 503 database_unavailable for a few seconds:
        # waited out here (its Retry-After) rather than handed to every caller. Only bodies that
        # can be sent again are: a file being streamed cannot.
        deadline = time.monotonic() + DATABASE_RETRY_SECONDS
        while True:
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                raise self._unreachable(f"{method} {url}", exc) from exc
            if response.status_code < 400:
                return response
            error = _api_error(response)
            wait = _retry_after_header(response)
            if (
                error.status != 503
                or error.code != "database_unavailable"
                or not _can_resend(kwargs)
                or time.monotonic() + wait > deadline
            ):
                raise error
            time.sleep(wait)

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._request(method, url, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise FormatError(f"{method} {url} answered with non-JSON") from exc

    def _submission(self, data: dict[str, Any]) -> Submission:
        receipt = Receipt.from_json(data["receipt"])
        self._check_receipt(receipt)
        warnings = tuple(dict(w) for w in data.get("warnings") or () if isinstance(w, dict))
        return Submission(data["id"], bool(data["created"]), data["status"], receipt, warnings)

    def _check_receipt(self, receipt: Receipt) -> None:
        """A receipt is only worth keeping if it is signed and its leaf matches its record."""
        public = public_key_from_b64(receipt.issuer.public_key)
        if key_id(public) != receipt.issuer.key_id or not signature_is_valid(
            public, receipt.unsigned_body(), receipt.signature.value
        ):
            raise FormatError("the service returned a receipt with an invalid signature")
        if record_leaf_hash(receipt.record).hex() != receipt.leaf_hash:
            raise FormatError("the service returned a receipt whose leaf hash does not match")
        if self.policy is not None and self.policy.issuer(receipt.issuer.key_id) is None:
            raise FormatError(
                f"receipt signed by key {receipt.issuer.key_id}, which your trust "
                "policy does not list"
            )

    # Public API --------------------------------------------------------------------------

    @property
    def notarial(self) -> NotarialClient:
        """Notarial acts through this client: ``client.notarial.share(...)``, ``.attest``,
        ``.refuse``, ``.revoke``, ``.bundle`` (``ipnotary.sdk.attestations``)."""
        from ipnotary.sdk.attestations import NotarialClient

        return NotarialClient(self)

    @property
    def cases(self) -> CasesClient:
        """Arbitration cases through this client: ``client.cases.open(...)``, ``.invite``,
        ``.submit_exhibit``, ``.export`` ... (``ipnotary.sdk.arbitration``)."""
        from ipnotary.sdk.arbitration import CasesClient

        return CasesClient(self)

    @property
    def complaints(self) -> ComplaintsClient:
        """E-commerce complaints through this client: ``client.complaints.file(...)``,
        ``.measure``, ``.declare``, ``.timeline`` ... (``ipnotary.sdk.complaints``)."""
        from ipnotary.sdk.complaints import ComplaintsClient

        return ComplaintsClient(self)

    def trust_policy(self) -> TrustPolicy:
        """The trust policy the service suggests. Taking it from the service is trusting the
        service: check its keys out of band before you rely on it (docs/trust.md)."""
        return TrustPolicy.from_json(self._request("GET", "/v1/trust").content)

    def ready(self) -> dict[str, Any]:
        try:
            response = self._http.get("/readyz")
        except httpx.TransportError as exc:
            raise self._unreachable("GET /readyz", exc) from exc
        return dict(response.json())

    def submit_file(
        self,
        path: str | os.PathLike[str],
        *,
        metadata: dict[str, Any] | None = None,
        progress: ProgressCallback | None = None,
    ) -> Submission:
        """Upload a file (streamed from disk, never loaded whole) as evidence."""
        fields: dict[str, str] = {}
        for key, value in (metadata or {}).items():
            if value is None:
                continue
            fields[key] = ",".join(value) if isinstance(value, list) else str(value)
        with open(path, "rb") as fh:
            files = {
                "file": (Path(path).name, _ProgressReader(fh, progress), "application/octet-stream")
            }
            data = self._json("POST", "/v1/evidence", data=fields, files=files)
        return self._submission(data)

    def submit_digest(
        self,
        *,
        sha256: str,
        size: int,
        sm3: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Submission:
        body: dict[str, Any] = {"sha256": sha256, "size": size, "metadata": metadata or {}}
        if sm3:
            body["sm3"] = sm3
        return self._submission(self._json("POST", "/v1/evidence", json=body))

    def submit_digests(self, items: list[dict[str, Any]]) -> list[Submission]:
        """Many digest submissions in one request (see the service's per-request limit)."""
        data = self._json("POST", "/v1/evidence/digests", json={"items": items})
        return [self._submission(d) for d in data]

    def capture(self, url: str, *, options: dict[str, Any] | None = None) -> Submission:
        """Have the service capture the web page at ``url`` as evidence (docs/capture.md): the
        signed receipt of its capture record, whose content is the signed WACZ
        (:meth:`download_content`). A capture takes seconds: the service loads the page."""
        body: dict[str, Any] = {"url": url, **({"options": options} if options else {})}
        return self._submission(self._json("POST", RecordKind.capture.api_path, json=body))

    # Works (copyright registration) ------------------------------------------------------

    def register_work(
        self,
        path_or_bytes: str | os.PathLike[str] | bytes,
        work: dict[str, Any],
        *,
        filename: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> WorkSubmission:
        """Register a work with its content (a file, streamed from disk, or bytes); ``work`` is
        the work's details (docs/works.md). Content another holder registered earlier is accepted
        and flagged in ``prior_registrations``. The receipt is checked, and must name the bytes
        that were sent (their SHA-256 is computed as they are uploaded)."""
        import json

        sent = hashlib.sha256()
        if isinstance(path_or_bytes, bytes):
            name = filename or "work.bin"
            opened: BinaryIO = io.BytesIO(path_or_bytes)
        else:
            name = filename or Path(path_or_bytes).name
            opened = open(path_or_bytes, "rb")  # noqa: SIM115 - closed below, after the upload
        try:
            files = {
                "file": (
                    name,
                    _ProgressReader(opened, progress, sent.update),
                    "application/octet-stream",
                )
            }
            data = self._json(
                "POST", RecordKind.work.api_path, data={"work": json.dumps(work)}, files=files
            )
        finally:
            opened.close()
        return self._work_submission(data, sent.hexdigest())

    def register_work_digest(
        self,
        work: dict[str, Any],
        *,
        sha256: str,
        size: int,
        sm3: str | None = None,
    ) -> WorkSubmission:
        """Register a work by its content's digests, keeping the content (e.g. unpublished
        software); the record says the digests were ``declared``, not measured by the service."""
        content: dict[str, Any] = {"sha256": sha256, "size": size, **({"sm3": sm3} if sm3 else {})}
        data = self._json("POST", RecordKind.work.api_path, json={"work": work, "content": content})
        return self._work_submission(data, sha256.lower())

    def _work_submission(self, data: dict[str, Any], sha256: str) -> WorkSubmission:
        sub = self._submission(data)
        try:
            body: RecordBody | None = parse_record(sub.receipt.record)
        except FormatError:
            body = None
        if not isinstance(body, WorkRecord) or body.content.sha256 != sha256:
            raise FormatError(
                f"the service's receipt is not a work registration of content {sha256}"
            )
        prior = data.get("prior_registrations") or []
        return WorkSubmission(
            sub.id,
            sub.created,
            sub.status,
            sub.receipt,
            sub.warnings,
            prior_registrations=tuple(dict(p) for p in prior),
        )

    def work_registrations(self, sha256: str) -> Sequence[dict[str, Any]]:
        """Who registered this exact content (hex SHA-256), in anchor order: the first entry, with
        ``prior: true``, registered it first. Each entry: ``id``, ``prior``, ``anchored``,
        ``received_at``, ``anchored_at``, ``block_number``, ``holder``, ``work`` (the owner's
        identity number masked unless you may read it: ``identities_masked``). Empty if nobody
        registered it. To rely on an entry, fetch its certificate from its registrant."""
        digest = sha256.strip().lower()
        if not _SHA256_HEX.fullmatch(digest):
            raise ValueError(f"a SHA-256 is 64 hexadecimal digits, not {sha256!r}")
        data = self._json("GET", "/v1/works/registrations", params={"sha256": digest})
        if not isinstance(data, dict) or data.get("sha256") != digest:
            raise FormatError(f"the service answered a lookup of {digest} about other content")
        return tuple(dict(r) for r in data.get("registrations", []))

    # Any record, of any kind: by its id (whose prefix names the kind) or with ``kind`` ----------

    def get(
        self, record_id: str, *, kind: RecordKind | None = None, kind_path: str | None = None
    ) -> dict[str, Any]:
        """A record and its status. ``kind_path`` (a collection path) is deprecated: use
        ``kind``."""
        kind = _legacy_kind(kind, kind_path)
        return dict(self._json("GET", record_path(record_id, kind)))

    def list(
        self,
        *,
        limit: int = 100,
        kind: RecordKind = RecordKind.evidence,
        kind_path: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Your own records of ``kind``, oldest first, page by page."""
        kind = _legacy_kind(None, kind_path) or kind
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            page = self._json("GET", kind.api_path, params=params)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def wait_anchored(
        self,
        record_id: str,
        *,
        timeout: float = 60.0,
        poll: float = 0.5,
        kind: RecordKind | None = None,
        kind_path: str | None = None,
        on_stage: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Wait until the record's certificate can be fetched; its view. ``on_stage`` is told
        each stage it waits for as it changes (``sealing``, ``anchoring``, ``witnesses``,
        ``timestamps``: the view's ``waiting_for``); a ``TimeoutError`` names the one it was
        still waiting for."""
        kind = _legacy_kind(kind, kind_path)
        deadline = time.monotonic() + timeout
        stage = None
        while True:
            view = self.get(record_id, kind=kind)
            if view["status"] == RecordStatus.anchored:
                return view
            now = _stage_of(view)
            if now != stage and on_stage is not None:
                on_stage(now)
            stage = now
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"record {record_id}: after {timeout:g} s its certificate still waits for "
                    f"{STAGES.get(stage, stage)}"
                )
            time.sleep(poll)

    def receipt(
        self, record_id: str, *, kind: RecordKind | None = None, kind_path: str | None = None
    ) -> Receipt:
        kind = _legacy_kind(kind, kind_path)
        receipt = Receipt.from_json(
            self._request("GET", f"{record_path(record_id, kind)}/receipt").content
        )
        self._check_receipt(receipt)
        return receipt

    def certificate(
        self, record_id: str, *, kind: RecordKind | None = None, kind_path: str | None = None
    ) -> AnyCertificate:
        """Download a certificate and check it offline (under the client's policy) before
        returning it."""
        kind = _legacy_kind(kind, kind_path)
        raw = self._request("GET", f"{record_path(record_id, kind)}/certificate").content
        cert = parse_certificate(raw)
        verify_certificate(cert, self.policy)
        return cert

    def certificate_pdf(self, record_id: str, *, kind: RecordKind | None = None) -> CertificatePdf:
        """The record's certificate as the signed, printable PDF, checked (its signature and the
        certificate attached to it, under the client's policy) before it is returned."""
        from ipnotary.sdk.pdf import verify_certificate_pdf

        response = self._request("GET", f"{record_path(record_id, kind)}/certificate.pdf")
        verify_certificate_pdf(response.content, self.policy)
        return CertificatePdf(response.content, response.headers.get(SHARED_LINK_HEADER))

    def credential(self, record_id: str, *, kind: RecordKind | None = None) -> bytes:
        """The record's certificate as a W3C Verifiable Credential (JSON bytes), checked (its
        proof, then the certificate inside, under the client's policy) before it is returned."""
        from ipnotary.sdk.vc import verify_credential

        data = self._request("GET", f"{record_path(record_id, kind)}/certificate.vc").content
        verify_credential(data, self.policy)
        return data

    def download_content(
        self,
        record_id: str,
        destination: str | os.PathLike[str],
        *,
        kind: RecordKind | None = None,
        kind_path: str | None = None,
    ) -> Path:
        """Save the preserved bytes, re-hashing them against the record; a mismatch deletes the
        file."""
        from ipnotary.sdk.fingerprint import Fingerprinter

        kind = _legacy_kind(kind, kind_path)
        view = self.get(record_id, kind=kind)
        expected = content_of(parse_record(view["record"]))
        if expected is None:
            raise FormatError(f"record {record_id} holds no content to download")
        dest = Path(destination)
        fp = Fingerprinter()
        try:
            with self._http.stream("GET", f"{record_path(record_id, kind)}/content") as response:
                if response.status_code >= 400:
                    response.read()
                    raise _api_error(response)
                with open(dest, "wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        fp.update(chunk)
                        out.write(chunk)
            got = fp.finalize()
        except httpx.TransportError as exc:
            dest.unlink(missing_ok=True)
            raise self._unreachable("downloading the content", exc) from exc
        finally:
            fp.close()
        if got.sha256 != expected.sha256 or got.size != expected.size:
            dest.unlink(missing_ok=True)
            raise ContentIntegrityError(
                f"downloaded content hashes to {got.sha256} ({got.size} bytes), the record says "
                f"{expected.sha256} ({expected.size} bytes)"
            )
        return dest

    # Trade secrets: encryption happens here, on the caller's machine ----------------------

    def register_encryption_key(self, keys: RecipientKeys) -> str:
        """Publish your signed recipient key document so filings and disclosures can be sealed to
        it; returns its (encryption) key id. Holders check it against ``keys.signing_key_id``,
        which you give them out of band."""
        data = self._json("PUT", "/v1/principals/me/encryption-key", json=keys.public_document())
        return str(data["key_id"])

    def encryption_key(self, principal_id: str) -> dict[str, Any]:
        """A principal's key document as the service serves it: unverified, so not something to
        wrap to (see :meth:`recipient_key`)."""
        return dict(self._json("GET", f"/v1/principals/{principal_id}/encryption-key"))

    def recipient_key(self, principal_id: str, *, signing_key_id: str) -> RecipientPublicKey:
        """A principal's public keys, fetched once and accepted only if signed by
        ``signing_key_id`` (the id they gave you out of band)."""
        from ipnotary.sdk import trade_secret as ts

        return ts.verify_recipient_document(
            self.encryption_key(principal_id), signing_key_id=signing_key_id
        )

    def file_trade_secret(
        self,
        path: str | os.PathLike[str],
        keys: RecipientKeys,
        *,
        label: str | None = None,
        allow_classic: bool = False,
    ) -> Submission:
        """Encrypt a secret locally, then upload only the container, commitment and wrapped key.

        ``keys`` are the holder's ``RecipientKeys``: the data key is wrapped to their own public
        key (never to a document the service sends), with the hybrid ML-KEM-768 + X25519 suite
        unless ``allow_classic``. The plaintext and its digest never leave this machine.
        """
        import json
        import tempfile

        from ipnotary.sdk import trade_secret as ts

        filing_id = ts.new_filing_id()
        with tempfile.TemporaryDirectory(prefix="ipnotary-seal-") as tmp:
            container = Path(tmp) / f"{filing_id}.ipnts"
            sealed = ts.seal_secret(
                path,
                container,
                holder=keys.public_key(),
                filing_id=filing_id,
                allow_classic=allow_classic,
            )
            filing = {
                "id": filing_id,
                "commitment": sealed.commitment,
                "holder_wrapped_key": sealed.holder_wrapped_key.to_json(),
            }
            if label:
                filing["label"] = label
            with open(container, "rb") as fh:
                data = self._json(
                    "POST",
                    "/v1/trade-secrets",
                    data={"filing": json.dumps(filing)},
                    files={"file": (container.name, fh, "application/octet-stream")},
                )
        return self._submission(data)

    def disclose_trade_secret(
        self,
        filing_id: str,
        keys: RecipientKeys,
        recipient_id: str,
        *,
        signing_key_id: str,
        allow_classic: bool = False,
    ) -> Submission:
        """Re-wrap a filing's key to an arbitrator or notary; recorded and anchored by the service.

        ``signing_key_id`` is the recipient's, obtained from them out of band: their key document
        is fetched once and used only if that key signed it (``VerificationError`` at step
        ``recipient_key`` otherwise, and nothing is sent).
        """
        from ipnotary.sdk import trade_secret as ts

        own = ts.WrappedKey.from_bytes(
            self._request("GET", f"/v1/trade-secrets/{filing_id}/key").content
        )
        wrapped = ts.disclose(
            own,
            keys,
            self.encryption_key(recipient_id),
            filing_id=filing_id,
            signing_key_id=signing_key_id,
            allow_classic=allow_classic,
        )
        data = self._json(
            "POST",
            f"/v1/trade-secrets/{filing_id}/disclosures",
            json={"recipient_id": recipient_id, "wrapped_key": wrapped.to_json()},
        )
        return self._submission(data)

    def open_trade_secret(
        self, filing_id: str, keys: RecipientKeys, out_path: str | os.PathLike[str]
    ) -> OpenedSecret:
        """Download the container and your wrapped key, decrypt locally, check the commitment.

        The commitment is taken from the filing's signed record, and its certificate is checked
        when the filing is anchored, so a substituted record would not pass.
        """
        import tempfile

        from ipnotary.sdk import trade_secret as ts

        view = self.get(filing_id, kind=RecordKind.trade_secret)
        record = view["record"]
        if view["status"] == RecordStatus.anchored:
            cert = self.certificate(filing_id, kind=RecordKind.trade_secret)
            if cert.record != record:
                raise FormatError("the filing's record differs from its certificate")
        wrapped = ts.WrappedKey.from_bytes(
            self._request("GET", f"/v1/trade-secrets/{filing_id}/key").content
        )
        with tempfile.TemporaryDirectory(prefix="ipnotary-open-") as tmp:
            container = Path(tmp) / "container"
            self.download_content(filing_id, container, kind=RecordKind.trade_secret)
            return ts.open_secret(
                container,
                wrapped,
                keys,
                out_path,
                filing_id=filing_id,
                commitment=record["commitment"],
            )

    # Credit register (Art. 34) ------------------------------------------------------------

    def record_credit_entry(self, details: dict[str, Any]) -> tuple[Submission, dict[str, Any]]:
        """Record an entry (credit authority); returns the receipt and the opening to keep."""
        data = self._json("POST", "/v1/credit/entries", json=details)
        return self._submission(data), dict(data["opening"])

    def credit_status(
        self, subject: str, *, as_of: str | None = None, verify: bool = True, chain: Any = None
    ) -> Any:
        """A subject's status (``type:id``, normalised as the register does:
        ``ipnotary.sdk.identifiers``); verified (``ipnotary.sdk.credit``), and about that
        subject, unless ``verify=False``."""
        from ipnotary.sdk.identifiers import parse_subject_key

        asked = parse_subject_key(subject)
        params = {"subject": asked, **({"as_of": as_of} if as_of else {})}
        doc = self._json("GET", "/v1/credit/status", params=params)
        if not verify:
            return doc
        from ipnotary.sdk.credit import verify_credit_status

        # The subject asked about, not the one the answer names: a status of someone else,
        # however well signed, is not this subject's.
        return verify_credit_status(doc, subject=asked, chain=chain, policy=self.policy)

    def apply_credit_repair(
        self, entry_id: str, statement: str, evidence_sha256: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Apply for repair of an entry about you; ``evidence_sha256`` names the documents you
        send the authority. Keep the answer's ``id`` to read the decision
        (:meth:`credit_repair`)."""
        return dict(
            self._json(
                "POST",
                f"/v1/credit/entries/{entry_id}/repairs",
                json={"statement": statement, "evidence_sha256": list(evidence_sha256)},
            )
        )

    def credit_repairs(self, status: str = "pending") -> Sequence[dict[str, Any]]:
        """Repair applications on the entries you recorded (credit authority)."""
        return list(self._json("GET", "/v1/credit/repairs", params={"status": status}))

    def credit_repair(self, repair_id: int) -> dict[str, Any]:
        """One repair application and its decision (its applicant or deciding authority)."""
        return dict(self._json("GET", f"/v1/credit/repairs/{repair_id}"))

    def decide_credit_repair(self, repair_id: int, *, approve: bool, reason: str) -> dict[str, Any]:
        body = {"decision": "approved" if approve else "rejected", "reason": reason}
        return dict(self._json("POST", f"/v1/credit/repairs/{repair_id}/decision", json=body))

    # Pledge register (Art. 27) ------------------------------------------------------------

    def register_pledge(
        self, asset: dict[str, Any], terms: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Register a pledge (pledge registrar). Pass the same ``idempotency_key`` when retrying a
        registration whose answer was lost: the service answers with the first registration, even
        after the pledge was released. Without one, a random key is used (no retry protection)."""
        key = idempotency_key or uuid.uuid4().hex
        return dict(
            self._json(
                "POST",
                "/v1/pledges",
                json={"asset": asset, "terms": terms},
                headers={"Idempotency-Key": key},
            )
        )

    def pledge(self, pledge_id: int) -> dict[str, Any]:
        """One pledge from the public register (its chain id and contract name it in a consent)."""
        return dict(self._json("GET", f"/v1/pledges/{int(pledge_id)}"))

    def amend_pledge(self, pledge_id: int, terms: dict[str, Any]) -> dict[str, Any]:
        return dict(
            self._json("POST", f"/v1/pledges/{pledge_id}/amendments", json={"terms": terms})
        )

    def release_pledge(self, pledge_id: int, consent: dict[str, Any]) -> dict[str, Any]:
        """Release, with the pledgee's signed consent (``ipnotary.sdk.pledges.sign_pledge_act``)."""
        return dict(
            self._json("POST", f"/v1/pledges/{pledge_id}/release", json={"consent": consent})
        )

    def enforce_pledge(self, pledge_id: int, consent: dict[str, Any]) -> dict[str, Any]:
        """Record enforcement, with the pledgee's signed demand."""
        return dict(
            self._json("POST", f"/v1/pledges/{pledge_id}/enforcement", json={"consent": consent})
        )

    def pledge_status(
        self,
        asset_type: str,
        number: str,
        *,
        as_of: str | None = None,
        reader: Any = None,
        verify: bool = True,
        max_wait: float = 60.0,
    ) -> Any:
        """Is the asset pledged (as of a time)? Verified, on chain when ``reader`` is given.

        For an ``as_of`` whose second is not over yet the service answers 425 with ``Retry-After``;
        this waits that long (here, in the caller's thread) and asks again, up to ``max_wait``
        seconds in all."""
        params = {"asset_type": asset_type, "number": number, **({"as_of": as_of} if as_of else {})}
        deadline = time.monotonic() + max_wait
        while True:
            try:
                doc = self._json("GET", "/v1/pledges/status", params=params)
                break
            except APIError as exc:
                wait = _retry_after(exc)
                if exc.status != 425 or wait is None or time.monotonic() + wait > deadline:
                    raise
                time.sleep(wait)
        if not verify:
            return doc
        from ipnotary.sdk.pledges import verify_pledge_status

        return verify_pledge_status(doc, reader=reader, policy=self.policy)

    # API keys and the audit log ------------------------------------------------------------

    def api_keys(self, principal_id: str = "me") -> tuple[dict[str, Any], ...]:
        """A principal's keys (an admin: anyone's; otherwise ``me``): ids, expiry, revocation."""
        return tuple(self._json("GET", f"/v1/principals/{principal_id}/keys"))

    def issue_api_key(
        self, principal_id: str = "me", *, expires_at: str | None = None
    ) -> dict[str, Any]:
        """Another key for a principal; the answer holds the key, shown once."""
        body = {"expires_at": expires_at} if expires_at else {}
        return dict(self._json("POST", f"/v1/principals/{principal_id}/keys", json=body))

    def revoke_api_key(self, key_id: str, *, reason: str | None = None) -> dict[str, Any]:
        """Revoke a key (an admin: any; otherwise one's own); it answers 401 from now on."""
        body = {"reason": reason} if reason else {}
        return dict(self._json("POST", f"/v1/api-keys/{key_id}/revoke", json=body))

    def rotate_api_key(self, key_id: str, *, expires_at: str | None = None) -> dict[str, Any]:
        """A new key in place of ``key_id``, which is revoked at once; the answer holds the new key.
        Rotating the key this client uses? Build a new client with the new key."""
        body = {"expires_at": expires_at} if expires_at else {}
        return dict(self._json("POST", f"/v1/api-keys/{key_id}/rotate", json=body))

    def audit_log(
        self, *, limit: int = 100, action: str | None = None, target_id: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every administrative act, oldest first (admin), page by page."""
        cursor: int | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            for name, value in (("cursor", cursor), ("action", action), ("target_id", target_id)):
                if value is not None:
                    params[name] = value
            page = self._json("GET", "/v1/audit", params=params)
            yield from page["events"]
            cursor = page.get("next_cursor")
            if cursor is None:
                return

    def verify_remote(self, certificate: AnyCertificate | dict[str, Any]) -> dict[str, Any]:
        """Ask the service to verify (for thin clients; the SDK's ``verify_certificate`` needs no
        service)."""
        body = certificate if isinstance(certificate, dict) else certificate.model_dump(mode="json")
        return dict(self._json("POST", "/v1/verify", json={"certificate": body}))


# How long in all a request waits out a database that is unavailable (restarting, failing over).
DATABASE_RETRY_SECONDS = 30.0


def _retry_after_header(response: httpx.Response) -> float:
    """The ``Retry-After`` seconds of a 503 (1 s when absent or not a small number)."""
    try:
        seconds = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        return 1.0
    return seconds if 0 < seconds <= 60 else 1.0


def _can_resend(kwargs: dict[str, Any]) -> bool:
    """Whether a request's body can be sent again as it was (no streamed file or iterator)."""
    content = kwargs.get("content")
    return "files" not in kwargs and (content is None or isinstance(content, bytes | str))


def _retry_after(error: APIError) -> float | None:
    """Seconds from a problem's ``retry_after`` (the service also sends the ``Retry-After``
    header)."""
    value = error.body.get("retry_after")
    return float(value) if isinstance(value, int | float) and 0 < value <= 3600 else None


def _api_error(response: httpx.Response) -> APIError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return APIError(
        response.status_code,
        str(body.get("code", f"http_{response.status_code}")),
        str(body.get("title", response.reason_phrase)),
        str(body.get("detail", response.text[:500])),
        body,
    )
