"""The same end-to-end scenario on each backend: database x chain x content store.

Every test runs a real ``notary serve`` process configured only through ``NOTARY_*`` settings and
talks to it through the SDK over HTTP, as a user would. The test id names the stack,
``database-chain-content``, e.g. ``[postgres-geth-kubo]``.

Not the full cross product: each backend appears in at least one full-stack run, and the all-real
stacks (PostgreSQL + a chain node + Kubo) run once per node. Backends a run cannot start are
skipped with the reason (a failure under ``CI=true``).

* ``test_evidence_and_works_end_to_end``: principals, a file (twice), a digest, a many-digests
  request; anchoring into the one log; certificates verified under the served trust policy,
  offline and against the chain with the service stopped (on a chain node, also under a verifier's
  policy that trusts that chain for time); content read back (from Kubo itself on Kubo); works
  registration and the "who was first" lookup in anchor order.
* ``test_kill_9_during_submissions_anchors_every_receipt_once``: ``kill -9`` twice in the middle of
  concurrent submissions; every acknowledged receipt is stored as promised, appended to the log once
  and anchored exactly once (the database, the log and the registry agree checkpoint for
  checkpoint).

None of these deployments has witnesses or a time-stamp authority: under the policy they serve,
their certificates are VALID with the time resting on the operator alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipnotary.sdk import (
    Certificate,
    NotaryClient,
    Step,
    TimeSource,
    TrustPolicy,
    VerificationError,
    verify_certificate,
)
from ipnotary.sdk.chain_view import open_chain_view
from ipnotary.sdk.fingerprint import fingerprint_bytes
from ipnotary.sdk.policy import TrustedChain
from tests.integration.conftest import (
    Stack,
    StackSettings,
    check_database_and_chain_agree,
    check_valid_on_operator_time,
    served_operator_policy,
    stack_settings,
    wait_all_anchored,
)
from tests.integration.service_process import DigestSubmitter, ServiceProcess

STACKS = [
    Stack("sqlite", "embedded", "embedded").param(),  # the embedded default
    Stack("postgres", "embedded", "embedded").param(),  # the database alone changes
    Stack("sqlite", "hardhat", "kubo").param(),
    Stack("postgres", "hardhat", "kubo").param(),  # all real, Hardhat
    Stack("postgres", "geth", "kubo").param(),  # all real, geth
]

OWNER = {"name": "Acme Studio Ltd", "id_type": "uscc", "id": "91350100M000100Y43"}
SECOND_OWNER = {"name": "Second Owner", "id_type": "cn_resident_id", "id": "11010519491231002X"}


def work(owner: dict[str, str]) -> dict[str, Any]:
    return {
        "title": "Moonlight over the river",
        "work_type": "fine_art",
        "authors": [{"name": "Li Hua"}],
        "copyright_owner": owner,
        "completed_on": "2025-03-01",
    }


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> StackSettings:
    return stack_settings(request, request.param, tmp_path)


def _service(stack: StackSettings, tmp_path: Path, **env: str) -> ServiceProcess:
    return ServiceProcess(tmp_path / "data", env={**stack.env, **env})


def _wait_ready_leader(client: NotaryClient, timeout: float = 30) -> dict[str, Any]:
    """/readyz once every dependency is up and this process leads the anchoring."""
    deadline = time.monotonic() + timeout
    while True:
        ready = client.ready()
        if ready["status"] == "ready" and ready["checks"]["anchoring"]["leader"]:
            return ready
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready, or not the anchoring leader, after {timeout}s: {ready}")
        time.sleep(0.2)


def _trusting_the_chain(
    policy: TrustPolicy, chain_id: int, genesis_hash: str, registry: str
) -> TrustPolicy:
    """A verifier's own policy: the served one, plus a chain it trusts for time (a public chain
    no single party controls), pinned by the genesis block hash it read from a node itself."""
    chain = TrustedChain(chain_id=chain_id, genesis_hash=genesis_hash, registry=registry)
    return TrustPolicy.from_json(
        {
            **policy.model_dump(mode="json", exclude_none=True),
            "chains": [chain.model_dump(mode="json")],
            "require_independent_time": True,
            "notice": None,
        }
    )


def _wait_status(
    url: str, headers: dict[str, str], path: str, timeout: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view = httpx.get(url + path, headers=headers, timeout=10).json()
        if view.get("status") == "anchored":
            return dict(view)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} not anchored after {timeout}s: {view}")
        time.sleep(0.3)


def test_evidence_and_works_end_to_end(stack: StackSettings, tmp_path: Path) -> None:
    svc = _service(stack, tmp_path)
    holder_key = svc.create_principal("Acme Studio", "holder")
    second_key = svc.create_principal("Second Owner", "holder")
    platform_key = svc.create_principal("Marketplace", "platform")
    svc.start()
    try:
        evidence = tmp_path / "design.bin"
        payload = b"".join(i.to_bytes(4, "big") * 16 for i in range(12_000))  # 768 KiB: 3 chunks
        evidence.write_bytes(payload)
        with NotaryClient(svc.url, holder_key, timeout=60) as anonymous:
            ready = _wait_ready_leader(anonymous)
        policy = served_operator_policy(svc)
        with NotaryClient(svc.url, holder_key, timeout=60, policy=policy) as client:
            assert ready["checks"]["content_store"]["backend"] == stack.stack.content
            registry = ready["checks"]["chain"]
            if stack.node is not None:
                assert registry["chain_id"] == stack.node.chain_id

            sub = client.submit_file(evidence, metadata={"title": "Logo, final draft"})
            assert sub.created and sub.status == "pending"
            assert client.submit_file(evidence).id == sub.id  # same holder, same content
            one = client.submit_digest(sha256="ab" * 32, size=1234, metadata={"title": "a digest"})
            many = client.submit_digests(
                [
                    {"sha256": f"{i:064x}", "size": i, "metadata": {"title": f"item {i}"}}
                    for i in range(1, 301)
                ]
            )
            assert len({s.id for s in many}) == 300 and all(s.created for s in many)
            assert client.submit_digests([{"sha256": f"{7:064x}", "size": 7}])[0].id == many[6].id

            client.wait_anchored(sub.id, timeout=90)
            wait_all_anchored(stack.database(svc.data_dir))
            # Each certificate is checked under the policy as it arrives (NotaryClient(policy=)).
            certs = {s.id: client.certificate(s.id) for s in [sub, one, many[0], many[-1]]}
            log_indexes = {
                s.id: client.get(s.id)["log_index"] for s in [sub, one, many[0], many[-1]]
            }
            copy = tmp_path / "copy.bin"
            client.download_content(sub.id, copy)
        assert copy.read_bytes() == payload
        cid = sub.receipt.record["content"]["cid"]
        assert cid == fingerprint_bytes(payload).cid
        if stack.kubo is not None:  # the bytes are in Kubo itself, under the CID we computed
            kubo_copy = httpx.post(
                f"{stack.kubo.api_url}/api/v0/cat", params={"arg": cid}, timeout=30
            )
            assert kubo_copy.status_code == 200 and kubo_copy.content == payload

        # Works: a second holder registers the same content later; the lookup lists the first first.
        content = {"sha256": "cd" * 32, "size": 4321}
        first = httpx.post(
            f"{svc.url}/v1/works",
            headers=_auth(holder_key),
            json={"work": work(OWNER), "content": content},
            timeout=30,
        )
        assert first.status_code == 201, first.text
        first_id = first.json()["id"]
        _wait_status(svc.url, _auth(holder_key), f"/v1/works/{first_id}")
        second = httpx.post(
            f"{svc.url}/v1/works",
            headers=_auth(second_key),
            json={"work": work(SECOND_OWNER), "content": content},
            timeout=30,
        )
        assert second.status_code == 201, second.text
        assert [p["id"] for p in second.json()["prior_registrations"]] == [first_id]
        _wait_status(svc.url, _auth(second_key), f"/v1/works/{second.json()['id']}")
        lookup = httpx.get(
            f"{svc.url}/v1/works/registrations",
            params={"sha256": "cd" * 32},
            headers=_auth(platform_key),
            timeout=30,
        ).json()["registrations"]
        assert [r["id"] for r in lookup] == [first_id, second.json()["id"]]
        assert [r["prior"] for r in lookup] == [True, False]
        assert lookup[0]["block_number"] <= lookup[1]["block_number"]
        assert lookup[0]["anchored_at"] <= lookup[1]["anchored_at"]
    finally:
        svc.stop()

    # Version 2: each record at its own place in the one log, under a checkpoint that includes it.
    assert all(isinstance(c, Certificate) for c in certs.values())
    assert len(set(log_indexes.values())) == len(certs)
    for rid, c in certs.items():
        assert isinstance(c, Certificate)
        assert c.log.leaf_index == log_indexes[rid] < c.log.tree_size
        assert c.log.origin == policy.log.origin  # type: ignore[union-attr]

    # With the service stopped: offline checks, then any node of the chain.
    cert = certs[sub.id]
    result = verify_certificate(cert.to_json_bytes(), policy, content=evidence)
    assert result.record_id == sub.id and result.content_checked and not result.chain_checked
    check_valid_on_operator_time(result, policy)
    with pytest.raises(VerificationError) as info:
        verify_certificate(cert, policy, content=payload[:-1] + b"\x00")
    assert info.value.step == Step.CONTENT
    view = open_chain_view(**stack.chain_view_args(svc.data_dir))
    try:
        for rid, c in certs.items():
            checked = verify_certificate(
                c, policy, chain=view, content=evidence if rid == sub.id else None
            )
            check_valid_on_operator_time(checked, policy)
            assert checked.chain_checked and checked.confirmations is not None
            assert (checked.chain_id, checked.contract) == (
                registry["chain_id"],
                registry["contract"],
            )
            assert "transaction" in checked.steps and "genesis" not in checked.steps
        if stack.node is not None:
            # A verifier who trusts this chain pins its genesis block and gets its block time.
            own = _trusting_the_chain(
                policy, registry["chain_id"], view.genesis_hash(), registry["contract"]
            )
            for c in certs.values():
                checked = verify_certificate(c, own, chain=view)
                assert checked.time_source is TimeSource.CHAIN and checked.independent_time
                assert checked.proven_time == checked.anchored_at and "genesis" in checked.steps
            with pytest.raises(VerificationError) as info:  # without a node, nothing vouches
                verify_certificate(cert, own)
            assert info.value.step == Step.TIME
    finally:
        view.close()

    engine = stack.engine(svc.data_dir)
    reader = stack.reader(svc.data_dir, registry["contract"])
    try:
        agreed = check_database_and_chain_agree(engine, reader, policy=policy)
    finally:
        reader.close()
        engine.dispose()
    assert len(agreed.records) == 1 + 1 + 300 + 2


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


TOTAL = 1_500
PER_REQUEST = 25


@pytest.mark.slow
def test_kill_9_during_submissions_anchors_every_receipt_once(
    stack: StackSettings, tmp_path: Path
) -> None:
    svc = _service(
        stack, tmp_path, NOTARY_BATCH_MAX_ITEMS="200", NOTARY_BATCH_INTERVAL_SECONDS="0.3"
    )
    key = svc.create_principal("Crash Test Ltd", "holder")
    submitter = DigestSubmitter(svc, key, total=TOTAL, per_request=PER_REQUEST)
    acknowledged = submitter.acknowledged
    svc.start()
    submitter.start()
    try:
        for threshold in (TOTAL // 3, 2 * TOTAL // 3):
            submitter.wait_for(threshold)
            svc.kill()
            time.sleep(0.5)
            svc.start()
        submitter.join()
        assert len(acknowledged) == TOTAL
        wait_all_anchored(stack.database(svc.data_dir))
        with NotaryClient(svc.url, key, timeout=60) as anonymous:
            registry = _wait_ready_leader(anonymous)["checks"]["chain"]["contract"]
        policy = served_operator_policy(svc)
        with NotaryClient(svc.url, key, timeout=60, policy=policy) as client:
            sample = sorted(acknowledged)[:: TOTAL // 10]
            certs = [client.certificate(rid) for rid in sample]
    finally:
        svc.stop()

    engine = stack.engine(svc.data_dir)
    reader = stack.reader(svc.data_dir, registry)
    try:
        agreed = check_database_and_chain_agree(engine, reader, acknowledged, policy=policy)
    finally:
        reader.close()
        engine.dispose()
    assert len(agreed.records) == TOTAL
    assert len(agreed.batches) > 1  # the log grew over several checkpoints, across the kills
    view = open_chain_view(**stack.chain_view_args(svc.data_dir))
    try:
        for cert in certs:
            result = verify_certificate(cert, policy, chain=view)
            assert result.chain_checked and result.contract == registry
            check_valid_on_operator_time(result, policy)
    finally:
        view.close()
