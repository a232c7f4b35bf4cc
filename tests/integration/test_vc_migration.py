"""Revision 0009 on a database made before it: a credit entry repaired earlier reads as revoked in
the first status list the upgraded service serves, one still active does not, and the revision
goes down again cleanly. (PostgreSQL runs every revision in test_postgres_repository.py.)"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import inspect, text
from sqlmodel import Session

from ipnotary.sdk.vc import StatusListEntry, check_credential_status, did_key
from ipnotary.service.services import status_lists
from ipnotary.service.services.issuer import Issuer
from ipnotary.service.storage.db import alembic_config, create_db_engine

LIST = "https://notary.example.cn/v1/credentials/status/0"


def test_0009_revokes_entries_repaired_before_it_and_downgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'notary.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0008")
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO principal (id, name, role, created_at, disabled) "
                "VALUES ('prn_b', 'Bureau', 'credit_authority', '2026-01-02 00:00:00', 0)"
            )
        )
        for seq, record_id, kind in (
            (7, "ce_repaired", "credit_entry"),
            (8, "ce_active", "credit_entry"),
            (9, "cr_repair", "credit_repair"),
        ):
            conn.execute(
                text(
                    "INSERT INTO record (seq, id, kind, owner_id, body, leaf_hash, received_at) "
                    "VALUES (:seq, :id, :kind, 'prn_b', '{}', :leaf, '2026-01-02 00:00:00')"
                ),
                {"seq": seq, "id": record_id, "kind": kind, "leaf": f"{seq:064x}"},
            )
        for entry_id, status in (("ce_repaired", "repaired"), ("ce_active", "active")):
            conn.execute(
                text(
                    "INSERT INTO credit_entry (id, authority_id, commitment, conduct, status, "
                    "publicity_end, created_at, closed_at, closing_record_id) VALUES (:id, "
                    "'prn_b', :c, 'dishonest', :status, '2027-01-02', '2026-01-02 00:00:00', "
                    ":closed, :closing)"
                ),
                {
                    "id": entry_id,
                    "c": "ab" * 32,
                    "status": status,
                    "closed": "2026-02-03 04:05:06" if status == "repaired" else None,
                    "closing": "cr_repair" if status == "repaired" else None,
                },
            )
    command.upgrade(cfg, "0009")

    key = Ed25519PrivateKey.generate()
    with Session(engine) as session:
        served = status_lists.status_list_credential(session, Issuer(key), list_id=0, url=LIST)
        assert status_lists.is_revoked(session, "ce_repaired")
    assert served["validFrom"] == "2026-02-03T04:05:06.000000Z"  # as of the repair
    for entry, revoked in (("ce_repaired", True), ("ce_active", False)):
        seq = 7 if entry == "ce_repaired" else 8
        credential = {
            "issuer": did_key(key.public_key()),
            "credentialStatus": StatusListEntry(LIST, seq).as_json(),
        }
        assert check_credential_status(credential, served) is revoked, entry

    command.downgrade(cfg, "0008")
    with engine.connect() as conn:
        assert "credential_revocation" not in inspect(conn).get_table_names()
        assert conn.execute(text("SELECT count(*) FROM credit_entry")).scalar() == 2
    engine.dispose()
