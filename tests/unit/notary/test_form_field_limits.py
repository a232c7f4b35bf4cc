"""One limit for a text, in characters, whether it comes as an upload's form field or in JSON;
bytes only as the UTF-8 bound of it.

Before: an upload's form fields were cut at 16 KiB, so a Chinese description of 6,000 characters
(18,000 bytes) was refused with 413 on upload and accepted as a digest, though the API documents
10,000 characters for both; and a digest submission's 64 KiB refused the same description spelt
in \\u escapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.notary.conftest import Api

CHINESE = "证据的说明" * 1200  # 6,000 characters, 18,000 bytes of UTF-8
EMOJI = "\U0001f4c4" * 10_000  # 10,000 characters of 4 bytes: the limit at its UTF-8 bound


def upload(api: Api, data: dict[str, str], content: bytes) -> Any:
    h = api.principal("fields-holder", "holder")
    return api.client.post("/v1/evidence", headers=h, files={"file": ("a.txt", content)}, data=data)


def digest(api: Api, metadata: dict[str, str], sha: str, *, escaped: bool = False) -> Any:
    h = {**api.principal("fields-holder", "holder"), "Content-Type": "application/json"}
    body = {"sha256": sha, "size": 1, "metadata": metadata}
    return api.client.post(
        "/v1/evidence", headers=h, content=json.dumps(body, ensure_ascii=escaped).encode()
    )


@pytest.mark.parametrize("text", [CHINESE, EMOJI], ids=["chinese-6000", "emoji-10000"])
def test_a_description_within_its_characters_is_taken_both_ways(api: Api, text: str) -> None:
    up = upload(api, {"description": text, "title": "说明"}, text.encode()[:64] + b"!")
    assert up.status_code == 201, up.text[:300]  # was 413 for the upload
    for escaped in (False, True):
        sha = ("e" if escaped else "f") + up.json()["id"][3:35].ljust(63, "0")
        js = digest(api, {"description": text}, sha, escaped=escaped)
        assert js.status_code == 201, (escaped, js.text[:300])  # escaped: was 413 over 64 KiB


def test_one_character_more_is_the_same_422_both_ways(api: Api) -> None:
    text = "证" * 10_001
    up = upload(api, {"description": text}, b"one more")
    js = digest(api, {"description": text}, "ab" * 32)
    assert up.status_code == js.status_code == 422, (up.text[:200], js.text[:200])
    assert up.json()["errors"][0]["loc"][-1] == js.json()["errors"][0]["loc"][-1] == "description"


def test_a_field_past_the_utf8_bound_of_its_characters_is_413(api: Api) -> None:
    r = upload(api, {"title": "x" * (4 * 300 + 1)}, b"title too long in bytes")
    assert r.status_code == 413 and r.json()["code"] == "limit_exceeded", r.text
