"""The embedded chain's key/value store: a batch is all or nothing, inside an outer transaction
it commits only with it, and a read-only open refuses writes (the chain itself, across restarts
and crashes: ``tests/integration/chain/test_embedded_chain.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipnotary.chain import errors
from ipnotary.chain._embedded import SQLiteAtomicDB


def test_atomic_batch_is_all_or_nothing(tmp_path: Path) -> None:
    db = SQLiteAtomicDB(tmp_path / "kv.sqlite3")
    try:
        with pytest.raises(RuntimeError), db.atomic_batch() as batch:
            batch[b"a"] = b"1"
            assert batch[b"a"] == b"1"
            raise RuntimeError("crash mid-batch")
        assert b"a" not in db

        with db.atomic_batch() as batch:
            batch[b"a"] = b"1"
            batch[b"b"] = b"2"
        with db.atomic_batch() as batch:
            del batch[b"a"]
        assert b"a" not in db and db[b"b"] == b"2"

        # A batch inside an outer transaction commits only with it.
        with pytest.raises(RuntimeError), db.transaction():
            with db.atomic_batch() as batch:
                batch[b"c"] = b"3"
            raise RuntimeError("crash before the block is complete")
        assert b"c" not in db
    finally:
        db.close()

    reopened = SQLiteAtomicDB(tmp_path / "kv.sqlite3", read_only=True)
    try:
        assert reopened[b"b"] == b"2"
        with pytest.raises(errors.ReadOnlyChain):
            reopened[b"x"] = b"y"
    finally:
        reopened.close()
