"""Fixtures shared by the integration suites: the real components and a service wired to them.

Each real component has one owner and one fixture, imported here rather than copied:

* PostgreSQL: ``postgres_server`` (one per run) and ``postgres_url`` (a fresh database per test),
  from ``tests/integration/postgres.py``;
* chain nodes: ``hardhat_node`` and ``geth_node`` (one per module), from ``test_chain_nodes.py``;
* Kubo: ``daemon`` (one per module), from ``test_kubo_store.py``.

Each starts only when a test asks for it and, when its binary is missing, skips with the reason
(fails under ``CI=true``). :class:`Stack` names one combination of database, chain and content
store, and :func:`stack_settings` turns it into ``NOTARY_*`` settings for service processes.

What every suite checks the same way lives here too: :func:`check_operator_only_policy` (the
policy a deployment without witnesses or time-stamp authorities serves at ``/v1/trust``, against
the keys in its files; :func:`served_operator_policy` fetches and checks it),
:func:`check_valid_on_operator_time` (what such a certificate verifies
as), :func:`check_one_log` (every record in the one append-only log once, the log consistent) and
:func:`check_database_and_chain_agree` (that log, anchored exactly once); and how every suite
waits for it: :func:`wait_all_anchored` (every stored record in an anchored batch).
"""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import Engine, func, or_
from sqlmodel import Session, col, select

from ipnotary.chain import AnchorReader
from ipnotary.sdk import NotaryClient, TimeSource, TrustPolicy, Verdict, VerificationResult
from ipnotary.sdk.merkle import MerkleTree, verify_consistency
from ipnotary.sdk.note import Checkpoint, NoteSigner, NoteVerifier, parse_note
from ipnotary.sdk.signing import key_id
from ipnotary.service.adapters.keys import load_or_create_ed25519_key
from ipnotary.service.domain.tiles import TILE_WIDTH, TileKey
from ipnotary.service.services.transparency_log import consistency_proof, read_tile
from ipnotary.service.storage.db import create_db_engine
from ipnotary.service.storage.models import Batch, Record
from tests.integration.chain_backends import NodeBackend, NodeProcess
from tests.integration.postgres import postgres_server, postgres_url
from tests.integration.service_process import ServiceProcess
from tests.integration.test_chain_nodes import geth_node, hardhat_node
from tests.integration.test_kubo_store import Daemon, daemon

__all__ = [
    "ChainAgreement",
    "OneLog",
    "Stack",
    "StackSettings",
    "check_database_and_chain_agree",
    "check_one_log",
    "check_operator_only_policy",
    "check_valid_on_operator_time",
    "daemon",
    "geth_node",
    "hardhat_node",
    "postgres_server",
    "postgres_url",
    "record_measurement",
    "served_operator_policy",
    "stack_settings",
    "wait_all_anchored",
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

    def database(self, data_dir: Path) -> str:
        """The service's database URL: the stack's PostgreSQL, or SQLite in ``data_dir``."""
        return self.database_url or f"sqlite:///{data_dir / 'notary.db'}"

    def engine(self, data_dir: Path) -> Engine:
        return create_db_engine(self.database(data_dir))

    def reader(self, data_dir: Path, registry: str) -> AnchorReader:
        """The registry as anyone reads it; the embedded chain only once its service stopped."""
        if self.rpc_url is not None:
            return AnchorReader.from_rpc(self.rpc_url, registry_address=registry)
        return AnchorReader.from_embedded(data_dir / "chain")

    def chain_view_args(self, data_dir: Path) -> dict[str, Any]:
        """Keyword arguments of ``ipnotary.sdk.chain_view.open_chain_view`` for this chain."""
        if self.rpc_url is not None:
            return {"rpc_url": self.rpc_url}
        return {"embedded_dir": data_dir / "chain"}


def fund_new_account(node: NodeProcess, state_dir: Path, ether: int = 100) -> str:
    """A fresh anchoring key funded from the node's dev account (its own nonces, its own
    registry)."""
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


def check_operator_only_policy(
    policy: TrustPolicy, *, issuer_key_file: Path, log_key_file: Path, log_origin: str
) -> None:
    """The policy a deployment with no witness, no time-stamp authority and no chain trusted for
    time serves (``/v1/trust``): it names exactly the keys in its key files and the log origin its
    ``/readyz`` reports, trusts nobody else, and says that only the operator vouches for times."""
    issuer_key = load_or_create_ed25519_key(issuer_key_file, purpose="issuer")
    log_key = load_or_create_ed25519_key(log_key_file, purpose="log")
    assert [k.key_id for k in policy.issuers] == [key_id(issuer_key.public_key())]
    assert policy.log is not None and policy.log.origin == log_origin
    assert policy.log.keys == [NoteSigner(log_origin, log_key).vkey()]
    assert (policy.witnesses.quorum, policy.witnesses.members) == (0, [])
    assert policy.timestamp_authorities == [] and policy.chains == []
    assert policy.require_independent_time is False
    assert policy.notice is not None and "nobody but its operator" in policy.notice


def served_operator_policy(svc: ServiceProcess) -> TrustPolicy:
    """The policy a running service without witnesses or TSAs serves at ``/v1/trust``, checked
    with :func:`check_operator_only_policy` against its key files (given or in its data
    directory) and the log origin its ``/readyz`` reports."""
    with NotaryClient(svc.url) as client:
        policy = client.trust_policy()
        origin = client.ready()["checks"]["log"]["origin"]
    keys = svc.data_dir / "keys"
    check_operator_only_policy(
        policy,
        issuer_key_file=Path(svc.env.get("NOTARY_ISSUER_KEY_FILE", keys / "issuer-ed25519.pem")),
        log_key_file=Path(svc.env.get("NOTARY_LOG_KEY_FILE", keys / "log-ed25519.pem")),
        log_origin=origin,
    )
    return policy


def check_valid_on_operator_time(result: VerificationResult, policy: TrustPolicy) -> None:
    """A version 2 certificate of such a deployment, verified under its policy: VALID, in the
    policy's log, with the operator's anchor block time as its only time, said so in a note."""
    assert policy.log is not None
    assert result.verdict is Verdict.VALID and result.trusted and result.issuer_trusted
    assert result.certificate_version == 2 and result.log_origin == policy.log.origin
    assert 0 <= result.leaf_index < result.tree_size
    assert result.time_source is TimeSource.OPERATOR and not result.independent_time
    assert result.proven_time == result.anchored_at and result.time_evidence == ()
    assert result.witnesses == ()
    assert any("rests on the operator alone" in note for note in result.notes), result.notes
    assert {"checkpoint", "issuer", "witnesses", "anchor_fields"} <= set(result.steps)
    assert result.steps[-1] == "time"


@dataclass(frozen=True)
class OneLog:
    records: dict[str, Record]
    batches: list[Batch]  # in the order they were sealed
    checkpoints: list[Checkpoint]  # each batch's


def check_one_log(
    engine: Engine, *, origin: str | None = None, keys: Sequence[NoteVerifier] = ()
) -> OneLog:
    """Every record is in the one append-only log exactly once, and the log is what it claims.

    Every record is in a batch, each batch holds exactly its records, and each batch appended them
    where the previous one ended (log indexes 0..n-1, no gaps, no position taken twice), so the
    batches' checkpoints grow one from the other. The log's leaves (its level 0 tiles) are the
    records' leaf hashes in log order; each batch's checkpoint is a note of the log at its size
    whose root is recomputed here from those leaves; the log serves a valid consistency proof from
    each checkpoint to the next. With ``origin``/``keys``, every checkpoint is of that log and
    signed by one of the keys.
    """
    with Session(engine) as session:
        records = {r.id: r for r in session.exec(select(Record))}
        batches = list(session.exec(select(Batch).order_by(Batch.seq)))  # type: ignore[arg-type]
        size = max((b.log_size or 0 for b in batches), default=0)
        tiles = b"".join(
            read_tile(session, TileKey(0, i)) for i in range((size + TILE_WIDTH - 1) // TILE_WIDTH)
        )
        proofs = [
            consistency_proof(session, a.log_size or 0, b.log_size or 0)
            for a, b in itertools.pairwise(batches)
        ]
        for r in records.values():
            session.expunge(r)
        for b in batches:
            session.expunge(b)
    assert all(r.batch_seq is not None for r in records.values()), "records left unbatched"
    assert sum(b.size for b in batches) == len(records), "a record is in two batches, or none"
    members = Counter(r.batch_seq for r in records.values())
    assert dict(members) == {b.seq: b.size for b in batches}, (
        "a batch does not hold exactly its records"
    )

    # Each batch appends where the previous checkpoint ended; its records sit in its range.
    ends = list(itertools.accumulate(b.size for b in batches))
    assert [(b.log_start, b.log_size) for b in batches] == [
        (end - b.size, end) for b, end in zip(batches, ends, strict=True)
    ], "the batches do not append to one log one after the other"
    by_index = sorted(records.values(), key=lambda r: -1 if r.log_index is None else r.log_index)
    assert [r.log_index for r in by_index] == list(range(len(records))), "log indexes with gaps"
    ranges = {b.seq: (b.log_start or 0, b.log_size or 0) for b in batches}
    assert all(
        ranges[r.batch_seq][0] <= (r.log_index or 0) < ranges[r.batch_seq][1]
        for r in by_index
        if r.batch_seq is not None
    ), "a log index outside its batch"
    leaves = [bytes.fromhex(r.leaf_hash) for r in by_index]
    assert tiles == b"".join(leaves), "the log's leaves are not the records' leaf hashes"
    checkpoints = []
    for b in batches:
        assert b.checkpoint is not None and b.log_size is not None
        note = parse_note(b.checkpoint)
        checkpoint = Checkpoint.parse(note.text)
        assert checkpoint.size == b.log_size and checkpoint.root.hex() == b.root
        assert MerkleTree.from_leaf_hashes(leaves[: b.log_size]).root == checkpoint.root
        if origin is not None:
            assert checkpoint.origin == origin
        if keys:
            assert any(k.verify(note.text, sig) for k in keys for sig in note.signatures), (
                f"batch {b.seq}'s checkpoint is not signed by the log's key"
            )
        checkpoints.append(checkpoint)
    assert len({c.origin for c in checkpoints}) <= 1, "checkpoints of more than one log"
    for (old, new), proof in zip(itertools.pairwise(checkpoints), proofs, strict=True):
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    return OneLog(records, batches, checkpoints)


@dataclass(frozen=True)
class ChainAgreement:
    records: dict[str, Record]
    batches: list[Batch]


def check_database_and_chain_agree(
    engine: Engine,
    reader: AnchorReader,
    acknowledged: dict[str, str] | None = None,
    *,
    policy: TrustPolicy | None = None,
) -> ChainAgreement:
    """Exactly-once anchoring of one append-only log, checked from both sides.

    The database holds one log (:func:`check_one_log`; with ``policy``, the policy's log, signed
    by its key) and every batch is anchored. The chain: the registry (version 2) holds exactly one
    checkpoint per batch (so nothing was anchored twice, nor left out), with the batch's root, tree
    size, block and time, in the order the log grew; its latest checkpoint is the log's.
    ``acknowledged`` (record id -> leaf hash from its signed receipt) must all be stored as
    promised.
    """
    log = check_one_log(
        engine,
        origin=policy.log.origin if policy is not None and policy.log is not None else None,
        keys=policy.log.verifiers if policy is not None and policy.log is not None else (),
    )
    records, batches = log.records, log.batches
    if acknowledged is not None:
        assert {
            rid: records[rid].leaf_hash for rid in acknowledged if rid in records
        } == acknowledged
        assert set(acknowledged) <= set(records), "an acknowledged record is missing"
    assert [b.seq for b in batches if b.status != "anchored"] == [], "batches left unanchored"

    # The chain: one checkpoint per batch, in the same order, with the same root and size.
    assert reader.registry_version == 2
    assert reader.batch_count() == len(batches), "the chain has more or fewer batches than the DB"
    assert [b.chain_batch_id for b in batches] == list(range(1, len(batches) + 1))
    assert len({b.root for b in batches}) == len(batches)
    for b in batches:
        on_chain = reader.find_root(bytes.fromhex(b.root))
        assert on_chain is not None, f"batch {b.seq}'s root is not on the chain"
        assert (on_chain.batch_id, on_chain.tree_size) == (b.chain_batch_id, b.log_size)
        assert (on_chain.block_number, on_chain.timestamp) == (b.block_number, b.block_timestamp)
    latest = reader.latest_checkpoint()
    if batches:
        assert latest is not None
        assert (latest.root.hex(), latest.tree_size) == (batches[-1].root, batches[-1].log_size)
    else:
        assert latest is None
    return ChainAgreement(records, batches)


def wait_all_anchored(
    database_url: str, *, at_least: int = 0, certified: bool = False, timeout: float = 180
) -> None:
    """Wait until every stored record is in an anchored batch, read from the database itself.

    ``at_least``: and the database holds at least that many records; ``certified``: and every
    batch is certified too (its certificates can be issued). Raises :class:`TimeoutError` saying
    what is still waiting after ``timeout`` seconds.
    """
    engine = create_db_engine(database_url, pool_size=1)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with Session(engine) as session:
                total = session.exec(select(func.count()).select_from(Record)).one()
                waiting = session.exec(
                    select(func.count())
                    .select_from(Record)
                    .outerjoin(Batch)
                    .where(or_(col(Record.batch_seq).is_(None), col(Batch.status) != "anchored"))
                ).one()
                uncertified = (
                    session.exec(
                        select(func.count())
                        .select_from(Batch)
                        .where(col(Batch.certified_at).is_(None))
                    ).one()
                    if certified
                    else 0
                )
            if waiting == 0 and uncertified == 0 and total >= at_least:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"after {timeout}s: {total} records (waiting for {at_least}), {waiting} not in "
                    f"an anchored batch, {uncertified} batches not certified"
                )
            time.sleep(0.3)
    finally:
        engine.dispose()


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
    if report.when == "call" or not report.passed:
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
