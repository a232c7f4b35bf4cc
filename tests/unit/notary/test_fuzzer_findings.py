"""What the API fuzzer found this round, with its new probes and seeds, each a server error
before: a status list id whose records' sequence numbers no 64-bit column holds, and a shared
certificate's token that is not ASCII (``hmac.compare_digest`` raises on it)."""

from __future__ import annotations

from ipnotary.service.api.routes.credentials import MAX_LIST_ID
from tests.unit.notary.conftest import Api


def test_a_status_list_past_what_storage_holds_is_refused(api: Api) -> None:
    r = api.client.get(f"/v1/credentials/status/{MAX_LIST_ID + 1}")
    assert r.status_code == 422, r.text  # 9007199254740991 (the documented maximum) was a 500
    assert api.client.get(f"/v1/credentials/status/{MAX_LIST_ID}").status_code == 404


def test_a_shared_link_with_a_token_of_other_characters_is_not_shared(api: Api) -> None:
    for token in ("\U000511db", "é" * 43, "x" * 43, ""):
        r = api.client.get("/v1/shared/certificates/ev_x", params={"token": token})
        assert r.status_code == 404 and r.json()["code"] == "not_shared", (token, r.text)
