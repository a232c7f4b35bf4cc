"""The screenshots of docs/verify-page.md: the page on the golden certificate and on a tampered
one, in Chinese and in English, as Debian's Chromium shows them.

    .venv/bin/python verify-page/screenshots.py      # writes docs/images/verify-*.png
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from ipnotary.service.api.routes import verify_page  # noqa: E402
from tests.browser.conftest import LAUNCH_ARGS, LiveServer, find_chromium  # noqa: E402

V2 = ROOT / "tests" / "assets" / "certificates" / "v2"
IMAGES = ROOT / "docs" / "images"
CASES = {
    "valid": V2 / "certificate.json",
    "tampered": V2 / "hostile" / "record-altered.json",
}


def main() -> None:
    app = FastAPI()
    app.include_router(verify_page.router)
    IMAGES.mkdir(parents=True, exist_ok=True)
    with LiveServer(app) as server, sync_playwright() as pw:
        for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
            # The browser's own words (the file inputs' buttons) in the page's language too.
            browser = pw.chromium.launch(
                executable_path=find_chromium(),
                args=[*LAUNCH_ARGS, f"--lang={locale}"],
                env={**os.environ, "LANGUAGE": locale.replace("-", "_")},
            )
            for name, certificate in CASES.items():
                page = browser.new_page(
                    locale=locale, viewport={"width": 1000, "height": 900}, device_scale_factor=1
                )
                page.goto(f"{server.url}/verify")
                page.wait_for_selector("body[data-ready=true]")
                page.set_input_files("#certificate", certificate)
                page.set_input_files("#policy", V2 / "policy.json")
                page.set_input_files("#file", V2 / "hello.txt")
                page.locator("#verify").click()
                page.wait_for_selector('#report:not([hidden])[data-run="1"] #verdict')
                page.evaluate("document.activeElement.blur()")
                target = IMAGES / f"verify-{name}-{lang}.png"
                page.screenshot(path=str(target), full_page=True)
                print(target.relative_to(ROOT))
                page.close()
            browser.close()


if __name__ == "__main__":
    main()
