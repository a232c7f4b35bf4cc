"""A case's evidence index as a PDF, in the e-bundle style courts use: a cover with the case and
its parties, an index whose entries link to each exhibit and give its page, one page per exhibit
with its digest and proven time, page numbers on every page, and PDF bookmarks (WeasyPrint makes
them from the headings).

Start at :func:`render_evidence_index`. It exports the case's bundle as the viewer may have it
(``services.arbitration.export_bundle``), verifies it with the SDK's own verifier under the
service's published policy (so every time printed is a proven time, from the source that proves
it), renders ``templates/evidence_index.html.j2`` and signs the PDF with the key that signs PDF
certificates, the manifest attached. The PDF is a presentation: the bundle is the evidence, and
``notary case verify`` checks it.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import jinja2
from sqlmodel import Session

from ipnotary.sdk.arbitration import verify_case_bundle
from ipnotary.sdk.certificate import format_timestamp
from ipnotary.sdk.verify import TimeSource
from ipnotary.service.certificates.pdf import TIME_SOURCES
from ipnotary.service.services import arbitration
from ipnotary.service.storage.models import Principal

if TYPE_CHECKING:
    from ipnotary.service.runtime import Runtime

__all__ = ["render_evidence_index"]

BEIJING = timezone(timedelta(hours=8), "CST")
_TYPES = {
    "exhibit": ("证据", "exhibit"),
    "statement": ("陈述", "statement"),
    "disclosure": ("商业秘密披露", "trade-secret disclosure"),
}
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ipnotary.service.certificates", "templates"),
    autoescape=True,  # every value is someone's text: never markup
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(moment: datetime) -> str:
    return (
        f"{moment.astimezone(BEIJING):%Y-%m-%d %H:%M:%S} 北京时间 · "
        f"{format_timestamp(moment)[:19].replace('T', ' ')} UTC"
    )


def _source(source: TimeSource) -> str:
    zh, en = TIME_SOURCES.get(source, (source.value, source.value))
    return f"{zh} · {en}"


def index_html(manifest: dict[str, Any], result: Any) -> str:
    """The page for a manifest and the verifier's result of its bundle."""
    found = {f.number: f for f in result.exhibits}
    exhibits = []
    for item in manifest["exhibits"]:
        finding = found[item["number"]]
        exhibits.append(
            {
                "number": item["number"],
                "anchor": f"exhibit-{item['number']}",
                "title": item["title"],
                "type": _TYPES.get(item["type"], (item["type"], item["type"])),
                "submitter": finding.submitter,
                "submitted_at": _when(finding.submitted_at),
                "proven_time": _when(finding.proven_time),
                "time_source": _source(finding.time_source),
                "record_proven_time": (
                    _when(finding.record_proven_time) if finding.record_proven_time else None
                ),
                "sha256": item.get("sha256"),
                "size": item.get("size"),
                "record": item.get("record"),
                "event": item["event"],
                "shared": item["shared"],
                "files": sorted(item["files"].values()),
            }
        )
    return _TEMPLATES.get_template("evidence_index.html.j2").render(
        case=manifest["case"],
        copy=manifest["copy"],
        exported_at=_when(datetime.fromisoformat(manifest["exported_at"].replace("Z", "+00:00"))),
        acts=len(manifest["log"]),
        withheld=manifest["withheld"],
        exhibits=exhibits,
        issuer=manifest["issuer"]["key_id"],
    )


def render_evidence_index(
    session: Session, runtime: Runtime, *, case_id: str, viewer: Principal, now: datetime
) -> bytes:
    """The signed evidence index of a case as ``viewer`` may see it (``NotFound`` to anyone
    outside it, ``NotReady`` while an act is not certified)."""
    with tempfile.TemporaryFile(dir=runtime.settings.data_dir) as bundle:
        manifest = arbitration.export_bundle(
            session,
            runtime.issuer,
            runtime.content_store,
            case_id=case_id,
            viewer=viewer,
            out=bundle,
            now=now,
        )
        bundle.seek(0)
        result = verify_case_bundle(bundle, runtime.trust_policy())
    page = index_html(manifest, result)
    attached = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
    return runtime.certificate_pdf.render_page(
        page,
        attachments=[
            ("manifest.json", attached, f"the case manifest of {manifest['case']['number']}")
        ],
        reason=f"证据目录 / evidence index of case {manifest['case']['number']}",
    )
