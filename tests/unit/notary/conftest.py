"""An in-process service (embedded chain, content store, SQLite) and principals for API tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from ipnotary.service.api.app import create_app
from ipnotary.service.config import Settings
from ipnotary.service.runtime import Runtime
from ipnotary.service.services.principals import create_principal


@dataclass
class Api:
    client: TestClient
    runtime: Runtime
    keys: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

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
        deadline = time.monotonic() + timeout
        while True:
            view = self.client.get(path, headers=headers).json()
            if view.get("status") == "anchored" or time.monotonic() > deadline:
                return view
            time.sleep(0.1)


def _api(tmp: Path, **overrides: Any) -> Iterator[Api]:
    settings = Settings(data_dir=tmp, batch_interval_seconds=0.2, **overrides)
    runtime = Runtime.build(settings)
    runtime.start()
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        yield Api(client, runtime)
    runtime.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from _api(tmp_path_factory.mktemp("service"))


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    gens: list[Iterator[Api]] = []

    def make(**overrides: Any) -> Api:
        gen = _api(tmp_path / f"svc{len(gens)}", **overrides)
        gens.append(gen)
        return next(gen)

    yield make
    for gen in gens:
        next(gen, None)
