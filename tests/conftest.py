"""Shared test fixtures: free ports, real-component discovery, and a service process runner."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_tool(name: str, env_var: str | None = None) -> str | None:
    """A real component's binary: $ENV_VAR, the project's .tools/bin, ~/go/bin, then PATH."""
    candidates = []
    if env_var and os.environ.get(env_var):
        candidates.append(os.environ[env_var])
    candidates += [str(REPO / ".tools" / "bin" / name), str(Path.home() / "go" / "bin" / name)]
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return shutil.which(name)


def missing_component(reason: str) -> NoReturn:
    """Skip a test whose real component is absent; under CI=true that is a failure."""
    if IN_CI:
        pytest.fail(f"CI=true and a real component is missing: {reason}")
    pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that use the session's one Chromium run last: Playwright's sync API keeps an event
    loop running on the main thread for as long as it is open, so ``asyncio.run`` in any test
    after the first browser test failed ("cannot be called from a running event loop")."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))
