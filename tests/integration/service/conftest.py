"""The in-process service of ``tests/unit/notary`` on the embedded py-evm chain: the same
:class:`tests.unit.notary.conftest.Api`, for what only a real chain shows (a certificate checked
against its anchoring transaction, ``notary`` commands reading the chain's directory, a chain key
without the anchorer role)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.unit.notary.conftest import Api, serve, serve_many


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from serve(tmp_path_factory.mktemp("service"), chain=None)


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    yield from serve_many(tmp_path, lambda: None)
