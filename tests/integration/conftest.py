"""Fixtures shared by the integration suites: the real components and a service wired to them.

Each real component has one owner and one fixture, imported here rather than copied:

* PostgreSQL: ``postgres_server`` (one per run) and ``postgres_url`` (a fresh database per test),
  from ``tests/integration/postgres.py``;
* chain nodes: ``hardhat_node`` and ``geth_node`` (one per module), from ``test_chain_nodes.py``;
* Kubo: ``daemon`` (one per module), from ``test_kubo_store.py``.

Each starts only when a test asks for it and, when its binary is missing, skips with the reason
(fails under ``CI=true``). :class:`Stack` names one combination of database, chain and content
store, and :func:`stack_services` turns it into ``NOTARY_*`` settings for service processes.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session, select

from chain import AnchorReader
from notary.storage.db import create_db_engine
from notary.storage.models import Batch, Record
from tests.integration.chain_backends import NodeBackend, NodeProcess
from tests.integration.postgres import postgres_server, postgres_url
from tests.integration.test_chain_nodes import geth_node, hardhat_node
from tests.integration.test_kubo_store import Daemon, daemon

__all__ = [
    "ChainAgreement",
    "Stack",
    "StackSettings",
    "check_database_and_chain_agree",
    "daemon",
    "geth_node",
    "hardhat_node",
    "postgres_server",
    "postgres_url",
    "record_measurement",
    "stack_settings",
]

DATABASES = ("sqlite", "postgres")
CHAINS = ("embedded", "hardhat", "geth")
CONTENT_STORES = ("embedded", "kubo")


@dataclass(frozen=True)
class Stack:
    """One combination of backends; its ``id`` names it in test ids, e.g. ``postgres-geth-kubo``."""

    database: str
    chain: str
    content: str

    def __post_init__(self) -> None:
        assert self.database in DATABASES and self.chain in CHAINS
        assert self.content in CONTENT_STORES

    @property
    def id(self) -> str:
        return f"{self.database}-{self.chain}-{self.content}"

    @property
    def marks(self) -> list[pytest.MarkDecorator]:
        marks = [pytest.mark.postgres] if self.database == "postgres" else []
        if self.chain != "embedded":
            marks.append(getattr(pytest.mark, self.chain))
        if self.content == "kubo":
            marks.append(pytest.mark.kubo)
        return marks

    def param(self, *extra_marks: pytest.MarkDecorator) -> Any:
        return pytest.param(self, id=self.id, marks=[*self.marks, *extra_marks])


@dataclass
class StackSettings:
    """What a service process needs to run on a :class:`Stack`, and how to inspect the result."""

    stack: Stack
    env: dict[str, str] = field(default_factory=dict)
    database_url: str | None = None  # None: SQLite in the service's data directory
    rpc_url: str | None = None  # None: the embedded chain in the service's data directory
    node: NodeBackend | None = None
    kubo: Daemon | None = None

    def engine(self, data_dir: Path) -> Engine:
        return create_db_engine(self.database_url or f"sqlite:///{data_dir / 'notary.db'}")

    def reader(self, data_dir: Path, registry: str) -> AnchorReader:
        """The registry as anyone reads it; the embedded chain only once its service stopped."""
        if self.rpc_url is not None:
            return AnchorReader.from_rpc(self.rpc_url, registry_address=registry)
        return AnchorReader.from_embedded(data_dir / "chain")

    def chain_view_args(self, data_dir: Path) -> dict[str, Any]:
        """Keyword arguments of ``client_sdk.chain_view.open_chain_view`` for this chain."""
        if self.rpc_url is not None:
            return {"rpc_url": self.rpc_url}
        return {"embedded_dir": data_dir / "chain"}


def fund_new_account(node: NodeProcess, state_dir: Path, ether: int = 100) -> str:
    """A fresh anchoring key funded from the node's dev account (its own nonces, its own registry)."""
    account = Account.create()
    NodeBackend(state_dir, node.url).fund(account.address, ether * 10**18)
    return "0x" + bytes(account.key).hex()


def stack_settings(request: pytest.FixtureRequest, stack: Stack, tmp: Path) -> StackSettings:
    """Start (or reuse) the stack's components through their fixtures; only those it needs."""
    out = StackSettings(stack)
    if stack.database == "postgres":
        out.database_url = request.getfixturevalue("postgres_url")
        out.env["NOTARY_DATABASE_URL"] = out.database_url
    if stack.chain != "embedded":
        node: NodeProcess = request.getfixturevalue(f"{stack.chain}_node")
        out.rpc_url = node.url
        out.node = NodeBackend(tmp, node.url)
        out.env.update(
            {
                "NOTARY_CHAIN_BACKEND": "rpc",
                "NOTARY_CHAIN_RPC_URL": node.url,
                "NOTARY_CHAIN_PRIVATE_KEY": fund_new_account(node, tmp),
            }
        )
    if stack.content == "kubo":
        out.kubo = request.getfixturevalue("daemon")
        out.env.update({"NOTARY_CONTENT_BACKEND": "kubo", "NOTARY_KUBO_API_URL": out.kubo.api_url})
    return out


@dataclass(frozen=True)
class ChainAgreement:
    records: dict[str, Record]
    batches: list[Batch]


def check_database_and_chain_agree(
    engine: Engine, reader: AnchorReader, acknowledged: dict[str, str] | None = None
) -> ChainAgreement:
    """Exactly-once anchoring, checked from both sides.

    Every record is in an anchored batch; the registry holds exactly one chain batch per database
    batch (so nothing was anchored twice, nor left out), each root once, with the batch's size.
    ``acknowledged`` (record id -> leaf hash from its signed receipt) must all be stored as promised.
    """
    with Session(engine) as session:
        records = {r.id: r for r in session.exec(select(Record))}
        batches = list(session.exec(select(Batch).order_by(Batch.seq)))  # type: ignore[arg-type]
        for r in records.values():
            session.expunge(r)
        for b in batches:
            session.expunge(b)
    if acknowledged is not None:
        assert {
            rid: records[rid].leaf_hash for rid in acknowledged if rid in records
        } == acknowledged
        assert set(acknowledged) <= set(records), "an acknowledged record is missing"
    assert all(r.batch_seq is not None for r in records.values()), "records left unbatched"
    assert [b.seq for b in batches if b.status != "anchored"] == [], "batches left unanchored"
    assert sum(b.size for b in batches) == len(records), "a record is in two batches, or none"
    assert reader.batch_count() == len(batches), "the chain has more or fewer batches than the DB"
    assert sorted(b.chain_batch_id or 0 for b in batches) == list(range(1, len(batches) + 1))
    assert len({b.root for b in batches}) == len(batches)
    for b in batches:
        on_chain = reader.find_root(bytes.fromhex(b.root))
        assert on_chain is not None, f"batch {b.seq}'s root is not on the chain"
        assert (on_chain.batch_id, on_chain.leaf_count) == (b.chain_batch_id, b.size)
    return ChainAgreement(records, batches)


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    """Engines opened by a test for inspection, disposed after it."""
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.dispose()


# -- the CI log: which real components and stacks ran, and what was measured -------------------

COMPONENT_MARKERS = ("postgres", "hardhat", "geth", "kubo")
_STACK_PATTERN = "-".join(f"(?:{'|'.join(names)})" for names in (DATABASES, CHAINS, CONTENT_STORES))
# A stack id inside a test id's brackets, alone or beside other parameters.
_STACK_ID = re.compile(rf"\[(?:[^\]]*-)?({_STACK_PATTERN})(?:-[^\]]*)?\]")
_components: dict[str, tuple[str, ...]] = {}
_by_component: dict[str, Counter[str]] = defaultdict(Counter)
_by_stack: dict[str, Counter[str]] = defaultdict(Counter)
_stack_seconds: defaultdict[str, float] = defaultdict(float)
_measurements: list[str] = []


def record_measurement(line: str) -> None:
    """A figure for the end-of-run summary (e.g. a failover time), shown without ``-s``."""
    _measurements.append(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = tuple(m for m in COMPONENT_MARKERS if item.get_closest_marker(m))
        if names or _STACK_ID.search(item.nodeid):
            _components[item.nodeid] = names


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    names = _components.get(report.nodeid)
    if names is None:
        return
    stack = _STACK_ID.search(report.nodeid)
    if stack is not None:
        _stack_seconds[stack.group(1)] += report.duration
    # One outcome per test: the call's, or the setup's when it skipped or failed before the call.
    if report.when == "call" or (report.when != "call" and not report.passed):
        outcome = "error" if report.failed and report.when != "call" else report.outcome
        for name in names:
            _by_component[name][outcome] += 1
        if stack is not None:
            _by_stack[stack.group(1)][outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _by_component and not _measurements:
        return

    def counts(c: Counter[str]) -> str:
        return ", ".join(f"{n} {k}" for k, n in sorted(c.items()))

    tr = terminalreporter
    tr.write_sep("-", "real components (tests by marker)")
    for name in COMPONENT_MARKERS:
        if name in _by_component:
            tr.write_line(f"{name:<10} {counts(_by_component[name])}")
    if _by_stack:
        tr.write_sep("-", "full-stack runs by database-chain-content")
        for stack in sorted(_by_stack):
            line = f"{stack:<26} {counts(_by_stack[stack]):<24} {_stack_seconds[stack]:7.1f}s"
            tr.write_line(line)
    for line in _measurements:
        tr.write_line(line)
