"""Web-page capture records: what a holder may ask to capture, and the anchored body built from
what the capture recorded (``ipnotary.sdk.records.CaptureRecord``).

The record holds what a court asks at a glance (URL, final URL, servers and their addresses,
certificate chains, redirects, the environment check, the browser) and the digests of every file
of the WACZ; the WACZ itself is the record's content, so its fingerprint is what the certificate
proves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.kinds import RecordKind
from ipnotary.sdk.records import (
    CaptureEnvironment,
    CaptureFile,
    CapturePackage,
    CaptureRecord,
    CaptureRedirect,
    CaptureServer,
    CaptureTls,
    Party,
)
from ipnotary.service.domain.records import ContentFingerprint

__all__ = ["CaptureOptions", "CaptureRequest", "build_capture_record"]

MAX_URL_LENGTH = 2048
MAX_LISTED = 256  # servers, redirects, chains in the record; the provenance file holds them all


class CaptureOptions(BaseModel):
    """How the page is rendered. Limits are documented in docs/capture.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: Annotated[int, Field(ge=320, le=3840)] = 1280
    height: Annotated[int, Field(ge=240, le=2160)] = 800
    locale: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] = (
        "zh-CN"
    )
    timezone: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]+(/[A-Za-z_+-]+){0,2}$")] = (
        "Asia/Shanghai"
    )
    settle_seconds: Annotated[float, Field(ge=0, le=10)] = 1.0
    full_page: bool = True


class CaptureRequest(BaseModel):
    """``POST /v1/captures``: the URL, and optionally how to render it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: AnyHttpUrl
    options: CaptureOptions = Field(default_factory=CaptureOptions)

    @field_validator("url")
    @classmethod
    def _url_length(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if len(str(value)) > MAX_URL_LENGTH:
            raise ValueError(f"the URL is longer than {MAX_URL_LENGTH} characters")
        return value


def build_capture_record(
    *,
    record_id: str,
    holder_id: str,
    holder_name: str,
    content: ContentFingerprint,
    provenance: Mapping[str, Any],
    package: CapturePackage,
    files: Sequence[tuple[str, str, int]],
    timestamp_token: str | None,
    received_at: datetime,
) -> dict[str, Any]:
    servers = provenance["servers"][:MAX_LISTED]
    redirects = provenance["redirects"][:MAX_LISTED]
    environment = provenance["environment"]
    tls = [
        CaptureTls(
            origin=s["origin"],
            chain_sha256=[c["sha256"] for c in s["chain"]],
            verified=bool(s["verified"]),
        )
        for s in servers
        if s.get("origin") and s.get("chain")
    ]
    optional: dict[str, Any] = {}
    if provenance.get("title"):
        optional["title"] = provenance["title"][:300]
    if provenance.get("status") is not None:
        optional["status"] = provenance["status"]
    if redirects:
        optional["redirects"] = [
            CaptureRedirect.model_validate(
                {"from": r["from"], "to": r["to"], "status": r["status"]}
            )
            for r in redirects
        ]
    if tls:
        optional["tls"] = tls
    if timestamp_token:
        optional["timestamp_token"] = timestamp_token
    return CaptureRecord(
        id=record_id,
        kind=RecordKind.capture,
        schema_version=1,
        holder=Party(id=holder_id, name=holder_name),
        url=provenance["url"],
        final_url=provenance["final_url"],
        captured_at=provenance["captured_at"],
        content=content.as_record_content(),
        package=package,
        files=[CaptureFile(path=p, sha256=h, size=n) for p, h, n in files],
        servers=[CaptureServer(host=s["host"], port=s["port"], ip=s["ip"]) for s in servers],
        blocked_requests=len(provenance["blocked_requests"]),
        environment=CaptureEnvironment(
            clean=bool(environment["clean"]),
            checks=[c["name"] for c in environment["checks"]],
            failed=[c["name"] for c in environment["checks"] if not c["passed"]],
        ),
        browser=provenance["software"]["browser"],
        received_at=format_timestamp(received_at),
        **optional,
    ).to_json()
