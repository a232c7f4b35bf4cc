"""A production deployment that cannot drift: every shared setting required
(``tests/unit/notary/test_production_settings.py``), the deployment's identity recorded once and
checked by every process at start, a chain key that cannot anchor found on every process, and
anchoring that resumes as soon as the chain is back; on the embedded chain, in processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from ipnotary.sdk.signing import key_id, public_key_to_b64
from ipnotary.service.adapters.keys import load_or_create_ed25519_key
from ipnotary.service.config import Settings
from ipnotary.service.errors import ConfigurationError
from ipnotary.service.readiness import check_readiness
from ipnotary.service.runtime import Runtime
from ipnotary.service.services.deployment import check_facts, preflight
from ipnotary.service.storage.models import AuditEvent, DeploymentFact
from ipnotary.service.worker.anchoring import AnchoringWorker


def production_env(tmp: Path) -> dict[str, str]:
    return {
        "NOTARY_ENV": "production",
        "NOTARY_DATA_DIR": str(tmp / "data"),
        "NOTARY_CHAIN_ID": "1337",
        "NOTARY_ISSUER_KEY_FILE": str(tmp / "keys" / "issuer.pem"),
        "NOTARY_LOG_KEY_FILE": str(tmp / "keys" / "log.pem"),
        "NOTARY_LOG_FORMAT": "text",
    }


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``notary deploy`` run once for a new deployment; returns the settings it printed."""
    from ipnotary.service.cli import app

    env = production_env(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["deploy"])
    assert result.exit_code == 0, result.output
    printed = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert printed["NOTARY_ISSUER_KEY_FILE"] == env["NOTARY_ISSUER_KEY_FILE"]
    assert printed["NOTARY_CHAIN_ID"] == "1337" and printed["NOTARY_REGISTRY_ADDRESS"].startswith(
        "0x"
    )
    # Run again: nothing new, the same settings.
    again = CliRunner().invoke(app, ["deploy"])
    assert again.exit_code == 0 and again.stdout == result.stdout
    for name, value in printed.items():
        monkeypatch.setenv(name, value)
    return printed


def start(**overrides: Any) -> dict[str, str]:
    """What ``notary serve`` does before serving in production."""
    settings = Settings(**overrides)
    settings.check_safety()
    runtime = Runtime.build(settings)
    try:
        return preflight(runtime)
    finally:
        runtime.close()


def test_every_process_of_the_deployment_starts_and_records_nothing_new(
    deployed: dict[str, str],
) -> None:
    facts = start()
    assert facts["registry_address"] == deployed["NOTARY_REGISTRY_ADDRESS"].lower()
    assert facts["log_origin"] == deployed["NOTARY_LOG_ORIGIN"]
    settings = Settings()
    runtime = Runtime.build(settings)
    try:
        with Session(runtime.engine) as session:
            recorded = {f.name: f.value for f in session.exec(select(DeploymentFact))}
    finally:
        runtime.close()
    assert recorded == facts and recorded["issuer_key_id"] == runtime.issuer.key_id


def test_a_process_with_another_issuer_key_refuses_to_start(
    deployed: dict[str, str], tmp_path: Path
) -> None:
    other = tmp_path / "other-issuer.pem"
    load_or_create_ed25519_key(other, purpose="issuer")
    with pytest.raises(ConfigurationError) as info:
        start(issuer_key_file=other)
    assert info.value.code == "deployment_mismatch"
    assert "issuer_key_id" in info.value.detail and "NOTARY_ISSUER_KEY_FILE" in info.value.detail
    assert "\n" not in info.value.detail


def test_a_rotated_issuer_key_replaces_the_recorded_one_audited(
    deployed: dict[str, str], tmp_path: Path
) -> None:
    old = load_or_create_ed25519_key(Path(deployed["NOTARY_ISSUER_KEY_FILE"]), purpose="issuer")
    new_file = tmp_path / "issuer-2.pem"
    new = load_or_create_ed25519_key(new_file, purpose="issuer")
    retired = [
        {"public_key": public_key_to_b64(old.public_key()), "not_after": "2026-12-01T00:00:00Z"}
    ]
    facts = start(issuer_key_file=new_file, issuer_retired_keys=retired)
    assert facts["issuer_key_id"] == key_id(new.public_key())
    settings = Settings(issuer_key_file=new_file, issuer_retired_keys=retired)
    runtime = Runtime.build(settings)
    try:
        with Session(runtime.engine) as session:
            events = session.exec(
                select(AuditEvent).where(AuditEvent.action == "deployment.issuer_key_rotated")
            ).all()
    finally:
        runtime.close()
    assert len(events) == 1 and key_id(old.public_key()) in (events[0].detail or "")
    # The old key, once retired, cannot come back.
    with pytest.raises(ConfigurationError, match="issuer_key_id"):
        start()


def test_chain_and_registry_mismatches_name_the_setting(deployed: dict[str, str]) -> None:
    runtime = Runtime.build(Settings())
    try:
        recorded = preflight(runtime)
        for fact, setting in (
            ("chain_id", "NOTARY_CHAIN_ID"),
            ("genesis_hash", "NOTARY_CHAIN_RPC_URL"),
            ("registry_address", "NOTARY_REGISTRY_ADDRESS"),
            ("pledge_registry_address", "NOTARY_PLEDGE_REGISTRY_ADDRESS"),
        ):
            wrong = {**recorded, fact: "0x" + "12" * 20}
            with pytest.raises(ConfigurationError, match=setting) as info:
                check_facts(runtime.engine, wrong)
            assert info.value.code == "deployment_mismatch", fact
    finally:
        runtime.close()


def test_a_key_that_cannot_anchor_is_found_at_start_and_on_every_process(
    deployed: dict[str, str],
) -> None:
    stranger = os.urandom(32).hex()  # not the deployer: no ANCHORER_ROLE, no funds
    with pytest.raises(ConfigurationError) as info:
        start(chain_private_key=stranger)
    assert info.value.code == "anchoring_account_unusable" and "ANCHORER_ROLE" in info.value.detail
    # A follower with that key (not leading, nothing to anchor) is not ready, and says why.
    runtime = Runtime.build(Settings(chain_private_key=stranger, run_anchoring_worker=False))
    try:
        chain = check_readiness(runtime)["chain"]
    finally:
        runtime.close()
    assert chain["ok"] is False and chain["anchorer_role"] is False
    assert "ANCHORER_ROLE" in chain["error"]
    runtime = Runtime.build(Settings(run_anchoring_worker=False))
    try:
        chain = check_readiness(runtime)["chain"]
    finally:
        runtime.close()
    assert (
        chain["ok"] is True
        and chain["anchorer_role"] is True
        and chain["anchors_affordable"] > 1000
    )


def test_notary_serve_refuses_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, **production_env(tmp_path), "NOTARY_BIND_PORT": "9"}
    notary = Path(sys.executable).with_name("notary")
    run = subprocess.run(
        [str(notary), "serve"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "NOTARY_ISSUER_KEY_FILE" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_after_an_outage_anchoring_resumes_when_the_chain_answers_not_after_the_backoff(
    make_api: Any,
) -> None:
    """The leader's worker backs off while the node is down; the moment readiness sees the chain
    answer it is nudged, so the backlog does not wait out the backoff and the leader is as ready
    as a follower."""
    api = make_api(run_anchoring_worker=False)
    holder = api.principal("holder", "holder")

    class Node:
        down = True
        calls = 0

        def anchor_root(self, root: bytes, tree_size: int) -> Any:
            Node.calls += 1
            if Node.down:
                from ipnotary.service.errors import ChainUnusable

                raise ChainUnusable("the node at http://127.0.0.1:9 refused the connection")
            return api.runtime.chain.anchor_root(root, tree_size)

    backoff = 60.0
    worker = AnchoringWorker(
        api.runtime.engine,
        Node(),
        api.runtime.log,
        max_items=10,
        interval_seconds=0.01,
        max_backoff_seconds=backoff,
    )
    api.runtime.worker = worker
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    created = api.client.post(
        "/v1/evidence/digests", json={"items": [{"sha256": "ab" * 32, "size": 1}]}, headers=holder
    )
    assert created.status_code == 200, created.text
    thread.start()
    try:
        while worker.state.consecutive_failures < 5:  # backoffs 0.5, 1, 2, 4: now waiting 8 s
            time.sleep(0.05)
        Node.down = False
        began = time.monotonic()
        ready = check_readiness(api.runtime)  # sees the chain answer: nudges the worker
        assert ready["chain"]["ok"] is True
        view = api.wait_anchored(f"/v1/evidence/{created.json()[0]['id']}", holder, timeout=backoff)
        waited = time.monotonic() - began
        assert view["status"] == "anchored"
        # Well inside the 8 s wait the worker was in when the chain came back (a loaded machine
        # takes a second or two to anchor and poll; without the wake-up it is 8 s at least).
        assert waited < 8.0 / 2, waited
        assert check_readiness(api.runtime)["anchoring"]["ok"] is True
    finally:
        stop.set()
        worker.nudge()
        thread.join(timeout=30)
