"""Several service processes, one anchoring worker: leadership through PostgreSQL, and failover.

Two ``notary serve`` processes ("node a" and "node b", two ports, two data directories) share
what a deployment behind a load balancer shares: one PostgreSQL database (and so one log), one
chain node (a real one: the embedded chain takes an exclusive lock), one Kubo daemon, the registry
address, the issuer key and the log key. Submissions go round-robin to both, as a load balancer
would send them; both serve the same trust policy.

* ``test_kill_9_leader_hands_over_and_anchors_every_receipt_once``: exactly one process leads the
  anchoring at any moment (``/readyz`` ``checks.anchoring.leader``, and PostgreSQL's lock table);
  ``kill -9`` the leader, the other takes over within a bounded time, twice; every acknowledged
  record is appended to the one log once and anchored exactly once (the database, the log and the
  registry agree checkpoint for checkpoint), and certificates from either process verify under
  the one policy.
* ``test_leader_notices_its_lock_connection_dying``: the server ends the leader's lock session
  (as a DBA, a proxy or a network failure would); the leader notices at its next check and
  leadership settles on exactly one process again.

Measured failover times are printed in the run's closing summary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from ipnotary.chain import AnchorReader, EvidenceRegistryClient
from ipnotary.sdk import NotaryClient, TrustPolicy, verify_certificate
from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.errors import APIError, TransportError
from ipnotary.service.adapters.keys import load_or_create_ed25519_key
from ipnotary.service.storage.db import create_db_engine, migrate
from ipnotary.service.worker.leadership import PostgresLeaderLock
from tests.conftest import REPO, missing_component
from tests.integration.conftest import (
    Stack,
    check_database_and_chain_agree,
    check_valid_on_operator_time,
    fund_new_account,
    record_measurement,
    served_operator_policy,
    wait_all_anchored,
)
from tests.integration.postgres import PostgresServer, find_pg_bin
from tests.integration.service_process import ServiceProcess, start_all

# The anchoring lock's id (worker.leadership._ANCHOR_LOCK_ID), as pg_locks shows it.
ANCHOR_LOCK_ID = 0x4E4F5441
# Kill -9 to takeover: the server drops a dead client's session at once, a follower asks every
# second.
MAX_FAILOVER_SECONDS = 10.0

STACKS = [
    Stack("postgres", "hardhat", "kubo").param(),
    Stack("postgres", "geth", "kubo").param(pytest.mark.slow),
]


@dataclass
class Cluster:
    """Two service processes on shared PostgreSQL, chain, Kubo, registry, issuer and log keys."""

    nodes: dict[str, ServiceProcess]
    database_url: str
    rpc_url: str
    registry: str
    failovers: list[float] = field(default_factory=list)

    def policy(self) -> TrustPolicy:
        """The trust policy the processes serve: the same from each, naming the shared keys."""
        served = [served_operator_policy(svc) for svc in self.nodes.values()]
        assert all(p == served[0] for p in served), "the processes serve different policies"
        return served[0]

    def ready(self, name: str) -> dict[str, Any] | None:
        """/readyz of one process, or None if it does not answer (killed, starting)."""
        try:
            return dict(httpx.get(f"{self.nodes[name].url}/readyz", timeout=5).json())
        except (httpx.TransportError, ValueError):
            return None

    def leaders(self) -> dict[str, bool | None]:
        """Each process's own view: leading, following, or None when not answering."""
        out: dict[str, bool | None] = {}
        for name in self.nodes:
            ready = self.ready(name)
            out[name] = None if ready is None else bool(ready["checks"]["anchoring"]["leader"])
        return out

    def lock_holder(self) -> tuple[str, int] | None:
        """(application_name, backend pid) of the session holding the anchoring lock."""
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(
                "SELECT a.application_name, a.pid FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (ANCHOR_LOCK_ID,),
            ).fetchall()
        assert len(row) <= 1, f"two sessions hold the anchoring lock: {row}"
        return (str(row[0][0]), int(row[0][1])) if row else None

    def wait_leader(self, *, not_: str | None = None, timeout: float = 30) -> str:
        """The one process that leads (and holds the lock), once exactly one does."""
        deadline = time.monotonic() + timeout
        while True:
            views = self.leaders()
            leading = [n for n, v in views.items() if v]
            holder = self.lock_holder()
            if len(leading) == 1 and leading[0] != not_ and holder and holder[0] == leading[0]:
                return leading[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no single leader after {timeout}s: {views}, lock {holder}")
            time.sleep(0.1)


class LeadershipMonitor(threading.Thread):
    """Samples both processes' /readyz; fails the test if two ever say they lead at once."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.stop = threading.Event()
        self.samples = 0
        self.both: list[dict[str, bool | None]] = []

    def run(self) -> None:
        while not self.stop.is_set():
            views = self.cluster.leaders()
            self.samples += 1
            if sum(1 for v in views.values() if v) > 1:
                self.both.append(views)
            self.stop.wait(0.2)


@pytest.fixture(params=STACKS)
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    stack: Stack = request.param
    database_url: str = request.getfixturevalue("postgres_url")
    node = request.getfixturevalue(f"{stack.chain}_node")
    kubo = request.getfixturevalue("daemon")
    key = fund_new_account(node, tmp_path)
    # Deployed once, ahead: several processes must never race to deploy their own registries.
    deployer = EvidenceRegistryClient.connect_rpc(
        node.url, private_key=key, state_dir=tmp_path / "deployer"
    )
    registry = str(deployer.registry_address)
    deployer.close()
    issuer_key = tmp_path / "shared" / "issuer-ed25519.pem"
    load_or_create_ed25519_key(issuer_key, purpose="issuer")
    log_key = tmp_path / "shared" / "log-ed25519.pem"  # one log, whichever process seals
    load_or_create_ed25519_key(log_key, purpose="log")
    shared = {
        "NOTARY_CHAIN_BACKEND": "rpc",
        "NOTARY_CHAIN_RPC_URL": node.url,
        "NOTARY_CHAIN_PRIVATE_KEY": key,
        "NOTARY_REGISTRY_ADDRESS": registry,
        "NOTARY_CONTENT_BACKEND": "kubo",
        "NOTARY_KUBO_API_URL": kubo.api_url,
        "NOTARY_ISSUER_KEY_FILE": str(issuer_key),
        "NOTARY_LOG_KEY_FILE": str(log_key),
        "NOTARY_BATCH_MAX_ITEMS": "200",
        "NOTARY_BATCH_INTERVAL_SECONDS": "0.3",
    }
    nodes = {}
    for name in ("a", "b"):
        # application_name tells the processes' sessions apart in pg_stat_activity.
        url = f"{database_url}?application_name=node-{name}"
        nodes[f"node-{name}"] = ServiceProcess(
            tmp_path / f"data-{name}", env={**shared, "NOTARY_DATABASE_URL": url}
        )
    cluster = Cluster(nodes, database_url, node.url, registry)
    try:
        start_all(list(nodes.values()))
        yield cluster
    finally:
        for svc in nodes.values():
            svc.stop()
        if cluster.failovers:
            record_measurement(
                f"failover after kill -9 of the leader [{stack.id}]: "
                + ", ".join(f"{s:.2f}s" for s in cluster.failovers)
            )


TOTAL = 2_000
PER_REQUEST = 25


def _digest(i: int) -> dict[str, Any]:
    return {"sha256": f"{i + 2 * 10**6:064x}", "size": i}


@pytest.mark.postgres
@pytest.mark.kubo
def test_kill_9_leader_hands_over_and_anchors_every_receipt_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    first = cluster.nodes["node-a"]
    key = first.create_principal("Failover Ltd", "holder")
    names = list(cluster.nodes)
    leader = cluster.wait_leader()
    policy = cluster.policy()
    monitor = LeadershipMonitor(cluster)
    monitor.start()

    # A file through one process, its content and certificate through the other.
    evidence = tmp_path / "evidence.bin"
    evidence.write_bytes(b"shared content store\n" * 20_000)
    with NotaryClient(cluster.nodes[names[0]].url, key, timeout=30, policy=policy) as client:
        file_sub = client.submit_file(evidence)

    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    todo = list(range(0, TOTAL, PER_REQUEST))
    errors: list[BaseException] = []

    def submit_all(offset: int) -> None:
        """Round-robin over both processes; a request to a dead one is sent to the next."""
        turn = offset
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    start = todo.pop()
                items = [_digest(i) for i in range(start, start + PER_REQUEST)]
                while True:
                    url = cluster.nodes[names[turn % 2]].url
                    turn += 1
                    try:
                        with NotaryClient(url, key, timeout=30) as client:
                            subs = client.submit_digests(items)
                        break
                    except (APIError, TransportError):  # an error, or no answer at all
                        time.sleep(0.05)
                with lock:
                    for s in subs:
                        acknowledged[s.id] = s.receipt.leaf_hash
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=submit_all, args=(i,), daemon=True) for i in range(4)]
    for w in workers:
        w.start()
    try:
        for threshold in (TOTAL // 3, 2 * TOTAL // 3):
            deadline = time.monotonic() + 120
            while len(acknowledged) < threshold and not errors and time.monotonic() < deadline:
                time.sleep(0.01)
            killed_at = time.monotonic()
            cluster.nodes[leader].kill()
            follower = cluster.wait_leader(not_=leader, timeout=60)
            cluster.failovers.append(time.monotonic() - killed_at)
            # The killed process comes back as a follower: the lock stays where it is.
            cluster.nodes[leader].start()
            time.sleep(2.5)  # more than two of a follower's attempts
            assert cluster.leaders() == {follower: True, leader: False}
            assert cluster.lock_holder()[0] == follower  # type: ignore[index]
            leader = follower
        for w in workers:
            w.join(timeout=300)
        assert not errors, errors
        assert len(acknowledged) == TOTAL
        acknowledged[file_sub.id] = file_sub.receipt.leaf_hash

        other = cluster.nodes[names[1]]
        with NotaryClient(other.url, key, timeout=30, policy=policy) as client:
            client.wait_anchored(file_sub.id, timeout=120)
            copy = tmp_path / "copy.bin"
            client.download_content(file_sub.id, copy)
            file_cert = client.certificate(file_sub.id)
        assert copy.read_bytes() == evidence.read_bytes()
        wait_all_anchored(cluster.database_url, timeout=180)
        sample = sorted(acknowledged)[:: TOTAL // 10]
        certs = []
        for i, rid in enumerate(sample):  # from either process: one log, one issuer, one registry
            with NotaryClient(
                cluster.nodes[names[i % 2]].url, key, timeout=30, policy=policy
            ) as client:
                certs.append(client.certificate(rid))
    finally:
        monitor.stop.set()
        monitor.join(timeout=10)

    assert monitor.samples > 10
    assert monitor.both == [], f"two processes led the anchoring at once: {monitor.both}"
    assert all(t < MAX_FAILOVER_SECONDS for t in cluster.failovers), cluster.failovers

    engine = create_db_engine(cluster.database_url)
    reader = AnchorReader.from_rpc(cluster.rpc_url, registry_address=cluster.registry)
    try:
        agreed = check_database_and_chain_agree(engine, reader, acknowledged, policy=policy)
    finally:
        reader.close()
        engine.dispose()
    assert len(agreed.records) == TOTAL + 1
    view = open_chain_view(rpc_url=cluster.rpc_url)
    try:
        result = verify_certificate(file_cert, policy, content=evidence, chain=view)
        assert result.chain_checked and result.content_checked
        check_valid_on_operator_time(result, policy)
        for cert in certs:
            result = verify_certificate(cert, policy, chain=view)
            assert result.chain_checked and result.contract == cluster.registry
            check_valid_on_operator_time(result, policy)
    finally:
        view.close()


@pytest.mark.postgres
@pytest.mark.kubo
def test_leader_notices_its_lock_connection_dying(cluster: Cluster) -> None:
    leader = cluster.wait_leader()
    holder = cluster.lock_holder()
    assert holder is not None and holder[0] == leader
    with psycopg.connect(cluster.database_url) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (holder[1],)).fetchone() == (True,)
    # The lock went with the session. Whoever takes it next, the processes' own views must agree
    # with the lock table again within a few of their checks, with a new session holding it.
    deadline = time.monotonic() + 15
    while True:
        now = cluster.lock_holder()
        views = cluster.leaders()
        if (
            now is not None
            and now[1] != holder[1]
            and views[now[0]]
            and sum(1 for v in views.values() if v) == 1
        ):
            break
        assert time.monotonic() < deadline, f"leadership did not settle: {views}, lock {now}"
        time.sleep(0.1)
    # Still stable a few checks later.
    time.sleep(2.5)
    assert sum(1 for v in cluster.leaders().values() if v) == 1
    assert cluster.lock_holder() == now


# -- a leader machine that vanishes ------------------------------------------------------------

_LOCK_LOOP = """
import sys, time
from ipnotary.service.storage.db import create_db_engine
from ipnotary.service.worker.leadership import PostgresLeaderLock
lock = PostgresLeaderLock(create_db_engine(sys.argv[1]))
while not lock.try_acquire():
    time.sleep(0.25)
print("leading", flush=True)
while True:
    lock.try_acquire()
    time.sleep(0.25)
"""


class CutOffNetwork:
    """A network namespace joined to this host by a veth pair: a "machine" whose link we can cut.

    Cutting the link (``ip link set ... down``) is what a dead host or a partition looks like to
    the database server: no FIN, no RST, just silence.
    """

    def __init__(self) -> None:
        suffix = os.getpid() % 10_000
        self.host_if, self.ns_if = f"nth{suffix}", f"ntn{suffix}"
        net = 18 + suffix % 2  # 198.18.0.0/15 is reserved for network tests (RFC 2544)
        third = suffix % 250
        self.host_ip, self.ns_ip = f"198.{net}.{third}.1", f"198.{net}.{third}.2"
        self.subnet = f"198.{net}.{third}.0/30"
        # A link of that name left by an interrupted run would make "ip link add" fail.
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, check=False)
        self.sleeper = subprocess.Popen(["unshare", "-n", "sleep", "3600"])
        try:
            time.sleep(0.2)
            ns = str(self.sleeper.pid)
            self._ip(
                "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if, "netns", ns
            )
            self._ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            self._ip("link", "set", self.host_if, "up")
            inside = ["nsenter", "-t", ns, "-n", "ip"]
            subprocess.run(
                [*inside, "addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if], check=True
            )
            subprocess.run([*inside, "link", "set", self.ns_if, "up"], check=True)
            subprocess.run([*inside, "link", "set", "lo", "up"], check=True)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(["nsenter", "-t", str(self.sleeper.pid), "-n", *argv], **kwargs)

    def cut(self) -> None:
        self._ip("link", "set", self.host_if, "down")

    def close(self) -> None:
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, check=False)
        self.sleeper.kill()
        self.sleeper.wait()


def _can_make_network_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create a network namespace and a veth pair"
    missing = [tool for tool in ("unshare", "nsenter", "ip") if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} (util-linux, iproute2)"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return f"cannot create a network namespace here: {probe.stderr.decode().strip()}"
    return None


@pytest.mark.postgres
@pytest.mark.slow
def test_a_leader_whose_machine_vanishes_is_replaced_within_30_s(tmp_path: Path) -> None:
    """No FIN reaches the server when a machine dies: only keepalives on the lock session bound
    how long its lock outlives it (about 20 s; two hours with Linux's TCP defaults)."""
    reason = _can_make_network_namespaces()
    if reason is not None:
        pytest.skip(reason)
    bin_dir, missing = find_pg_bin()
    if bin_dir is None:
        missing_component(missing)
    assert bin_dir is not None
    try:
        network = CutOffNetwork()
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot build a veth pair into a network namespace here: {exc}")
    server = PostgresServer(
        bin_dir,
        listen_addresses=("127.0.0.1", network.host_ip),
        hba_lines=(f"host all all {network.subnet} scram-sha-256",),
    )
    leader: subprocess.Popen[str] | None = None
    engine = None
    try:
        server.start()
        url = server.create_database()
        migrate_engine = create_db_engine(url)
        migrate(migrate_engine)
        migrate_engine.dispose()
        remote = url.replace("@127.0.0.1:", f"@{network.host_ip}:")
        leader = network.popen(
            [sys.executable, "-c", _LOCK_LOOP, remote],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert leader.stdout is not None
        assert leader.stdout.readline().strip() == "leading"
        engine = create_db_engine(url)
        follower = PostgresLeaderLock(engine)
        assert not follower.try_acquire()

        network.cut()  # the leader process lives on, unreachable
        cut_at = time.monotonic()
        while not follower.try_acquire():
            assert time.monotonic() - cut_at < 30, "the lock outlived its unreachable holder"
            time.sleep(0.5)
        took = time.monotonic() - cut_at
        record_measurement(f"leader machine cut off (no FIN): lock taken over after {took:.1f}s")
        follower.release()
    finally:
        if leader is not None:
            leader.kill()
            leader.wait()
        if engine is not None:
            engine.dispose()
        server.stop()
        network.close()
