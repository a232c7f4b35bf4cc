"""Trade-secret filing refusals: the service checks that the pieces fit together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client_sdk import trade_secret as ts


@pytest.fixture(scope="module")
def holder(api, tmp_path_factory):  # type: ignore[no-untyped-def]
    h = api.principal("ts-holder", "holder")
    keys = ts.RecipientKeys.generate()
    r = api.client.put("/v1/principals/me/encryption-key", json=keys.public_document(), headers=h)
    assert r.status_code == 200 and r.json()["key_id"] == keys.key_id
    return h, keys, tmp_path_factory.mktemp("ts")


def seal(keys: ts.RecipientKeys, tmp: Path, filing_id: str | None = None) -> tuple[str, ts.SealedSecret]:
    fid = filing_id or ts.new_filing_id()
    src = tmp / f"{fid}.txt"
    src.write_bytes(b"secret " + fid.encode())
    return fid, ts.seal_secret(src, tmp / f"{fid}.ipnts", holder_public=keys.public_document(), filing_id=fid)


def post(api, h, sealed: ts.SealedSecret, **filing):  # type: ignore[no-untyped-def]
    body = {"id": sealed.filing_id, "commitment": sealed.commitment,
            "holder_wrapped_key": sealed.holder_wrapped_key.to_json(), **filing}
    return api.client.post("/v1/trade-secrets", headers=h, data={"filing": json.dumps(body)},
                           files={"file": ("c", sealed.ciphertext_path.read_bytes())})


def test_a_filing_is_accepted_and_idempotent(api, holder) -> None:  # type: ignore[no-untyped-def]
    h, keys, tmp = holder
    _, sealed = seal(keys, tmp)
    first = post(api, h, sealed, label="formula")
    assert first.status_code == 201, first.text
    again = post(api, h, sealed, label="formula")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_container_sealed_for_another_filing_is_refused(api, holder) -> None:  # type: ignore[no-untyped-def]
    h, keys, tmp = holder
    _, sealed = seal(keys, tmp)
    other = ts.new_filing_id()
    body = {"id": other, "commitment": sealed.commitment, "holder_wrapped_key": sealed.holder_wrapped_key.to_json()}
    r = api.client.post("/v1/trade-secrets", headers=h, data={"filing": json.dumps(body)},
                        files={"file": ("c", sealed.ciphertext_path.read_bytes())})
    assert r.status_code == 422 and "wrapped key is for filing" in r.json()["detail"]


def test_plain_file_instead_of_container_is_refused(api, holder) -> None:  # type: ignore[no-untyped-def]
    h, keys, tmp = holder
    _, sealed = seal(keys, tmp)
    body = {"id": sealed.filing_id, "commitment": sealed.commitment,
            "holder_wrapped_key": sealed.holder_wrapped_key.to_json()}
    r = api.client.post("/v1/trade-secrets", headers=h, data={"filing": json.dumps(body)},
                        files={"file": ("c", b"plaintext by mistake")})
    assert r.status_code == 422 and "not a trade-secret container" in r.json()["detail"]


def test_key_wrapped_to_someone_else_is_refused(api, holder) -> None:  # type: ignore[no-untyped-def]
    h, keys, tmp = holder
    stranger = ts.RecipientKeys.generate()
    fid = ts.new_filing_id()
    (tmp / "s.txt").write_bytes(b"x")
    sealed = ts.seal_secret(tmp / "s.txt", tmp / "s.ipnts", holder_public=stranger.public_document(), filing_id=fid)
    r = post(api, h, sealed)
    assert r.status_code == 422 and "registered key" in r.json()["detail"]


def test_holder_without_a_key_and_non_holders(api, holder) -> None:  # type: ignore[no-untyped-def]
    _, keys, tmp = holder
    _, sealed = seal(keys, tmp)
    assert post(api, api.principal("keyless", "holder"), sealed).json()["code"] == "no_encryption_key"
    assert post(api, api.principal("nota", "notary"), sealed).status_code == 403
    bad_doc = api.client.put("/v1/principals/me/encryption-key", json={"media_type": "x"},
                             headers=api.principal("keyless", "holder"))
    assert bad_doc.status_code == 422


def test_disclosure_refusals(api, holder) -> None:  # type: ignore[no-untyped-def]
    h, keys, tmp = holder
    fid, sealed = seal(keys, tmp)
    assert post(api, h, sealed).status_code == 201
    arb_h = api.principal("ts-arb", "arbitrator")
    arb_keys = ts.RecipientKeys.generate()
    api.client.put("/v1/principals/me/encryption-key", json=arb_keys.public_document(), headers=arb_h)
    arb_id = api.ids["ts-arb"]
    good = ts.disclose(sealed.holder_wrapped_key, keys, arb_keys.public_document(), filing_id=fid)
    # Sealed to the wrong key: the holder's own instead of the arbitrator's.
    wrong = ts.disclose(sealed.holder_wrapped_key, keys, keys.public_document(), filing_id=fid)
    r = api.client.post(f"/v1/trade-secrets/{fid}/disclosures", headers=h,
                        json={"recipient_id": arb_id, "wrapped_key": wrong.to_json()})
    assert r.status_code == 422
    # Someone else's filing.
    r = api.client.post(f"/v1/trade-secrets/{fid}/disclosures", headers=api.principal("other-h", "holder"),
                        json={"recipient_id": arb_id, "wrapped_key": good.to_json()})
    assert r.status_code == 404
    ok = api.client.post(f"/v1/trade-secrets/{fid}/disclosures", headers=h,
                         json={"recipient_id": arb_id, "wrapped_key": good.to_json()})
    assert ok.status_code == 201
    listed = api.client.get(f"/v1/trade-secrets/{fid}/disclosures", headers=arb_h).json()
    assert [d["id"] for d in listed] == [ok.json()["id"]]
    again = api.client.post(f"/v1/trade-secrets/{fid}/disclosures", headers=h,
                            json={"recipient_id": arb_id, "wrapped_key": good.to_json()})
    assert again.status_code == 200 and again.json()["id"] == ok.json()["id"]
