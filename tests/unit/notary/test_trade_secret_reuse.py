"""A filing id names one container: reusing one's own id for another container is a 409, and the
refused container is not left in the content store.

Before: the second upload under the same id answered 500 (the record's unique id refused it, and
its retry path looked for a duplicate that was not there), after its container had been committed:
a second container stayed in the content store for nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipnotary.sdk import trade_secret as ts
from tests.unit.notary.conftest import Api
from tests.unit.notary.test_trade_secret_api import post


@pytest.fixture
def holder(api: Api) -> tuple[dict[str, str], ts.RecipientKeys]:
    h = api.principal("reuse-holder", "holder")
    keys = ts.RecipientKeys.generate()
    r = api.client.put("/v1/principals/me/encryption-key", json=keys.public_document(), headers=h)
    assert r.status_code == 200, r.text
    return h, keys


def _sealed(keys: ts.RecipientKeys, tmp: Path, filing_id: str, text: bytes) -> ts.SealedSecret:
    src = tmp / "secret.txt"
    src.write_bytes(text)
    return ts.seal_secret(
        src, tmp / f"{len(text)}.ipnts", holder=keys.public_key(), filing_id=filing_id
    )


def _stored_objects(api: Api) -> set[Path]:
    root = Path(api.runtime.settings.data_dir)
    return {p for p in root.rglob("*") if p.is_file() and "content" in p.parts}


def test_reusing_ones_own_filing_id_is_a_conflict_and_stores_nothing(
    api: Api, holder: tuple[dict[str, str], ts.RecipientKeys], tmp_path: Path
) -> None:
    h, keys = holder
    fid = ts.new_filing_id()
    sealed = _sealed(keys, tmp_path, fid, b"the first formula")
    first = post(api, h, sealed)
    assert first.status_code == 201, first.text
    before = _stored_objects(api)

    second = post(api, h, _sealed(keys, tmp_path, fid, b"another formula, same id"))
    assert second.status_code == 409, second.text  # was 500
    assert second.json()["code"] == "filing_id_reused"
    assert _stored_objects(api) == before  # was: a second container left behind

    # the first container, sent again, is a retry of its filing
    retry = post(api, h, sealed)
    assert retry.status_code == 200 and retry.json()["id"] == fid, retry.text
