"""``notary reconcile`` as an operator runs it beside the running service: exit 0 when the database
accounts for everything, 1 naming what it lost, 2 with one line when the chain cannot be read; with
``--restore`` it puts lost records back from their receipts. The command reads the service's
embedded chain from its data directory, so the service runs on the real one here (the reconciling
itself, on the in-memory chain: ``tests/unit/notary/test_reconcile.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete
from sqlmodel import Session, col

from ipnotary.service.storage.models import Record
from tests.integration.service.test_cli_errors import run
from tests.unit.notary.conftest import Api
from tests.unit.notary.test_reconcile import _receipts, _submit, _wait_anchored


def test_the_command_exits_0_1_or_2_and_restores_from_receipts(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    service = make_api()
    h = service.principal("rc-holder", "holder")
    subs = _submit(service, h, 0, 6)
    _wait_anchored(service, h, subs)
    data = str(service.runtime.settings.data_dir)

    whole = run("reconcile", "--json", cwd=tmp_path, NOTARY_DATA_DIR=data)
    assert whole.returncode == 0, whole.stderr
    assert json.loads(whole.stdout)["ok"] is True

    with Session(service.runtime.engine) as session:
        session.execute(delete(Record).where(col(Record.id) == subs[2]["id"]))
        session.commit()
    short = run("reconcile", cwd=tmp_path, NOTARY_DATA_DIR=data)
    assert short.returncode == 1, short.stderr
    assert "MISSING records_missing: 1 log entries have no record" in short.stdout

    receipts = _receipts(tmp_path / "r", subs)
    placed = run(
        "reconcile", "--receipts", str(receipts), "--restore", cwd=tmp_path, NOTARY_DATA_DIR=data
    )
    assert placed.returncode == 0, placed.stdout + placed.stderr  # as the database is now
    assert f"restored: record {subs[2]['id']} restored at log index" in placed.stdout
    again = run("reconcile", "--receipts", str(receipts), cwd=tmp_path, NOTARY_DATA_DIR=data)
    assert again.returncode == 0, again.stdout + again.stderr

    unreadable = run(
        "reconcile", cwd=tmp_path, NOTARY_DATA_DIR=data, NOTARY_REGISTRY_ADDRESS="0x" + "11" * 20
    )
    assert unreadable.returncode == 2, unreadable.stdout + unreadable.stderr
    assert unreadable.stderr.startswith("error:") and "Traceback" not in unreadable.stderr
