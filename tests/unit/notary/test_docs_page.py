"""``/docs`` needs nothing from outside: its HTML names no other host, and every asset it loads is
served by the service, as swagger-ui-dist ships it. Before, FastAPI's page loaded Swagger UI from
a CDN (a blank page offline) and its favicon from FastAPI's site; ReDoc's page loaded its script
and fonts from outside too, and is no longer served."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.notary.conftest import Api

ROOT = Path(__file__).resolve().parents[3]
_URL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*["']([^"']+)["']""")


def test_the_docs_page_loads_everything_from_the_service(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert not re.search(r"(?i)\b(?:https?:)?//[a-z0-9.-]+", html), re.findall(
        r"https?://\S+", html
    )
    referenced = _URL.findall(html)
    assert "/openapi.json" in html and len(referenced) >= 3, referenced
    for url in referenced:
        assert url.startswith("/"), url
        answer = api.client.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
    assert "validatorUrl" in html  # no document sent to Swagger's online validator
    js = api.client.get("/docs/assets/swagger-ui-bundle.js")
    assert (
        js.headers["content-type"].startswith("text/javascript")
        and b"SwaggerUIBundle" in js.content
    )
    assert api.client.get("/docs/assets/../LICENSE").status_code == 404
    assert api.client.get("/redoc").status_code == 404
    assert api.client.get("/docs/oauth2-redirect").status_code == 200


def test_the_committed_assets_are_swagger_ui_dists() -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "swagger-ui" / "node_modules" / "swagger-ui-dist").is_dir():
        pytest.skip("swagger-ui's npm project is not installed (scripts/setup-node.sh)")
    done = subprocess.run(
        [node, "copy.mjs", "--check"], cwd=ROOT / "swagger-ui", capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
