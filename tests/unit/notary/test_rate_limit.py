"""The per-client rate limit of the public endpoints: 429 ``rate_limited`` with ``Retry-After``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ipnotary.service.api.rate_limit import TokenBuckets
from tests.unit.notary.conftest import Api

PUBLIC = [
    ("GET", "/readyz"),
    ("GET", "/v1/trust"),
    ("POST", "/v1/verify"),
    ("GET", "/log/checkpoint"),
    ("GET", "/log/tile/0/000"),
    ("GET", "/v1/log/checkpoints/1"),
    ("GET", "/v1/log/proofs/inclusion?leaf_index=0&tree_size=1"),
    ("GET", "/v1/credit/status?subject=uscc:91350100M000100Y43"),
    ("GET", "/v1/pledges/status?asset_type=patent&number=ZL202310000001.X"),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_gives_its_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)  # one a second
    assert buckets.take("b") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    clock.now += 3600
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # never more than the burst


def test_forgotten_clients_start_full() -> None:
    buckets = TokenBuckets(per_minute=60, burst=1, max_clients=2, clock=Clock())
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    buckets.take("b")
    buckets.take("c")  # "a" is the least recently seen: forgotten
    assert buckets.take("a") == 0.0


def _send(api: Api, method: str, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    if method == "POST":
        return api.client.post(path, json={"certificate": {}}, headers=headers or {})
    return api.client.get(path, headers=headers or {})


def test_every_public_endpoint_is_limited_per_client(make_api: Callable[..., Api]) -> None:
    # One token a minute: a slow first request (a loaded CI machine) cannot refill the bucket.
    api = make_api(rate_limit_per_minute=1, rate_limit_burst=1, run_anchoring_worker=False)
    for i, (method, path) in enumerate(PUBLIC):
        # A principal per endpoint: a fresh bucket of one request each.
        headers = api.principal(f"client-{i}", "holder")
        first = _send(api, method, path, headers)
        assert first.status_code != 429, (path, first.text)
        second = _send(api, method, path, headers)
        assert second.status_code == 429, (path, second.status_code, second.text)
        assert second.headers["content-type"].startswith("application/problem+json")
        problem = second.json()
        assert (problem["status"], problem["code"]) == (429, "rate_limited"), problem
        assert 0 < int(second.headers["Retry-After"]) <= 60


def test_keys_addresses_and_private_endpoints(make_api: Callable[..., Api]) -> None:
    api = make_api(rate_limit_per_minute=6, rate_limit_burst=2, run_anchoring_worker=False)
    assert [api.client.get("/v1/trust").status_code for _ in range(2)] == [200, 200]
    refused = api.client.get("/v1/trust")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "10"  # 6 a minute: one token every 10 s
    # The same address with made-up keys is still the same client.
    for junk in ("nk_made_up_1", "nk_made_up_2"):
        assert api.client.get("/readyz", headers={"X-API-Key": junk}).status_code == 429
    # A valid key is a client of its own.
    h = api.principal("reader", "holder")
    assert api.client.get("/v1/trust", headers=h).status_code == 200
    # Endpoints that need a key, and liveness, are not limited here.
    for _ in range(5):
        assert api.client.get("/healthz").status_code == 200
        assert api.client.get("/v1/principals/me", headers=h).status_code == 200


def test_the_limit_can_be_turned_off(make_api: Callable[..., Api]) -> None:
    api = make_api(rate_limit_per_minute=0, run_anchoring_worker=False)
    assert {api.client.get("/v1/trust").status_code for _ in range(200)} == {200}


def test_the_openapi_document_names_the_429(make_api: Callable[..., Api]) -> None:
    api = make_api(run_anchoring_worker=False)
    paths = api.client.get("/openapi.json").json()["paths"]
    assert "429" in paths["/v1/verify"]["post"]["responses"]
    assert "429" in paths["/log/checkpoint"]["get"]["responses"]
    assert "429" not in paths["/v1/evidence"]["post"]["responses"]
