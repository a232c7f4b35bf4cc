"""Numbers, booleans and dates in a request are taken only in the JSON type the OpenAPI document
gives them (``ipnotary.service.domain.scalars``). Found by the API fuzzer:
``"size": false`` was recorded as a size of 0, ``"captured_at": 0`` as 1 January 1970, a
``listing_date`` of ``0`` compared as 1970; ``"min_confirmations": 2.0``, ``"check_chain": "no"``
and a key expiry in seconds since 1970 were taken."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.notary.conftest import Api

DIGEST = {"sha256": "ab" * 32, "size": 5}
OWNER = {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91350100M000100Y43"}
WORK = {
    "title": "Moonlight",
    "work_type": "fine_art",
    "authors": [{"name": "Li Hua"}],
    "copyright_owner": OWNER,
    "completed_on": "2025-03-01",
    "first_publication": {"date": "2025-04-01", "place": "Hangzhou"},
}
CLAIM = {
    "certificates": [{}],
    "claimant": {"name": "Acme", "id_type": "uscc", "id": "91350100M000100Y43"},
    "listing_date": "2001-01-01",
}


def _digest(n: int, **changes: Any) -> dict[str, Any]:
    return {**DIGEST, "sha256": f"{n:064x}", **changes}


def _work(n: int, work: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    return {
        "work": {**WORK, **(work or {})},
        "content": {"sha256": f"{n:064x}", "size": 1},
        **changes,
    }


# (name, method, path, the request as it should be, the same request with one value mistyped)
CASES = [
    ("size false", "POST", "/v1/evidence", _digest(1), _digest(1, size=False)),
    ("size true", "POST", "/v1/evidence", _digest(2), _digest(2, size=True)),
    ("size 5.0", "POST", "/v1/evidence", _digest(3), _digest(3, size=5.0)),
    ("size as text", "POST", "/v1/evidence", _digest(4), _digest(4, size="5")),
    (
        "size false in a batch",
        "POST",
        "/v1/evidence/digests",
        {"items": [_digest(5)]},
        {"items": [_digest(5, size=False)]},
    ),
    (
        "captured_at a number",
        "POST",
        "/v1/evidence",
        _digest(6, metadata={"captured_at": "2023-11-14T22:13:20Z"}),
        _digest(6, metadata={"captured_at": 1700000000}),
    ),
    (
        "captured_at digits",
        "POST",
        "/v1/evidence",
        _digest(7, metadata={"captured_at": "2023-11-14T22:13:20Z"}),
        _digest(7, metadata={"captured_at": "1700000000"}),
    ),
    ("completed_on a number", "POST", "/v1/works", _work(8), _work(8, {"completed_on": 0})),
    (
        "publication date with a time",
        "POST",
        "/v1/works",
        _work(9),
        _work(9, {"first_publication": {"date": "2025-04-01T00:00:00Z", "place": "Hangzhou"}}),
    ),
    (
        "work content size false",
        "POST",
        "/v1/works",
        _work(10),
        {**_work(10), "content": {"sha256": f"{10:064x}", "size": False}},
    ),
    ("listing_date a number", "POST", "/v1/claims/check", CLAIM, {**CLAIM, "listing_date": 0}),
    (
        "check_chain a string",
        "POST",
        "/v1/verify",
        {"certificate": {}, "check_chain": False},
        {"certificate": {}, "check_chain": "no"},
    ),
    (
        "check_chain a number",
        "POST",
        "/v1/verify",
        {"certificate": {}, "check_chain": False},
        {"certificate": {}, "check_chain": 0},
    ),
    (
        "min_confirmations a float",
        "POST",
        "/v1/verify",
        {"certificate": {}, "min_confirmations": 2},
        {"certificate": {}, "min_confirmations": 2.0},
    ),
    (
        "verify content size false",
        "POST",
        "/v1/verify",
        {"certificate": {}, "content": DIGEST},
        {"certificate": {}, "content": {**DIGEST, "size": False}},
    ),
    (
        "key expiry a number",
        "POST",
        "/v1/principals/me/keys",
        {"expires_at": "2999-01-01T00:00:00Z"},
        {"expires_at": 1900000000},
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "good", "bad"), CASES, ids=[c[0] for c in CASES]
)
def test_a_value_of_another_json_type_is_refused(
    api: Api, name: str, method: str, path: str, good: dict[str, Any], bad: dict[str, Any]
) -> None:
    headers = api.principal(f"types {name}", "holder", "Acme")
    refused = api.client.request(method, path, json=bad, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] in ("invalid_input", "validation_error"), refused.text
    accepted = api.client.request(method, path, json=good, headers=headers)
    assert accepted.status_code < 300, accepted.text  # the same request, typed right, is fine


def test_a_cursor_past_the_largest_sequence_number_is_refused(api: Api) -> None:
    """It reached SQLite, which holds 64-bit integers, and answered 500 (every record list); a
    cursor no sequence number can have is refused as every path and query integer past 2**63 - 1
    is (docs/api.md, *Limits*), in the record lists as in the audit log."""
    headers = api.principal("types cursor", "holder", "Acme")
    for path in ("/v1/evidence", "/v1/works", "/v1/pledge-events"):
        r = api.client.get(path, params={"cursor": "9" * 32}, headers=headers)
        assert r.status_code == 422, r.text
        last = api.client.get(path, params={"cursor": str(2**63 - 1)}, headers=headers)
        assert last.json() == {"items": [], "next_cursor": None}, last.text
    admin = api.principal("types admin", "admin")
    r = api.client.get("/v1/audit", params={"cursor": str(2**64)}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] in ("invalid_input", "validation_error"), (
        r.text
    )


def test_a_recorded_size_and_time_are_what_the_client_wrote(api: Api) -> None:
    headers = api.principal("types recorded", "holder", "Acme")
    r = api.client.post(
        "/v1/evidence",
        headers=headers,
        json=_digest(99, metadata={"captured_at": "2023-11-14T22:13:20+08:00"}),
    )
    assert r.status_code == 201, r.text
    record = r.json()["receipt"]["record"]
    assert record["content"]["size"] == 5 and type(record["content"]["size"]) is int
    assert record["metadata"]["captured_at"] == "2023-11-14T14:13:20.000000Z"


def test_a_query_parameter_given_twice_is_refused_not_read_as_its_last(api: Api) -> None:
    """FastAPI read ``?action=a&action=b`` as ``b``; a proxy or a log may read ``a``."""
    admin = api.principal("types repeated", "admin")
    r = api.client.get("/v1/audit?action=key_revoked&action=principal_created", headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "repeated_parameter", r.text
    assert "'action'" in r.json()["detail"]
    holder = api.principal("types repeated holder", "holder", "Acme")
    r = api.client.get(
        "/v1/pledges/status?asset_type=patent&number=201710601862.3&number=ZL201810000000.1",
        headers=holder,
    )
    assert r.status_code == 422 and r.json()["code"] == "repeated_parameter", r.text
    # Once each, as before; different parameters are not repeats.
    r = api.client.get("/v1/audit?action=principal_created&limit=5", headers=admin)
    assert r.status_code == 200, r.text


def test_no_route_takes_a_list_in_its_query() -> None:
    """The rule above lets a route that declares a list take repeats; none does today, so any
    repeat is refused. A new list parameter is fine: this test only says where to look."""
    from fastapi.routing import APIRoute

    from ipnotary.service.api.app import create_app
    from ipnotary.service.api.deps import _takes_many

    app = create_app()
    lists = [
        (route.path, param.alias)
        for route in app.routes
        if isinstance(route, APIRoute)
        for param in route.dependant.query_params
        if _takes_many(param.field_info.annotation)
    ]
    assert lists == []
    assert _takes_many(list[str]) and _takes_many(list[int] | None)
    assert not _takes_many(str) and not _takes_many(int | None)
