"""An in-process service (in-memory chain, content store, SQLite) and principals for API tests.

The service is the real one, anchoring thread included; only its chain is
:class:`tests.unit.notary.fakes.FakeChain`, which mines at once, so a record is anchored as soon
as its batch closes (:data:`BATCH_INTERVAL` after it arrived). ``tests/integration/service`` serves
the same :class:`Api` on the embedded py-evm chain (:func:`serve` without ``chain``) for what only
a real chain shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from ipnotary.service.adapters.chain_gateway import ChainPort
from ipnotary.service.api.app import create_app
from ipnotary.service.config import Settings
from ipnotary.service.runtime import Runtime
from ipnotary.service.services.principals import create_principal
from tests.unit.notary.fakes import FakeChain


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def chain(self) -> FakeChain:
        """The in-memory chain this service runs on (unit tests only)."""
        chain = self.runtime.chain
        assert isinstance(chain, FakeChain), "this service runs on a real chain"
        return chain

    def principal(self, label: str, role: str, name: str | None = None) -> dict[str, str]:
        """Auth headers of principal ``label`` (created on first use)."""
        if label not in self.keys:
            with Session(self.runtime.engine) as session:
                new = create_principal(session, name=name or label, role=role)
                self.keys[label], self.ids[label] = new.api_key, new.principal.id
        return {"Authorization": f"Bearer {self.keys[label]}"}

    def wait_anchored(
        self, path: str, headers: dict[str, str], timeout: float = 30
    ) -> dict[str, Any]:
        """The record's view once it is anchored and the clock has reached its block's time: a
        chain that mines several blocks a second stamps them ahead of the clock (Hardhat, the fake
        chain), and what is proven by a block counts from its time on."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.client.get(path, headers=headers).json()
            if view.get("status") == "anchored":
                time.sleep(max(0.0, view["anchor"]["block_timestamp"] - time.time()))
                return view
            if time.monotonic() > deadline:
                return view
            time.sleep(0.02)


BATCH_INTERVAL = 0.1
"""Seconds a record waits for its batch to close, on the in-memory chain. The embedded chain mines
one block a second at most, so there a shorter interval would only make more, smaller batches wait
in line: its services keep 0.2 s."""


def serve(tmp: Path, *, chain: ChainPort | None, **overrides: Any) -> Iterator[Api]:
    """A started service in ``tmp`` on ``chain`` (None: the chain its settings name, the embedded
    py-evm chain by default); closed when the generator is."""
    interval = BATCH_INTERVAL if isinstance(chain, FakeChain) else 0.2
    settings = Settings(**{"data_dir": tmp, "batch_interval_seconds": interval, **overrides})
    runtime = Runtime.build(settings, chain=chain)
    runtime.start()
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield Api(client, runtime)
    runtime.close()


def _api(tmp: Path, **overrides: Any) -> Iterator[Api]:
    """:func:`serve` on the chain the settings name: how
    ``tests/integration/test_postgres_repository.py`` runs these suites again on PostgreSQL."""
    return serve(tmp, chain=None, **overrides)


def serve_many(tmp: Path, chain: Callable[[], ChainPort | None]) -> Iterator[Callable[..., Api]]:
    """``make_api``: any number of services, each in its own directory on a chain of its own."""
    gens: list[Iterator[Api]] = []

    def make(**overrides: Any) -> Api:
        gen = serve(tmp / f"svc{len(gens)}", chain=chain(), **overrides)
        gens.append(gen)
        return next(gen)

    yield make
    for gen in gens:
        next(gen, None)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("service"), chain=FakeChain())


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    yield from serve_many(tmp_path, FakeChain)
