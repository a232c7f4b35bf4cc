"""The witness state: durability settings, the atomic check-and-store, and the rollback race.

c2sp.org/tlog-witness describes the race that a non-atomic witness loses: request A (size N) and
request B (size N+K) are both checked against the same stored size, B is stored and cosigned,
then A is stored, rolling the log back K leaves. The tests stall one request *inside* its check and
send the other meanwhile, in another thread, through the same witness and through a second witness
object on the same directory (what two server processes would be).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ipnotary.sdk.note import CosignatureVerifier, parse_signature_lines
from ipnotary.witness import protocol
from ipnotary.witness.errors import InconsistentProof, SizeConflict, WitnessSetupError
from ipnotary.witness.protocol import Witness, open_witness
from ipnotary.witness.state import MAX_REFUSALS_KEPT, STATE_FILE, WitnessState
from tests.unit.witness.conftest import NOW, ORIGIN, FakeLog


def test_state_file_is_wal_with_full_sync(witness_dir: Path) -> None:
    db = sqlite3.connect(witness_dir / STATE_FILE)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()
    state = WitnessState.open(witness_dir / STATE_FILE)
    with state._connect() as conn:  # the connections the witness itself uses
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_state_is_never_created_twice(witness_dir: Path) -> None:
    with pytest.raises(WitnessSetupError, match="exists"):
        WitnessState.create(witness_dir / STATE_FILE, "other.example/w")
    assert WitnessState.open(witness_dir / STATE_FILE).name == "witness.example/unit"


def test_open_refuses_a_missing_or_foreign_file(tmp_path: Path) -> None:
    with pytest.raises(WitnessSetupError, match="init"):
        WitnessState.open(tmp_path / STATE_FILE)
    (tmp_path / STATE_FILE).write_bytes(b"not a database at all" * 100)
    with pytest.raises(WitnessSetupError):
        WitnessState.open(tmp_path / STATE_FILE)


def test_add_log_is_idempotent_and_adds_rotated_keys(witness: Witness, log: FakeLog) -> None:
    assert not witness.add_log(ORIGIN, log.signer.vkey())
    rotated = FakeLog().signer
    assert witness.add_log(ORIGIN, rotated.vkey())
    assert set(witness.state.log_keys(ORIGIN)) == {log.signer.vkey(), rotated.vkey()}
    assert witness.state.log(ORIGIN).size == 0


def test_a_log_never_shrinks_even_if_a_check_lets_it(witness: Witness, log: FakeLog) -> None:
    witness.add_checkpoint(log.body(0, 6))
    with pytest.raises(sqlite3.IntegrityError, match="rolls a log back"):
        witness.state.advance(
            ORIGIN, 3, log.tree(3).root, lambda size, root: None, request=b"", now=NOW
        )
    assert witness.state.log(ORIGIN).size == 6


def test_refusals_kept_are_capped(
    witness: Witness, log: FakeLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ipnotary.witness.state.MAX_REFUSALS_KEPT", 3)
    witness.add_checkpoint(log.body(0, 4))
    for _ in range(5):
        with pytest.raises(InconsistentProof):
            witness.add_checkpoint(log.body(4, 6, proof=[bytes(32)]))
    assert len(witness.state.refused_requests(ORIGIN)) == 3
    assert MAX_REFUSALS_KEPT >= 100


def _stall_first_check(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the first consistency check block (inside its transaction) until released."""
    entered, release = threading.Event(), threading.Event()
    original: Callable[..., None] = protocol.check_extends
    calls = {"n": 0}
    lock = threading.Lock()

    def stalling(*args: object, **kwargs: object) -> None:
        with lock:
            calls["n"] += 1
            first = calls["n"] == 1
        if first:
            entered.set()
            assert release.wait(10), "the test never released the stalled request"
        original(*args, **kwargs)

    monkeypatch.setattr(protocol, "check_extends", stalling)
    return entered, release


def _run(witness: Witness, body: bytes, results: dict[str, object], key: str) -> threading.Thread:
    def target() -> None:
        try:
            results[key] = witness.add_checkpoint(body)
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever happened
            results[key] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread


@pytest.mark.parametrize("second_process", [False, True], ids=["same-witness", "two-witnesses"])
def test_the_spec_rollback_race_cannot_roll_back(
    witness: Witness,
    witness_dir: Path,
    log: FakeLog,
    monkeypatch: pytest.MonkeyPatch,
    second_process: bool,
) -> None:
    witness.add_checkpoint(log.body(0, 1))
    other = open_witness(witness_dir, clock=lambda: NOW) if second_process else witness
    entered, release = _stall_first_check(monkeypatch)
    results: dict[str, object] = {}

    # B (the larger tree) is checked first and stalls before committing.
    b = _run(witness, log.body(1, 5), results, "B")
    assert entered.wait(10)
    # A (a smaller tree, same old size) arrives meanwhile: it must wait for B, not overtake it.
    a = _run(other, log.body(1, 3), results, "A")
    a.join(0.5)
    assert a.is_alive(), "A was checked while B held the log: the check is not atomic"
    release.set()
    b.join(10)
    a.join(10)

    verifier = CosignatureVerifier.from_vkey(witness.vkey)
    assert isinstance(results["B"], str)
    (cosig,) = parse_signature_lines(results["B"])
    assert verifier.verify(log.checkpoint(5).text(), cosig) == NOW
    assert isinstance(results["A"], SizeConflict) and results["A"].known_size == 5
    assert witness.state.log(ORIGIN).size == 5  # not rolled back to 3
    assert witness.state.log(ORIGIN).root == log.tree(5).root


def test_many_concurrent_requests_leave_a_consistent_state(
    witness: Witness, witness_dir: Path, log: FakeLog
) -> None:
    witness.add_checkpoint(log.body(0, 2))
    witnesses = [witness, *(open_witness(witness_dir, clock=lambda: NOW) for _ in range(3))]
    results: dict[str, object] = {}
    threads = [
        _run(witnesses[i % len(witnesses)], log.body(2, size), results, str(size))
        for i, size in enumerate(range(3, 23))
    ]
    for thread in threads:
        thread.join(30)
    winners = [size for size, r in results.items() if isinstance(r, str)]
    assert len(winners) == 1  # every request said old 2; exactly one can extend from 2
    assert all(isinstance(r, SizeConflict) for size, r in results.items() if size not in winners)
    assert witness.state.log(ORIGIN).size == int(winners[0])
