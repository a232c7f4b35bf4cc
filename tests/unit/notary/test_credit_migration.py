"""Revision 0007 (credit as of a time) on SQLite: what an entry keeps after erasure is filled
from the details of entries that still have them, and the revision goes down again cleanly.
(PostgreSQL runs every revision in tests/integration/test_postgres_repository.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, text

from ipnotary.service.storage.db import alembic_config


def test_0007_fills_the_kept_fields_and_downgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'notary.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0006")
    engine = create_engine(url)
    details = {
        "severity": "serious",
        "publicity_start": "2026-01-02",
        "publicity_end": "2027-01-02",
    }
    with engine.begin() as conn:
        for entry_id, kept in (("ce_kept", json.dumps(details)), ("ce_erased", None)):
            conn.execute(
                text(
                    "INSERT INTO credit_entry (id, authority_id, commitment, conduct, status, "
                    "subject_key, "
                    "details, salt, publicity_end, created_at) VALUES (:id, 'prn_x', :c, "
                    "'dishonest', "
                    ":status, :subject, :details, NULL, '2027-01-02', '2026-01-02 00:00:00')"
                ),
                {
                    "id": entry_id,
                    "c": "ab" * 32,
                    "details": kept,
                    "status": "active" if kept else "repaired",
                    "subject": "uscc:X" if kept else None,
                },
            )
    command.upgrade(cfg, "0007")
    with engine.connect() as conn:
        rows: dict[str, str | None] = dict(
            conn.execute(
                text("SELECT id, severity || ' ' || publicity_start FROM credit_entry")
            ).all()
        )
        assert rows == {"ce_kept": "serious 2026-01-02", "ce_erased": None}
        assert "evidence_sha256" in {c["name"] for c in inspect(conn).get_columns("credit_repair")}
    command.downgrade(cfg, "0006")
    with engine.connect() as conn:
        assert "subject_salt" not in {c["name"] for c in inspect(conn).get_columns("credit_entry")}
        assert conn.execute(text("SELECT count(*) FROM credit_entry")).scalar() == 2
    engine.dispose()
