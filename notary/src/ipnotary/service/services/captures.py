"""Capturing a web page as evidence: run the capture (``adapters.capture``), store the WACZ in
the content store, and accept one ``capture`` record on the pipeline every kind shares (accept →
log → anchor → witnessed certificate).

One capture runs at a time per process (the capturer's lock, waited on for
``NOTARY_CAPTURE_QUEUE_SECONDS`` at most); a refused URL is answered before any request, with the
reason.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from ipnotary.sdk._version import __version__
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import CapturePackage
from ipnotary.sdk.timestamp import read_token, request_token
from ipnotary.service.adapters.capture import (
    CaptureBusy,
    CaptureFailed,
    CaptureLimits,
    Capturer,
    CaptureRefused,
    PageOptions,
)
from ipnotary.service.adapters.capture.addresses import AddressPolicy
from ipnotary.service.adapters.capture.package import WACZ_VERSION_FIELD
from ipnotary.service.adapters.keys import load_or_create_p256_key
from ipnotary.service.config import Settings
from ipnotary.service.domain.captures import CaptureRequest, build_capture_record
from ipnotary.service.domain.records import ContentFingerprint
from ipnotary.service.errors import InvalidInput, TooEarly
from ipnotary.service.services.records import StoredRecord, accept_record
from ipnotary.service.storage.content import ContentStore
from ipnotary.service.storage.models import Principal

__all__ = ["CaptureService", "Captured", "capture_key_file"]


def capture_key_file(settings: Settings) -> Path:
    """The ECDSA P-256 key that signs capture packages (the WACZ signing spec's anonymous form
    needs ECDSA), kept beside the issuer key."""
    return settings.resolved_issuer_key_file.parent / "capture-wacz-key.pem"


@dataclass(frozen=True)
class Captured:
    stored: StoredRecord
    record: dict[str, Any]
    wacz_size: int
    wacz_sha256: str


class CaptureService:
    def __init__(self, settings: Settings, content_store: ContentStore, engine: Engine) -> None:
        self._store = content_store
        self._engine = engine
        key = load_or_create_p256_key(
            capture_key_file(settings),
            purpose="capture package signing",
            passphrase=settings.resolved_key_passphrase,
        )
        tsa = settings.tsa_urls[0] if settings.tsa_urls else None
        self.capturer = Capturer(
            chromium=str(settings.capture_chromium),
            policy=AddressPolicy.allowing(settings.capture_allow),
            dns_servers=list(settings.capture_dns_servers),
            limits=CaptureLimits(
                timeout_seconds=settings.capture_timeout_seconds,
                max_bytes=settings.capture_max_bytes,
                queue_seconds=settings.capture_queue_seconds,
            ),
            signing_key=key,
            software=f"ip-notary {__version__}",
            ca_file=settings.capture_ca_file,
            timestamper=(
                (lambda digest: request_token(tsa, digest, timeout=settings.tsa_timeout_seconds))
                if tsa
                else None
            ),
            read_token_time=(lambda token: read_token(token).gen_time) if tsa else None,
            clock_reference=settings.capture_clock_reference,
        )

    def capture(self, *, holder: Principal, request: CaptureRequest) -> Captured:
        options = PageOptions(**request.options.model_dump())
        try:
            outcome = self.capturer.capture(str(request.url), options)
        except CaptureRefused as exc:
            raise InvalidInput(f"capture refused: {exc}", code="capture_refused") from None
        except CaptureFailed as exc:
            raise InvalidInput(str(exc), code="capture_failed") from None
        except CaptureBusy as exc:
            raise TooEarly(str(exc), retry_after=5, code="capture_busy") from None
        try:
            fp = self._store.put_file(outcome.wacz)
        finally:
            outcome.cleanup()
        content = ContentFingerprint(
            size=fp.size, sha256=fp.sha256, sm3=fp.sm3, cid=fp.cid, cid_v1=fp.cid_v1
        )
        package = CapturePackage(
            format="wacz",
            wacz_version=WACZ_VERSION_FIELD,
            datapackage_sha256=outcome.datapackage_sha256,
            signing_key=outcome.signing_key,
            created=outcome.created,
        )
        token = (
            base64.b64encode(outcome.timestamp_token).decode("ascii")
            if outcome.timestamp_token
            else None
        )
        built: dict[str, Any] = {}

        def build(record_id: str, received_at: datetime) -> dict[str, Any]:
            built.update(
                build_capture_record(
                    record_id=record_id,
                    holder_id=holder.id,
                    holder_name=holder.name,
                    content=content,
                    provenance=outcome.provenance,
                    package=package,
                    files=outcome.files,
                    timestamp_token=token,
                    received_at=received_at,
                )
            )
            return built

        with Session(self._engine, expire_on_commit=False) as session:
            stored = accept_record(
                session,
                kind=RecordKind.capture,
                owner=holder,
                build_body=build,
                content_sha256=fp.sha256,
                content_cid=fp.cid,
            )
        return Captured(stored, built, fp.size, fp.sha256)
