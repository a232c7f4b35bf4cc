"""The capture as one WACZ: the WARC indexed and packaged by py-wacz (``wacz create``: the CDXJ
index, ``pages.jsonl``), then the capture's own files added under ``capture/``, a new
``datapackage.json`` listing everything with its SHA-256, and ``datapackage-digest.json`` with
the service's anonymous WACZ signature (``ipnotary.sdk.capture.sign_datapackage_hash``).

Layout and fields follow WACZ 1.2.0 (``home``, CDXJ, extra files outside ``archive/``,
``indexes/`` and ``pages/`` and listed as resources); ``profile`` and ``wacz_version`` keep
1.1.1's values because py-wacz 0.6.0's ``wacz validate``, the reference validator, refuses
anything else (``profile: wacz`` makes frictionless look for a file named ``wacz``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ipnotary.sdk.capture import DATAPACKAGE, DIGEST_FILE, sign_datapackage_hash

__all__ = ["WACZ_VERSION_FIELD", "BuiltPackage", "build_wacz"]

WACZ_VERSION_FIELD = "1.1.1"
# Already compressed, or read by range requests: stored, not deflated (WACZ 1.2.0, Zip Format).
_STORED_SUFFIXES = (".warc.gz", ".cdx.gz", ".png", ".pdf")


@dataclass(frozen=True)
class BuiltPackage:
    path: Path
    datapackage_sha256: str
    created: str
    signing_key: str  # base64 SubjectPublicKeyInfo
    files: tuple[tuple[str, str, int], ...]  # (path, sha256, bytes) of every listed resource


def _py_wacz(warc: Path, pages: Path, out: Path, url: str) -> None:
    from wacz.main import main as wacz_main

    # py-wacz prints its progress; the service's log has no use for it
    with contextlib.redirect_stdout(io.StringIO()):
        status = wacz_main(
            ["create", str(warc), "-o", str(out), "-p", str(pages), "--copy-pages", "--url", url]
        )
    if status != 0 or not out.is_file():
        raise RuntimeError(f"wacz create failed (status {status})")


def build_wacz(
    out: Path,
    *,
    warc: Path,
    url: str,
    ts: str,
    title: str,
    description: str,
    files: Mapping[str, bytes],
    created: str,
    key: ec.EllipticCurvePrivateKey,
    software: str,
) -> BuiltPackage:
    """Write the signed WACZ to ``out``; ``files`` are the capture's own (``capture/…``)."""
    with tempfile.TemporaryDirectory(prefix="notary-wacz-") as scratch:
        pages = Path(scratch) / "pages.jsonl"
        pages.write_text(
            json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "Captured page"})
            + "\n"
            + json.dumps(
                {"id": "capture", "url": url, "ts": ts, "title": title}, ensure_ascii=False
            )
            + "\n",
            encoding="utf-8",
        )
        base = Path(scratch) / "base.wacz"
        _py_wacz(warc, pages, base, url)
        resources: list[dict[str, Any]] = []
        with zipfile.ZipFile(base) as source, zipfile.ZipFile(out, "w") as target:
            entries = [
                (i.filename, source.read(i))
                for i in source.infolist()
                if i.filename not in (DATAPACKAGE, DIGEST_FILE)
            ]
            for name, data in [*entries, *sorted(files.items())]:
                info = zipfile.ZipInfo(name, date_time=_zip_time(created))
                info.compress_type = (
                    zipfile.ZIP_STORED if name.endswith(_STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
                )
                target.writestr(info, data)
                resources.append(
                    {
                        "name": name.rsplit("/", 1)[-1].lower(),
                        "path": name,
                        "hash": f"sha256:{hashlib.sha256(data).hexdigest()}",
                        "bytes": len(data),
                    }
                )
            datapackage = {
                "profile": "data-package",
                "wacz_version": WACZ_VERSION_FIELD,
                "title": title,
                "description": description,
                "created": created,
                "modified": created,
                "software": software,
                "home": {"url": url, "ts": ts},
                "mainPageURL": url,
                "mainPageDate": ts,
                "resources": resources,
            }
            raw = json.dumps(datapackage, indent=2, ensure_ascii=False).encode("utf-8")
            digest_hex = hashlib.sha256(raw).hexdigest()
            signed = sign_datapackage_hash(
                key, f"sha256:{digest_hex}", created=created, software=software
            )
            digest_doc = {"path": DATAPACKAGE, "hash": f"sha256:{digest_hex}", "signedData": signed}
            for name, data in (
                (DATAPACKAGE, raw),
                (DIGEST_FILE, json.dumps(digest_doc, indent=2).encode("utf-8")),
            ):
                info = zipfile.ZipInfo(name, date_time=_zip_time(created))
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, data)
    listed = tuple((r["path"], r["hash"].removeprefix("sha256:"), r["bytes"]) for r in resources)
    return BuiltPackage(
        path=out,
        datapackage_sha256=digest_hex,
        created=created,
        signing_key=signed["publicKey"],
        files=listed,
    )


def _zip_time(created: str) -> tuple[int, int, int, int, int, int]:
    date, _, time = created.partition("T")
    y, mo, d = (int(p) for p in date.split("-"))
    h, mi, s = (int(float(p)) for p in time.rstrip("Z").split(":"))
    return (y, mo, d, h, mi, s)
