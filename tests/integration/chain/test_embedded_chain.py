"""The embedded chain keeps every block across restarts and crashes, one process at a time.

Restarts and crashes happen in child processes, as they would in production: a
state that only survives inside one interpreter would prove nothing. The key/value store under it
is tested alone in ``tests/unit/chain/test_embedded_store.py``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from ipnotary.chain import AnchorReader, EmbeddedChain, EvidenceRegistryClient, errors
from ipnotary.chain._embedded import DB_FILE
from tests.integration.chain_backends import ADMIN, ADMIN_KEY, send_signed, unique_root

ROOT = Path(__file__).resolve().parents[3]

_ANCHOR_AND_PRINT = textwrap.dedent(
    """
    import json, sys
    from ipnotary.chain import EvidenceRegistryClient
    data_dir, key = sys.argv[1], sys.argv[2]
    root, size = bytes.fromhex(sys.argv[3]), int(sys.argv[4])
    client = EvidenceRegistryClient.connect_embedded(data_dir, private_key=key)
    receipt = client.anchor_root(root, size)
    print(json.dumps({"address": client.registry_address, "tx": receipt.tx_hash,
                      "block": receipt.block_number, "hash": receipt.block_hash,
                      "time": receipt.block_timestamp, "batch": receipt.batch_id}))
    client.close()
    """
)

_READ_AND_PRINT = textwrap.dedent(
    """
    import json, sys
    from ipnotary.chain import AnchorReader
    data_dir, root = sys.argv[1], bytes.fromhex(sys.argv[2])
    reader = AnchorReader.from_embedded(data_dir)
    receipt = reader.anchor_receipt_for_root(root)
    print(json.dumps({"address": reader.registry_address, "tx": receipt.tx_hash,
                      "block": receipt.block_number, "hash": receipt.block_hash,
                      "time": receipt.block_timestamp, "batch": receipt.batch_id}))
    reader.close()
    """
)

_ANCHOR_UNTIL_KILLED = textwrap.dedent(
    """
    import os, sys
    from ipnotary.chain import EvidenceRegistryClient
    client = EvidenceRegistryClient.connect_embedded(sys.argv[1], private_key=sys.argv[2])
    print("ready", flush=True)
    for size in range(1, 2001):
        root = os.urandom(32)
        receipt = client.anchor_root(root, size)
        # Acknowledged: from here on the anchor must survive anything.
        print(root.hex(), receipt.tx_hash, flush=True)
    """
)

_OPEN_AND_HOLD = textwrap.dedent(
    """
    import sys, time
    from ipnotary.chain import EmbeddedChain
    chain = EmbeddedChain.open(sys.argv[1])
    print("open", flush=True)
    time.sleep(60)
    """
)


def run_child(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def spawn_child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[EmbeddedChain]:
    opened = EmbeddedChain.open(tmp_path / "chain", genesis_accounts=[ADMIN])
    yield opened
    opened.close()


def transfer(chain: EmbeddedChain) -> dict[str, int]:
    receipt = send_signed(chain.w3, ADMIN_KEY, {"to": Account.create().address, "value": 1})
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    return {"number": int(block["number"]), "timestamp": int(block["timestamp"])}


# -- persistence ---------------------------------------------------------------------


def test_anchor_survives_restart_in_a_new_process(tmp_path: Path) -> None:
    root = unique_root()
    written = json.loads(run_child(_ANCHOR_AND_PRINT, str(tmp_path), ADMIN_KEY, root.hex(), "42"))
    # Another process, read-only: same contract, same block hash and time.
    read = json.loads(run_child(_READ_AND_PRINT, str(tmp_path), root.hex()))
    assert read == written
    # And a writer that restarts goes on from there.
    again = json.loads(
        run_child(_ANCHOR_AND_PRINT, str(tmp_path), ADMIN_KEY, unique_root().hex(), "43")
    )
    assert again["address"] == written["address"]
    assert again["batch"] == written["batch"] + 1
    assert again["block"] == written["block"] + 1


@pytest.mark.slow
def test_acknowledged_anchors_survive_kill_9(tmp_path: Path) -> None:
    child = spawn_child(_ANCHOR_UNTIL_KILLED, str(tmp_path), ADMIN_KEY)
    assert child.stdout is not None
    acknowledged: list[tuple[str, str]] = []
    try:
        assert child.stdout.readline().strip() == "ready", (
            child.stderr.read() if child.stderr else ""
        )
        while len(acknowledged) < 15:
            line = child.stdout.readline()
            assert line, child.stderr.read() if child.stderr else "child died"
            root_hex, tx_hash = line.split()
            acknowledged.append((root_hex, tx_hash))
        os.kill(child.pid, signal.SIGKILL)  # mid-flight: the next anchor is being mined
        child.wait(timeout=30)
        # Lines already printed before the kill are acknowledgements too.
        for line in child.stdout.read().splitlines():
            parts = line.split()
            if len(parts) == 2:
                acknowledged.append((parts[0], parts[1]))
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)

    with sqlite3.connect(tmp_path / DB_FILE) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    client = EvidenceRegistryClient.connect_embedded(tmp_path, private_key=ADMIN_KEY)
    try:
        for root_hex, tx_hash in acknowledged:
            receipt = client.anchor_receipt_for_root(bytes.fromhex(root_hex))
            assert receipt is not None, f"acknowledged anchor {tx_hash} was lost"
            assert receipt.tx_hash == tx_hash
        # The chain goes on: nonce, batch ids and the log's size continue after the crash.
        count = client.batch_count()
        assert count >= len(acknowledged)
        latest = client.latest_checkpoint()
        assert latest is not None and latest.tree_size == count
        assert client.anchor_root(unique_root(), count + 1).batch_id == count + 1
    finally:
        client.close()


def test_block_timestamps_follow_the_wall_clock(chain: EmbeddedChain) -> None:
    time.sleep(1.1)  # leave the genesis second: a block is never stamped before its parent + 1
    before = time.time()
    first = transfer(chain)
    assert int(before) <= first["timestamp"] <= time.time()
    time.sleep(2.5)  # the next header was prepared right after the first block was mined
    middle = time.time()
    second = transfer(chain)
    # Stamped when mined: a header prepared earlier would say first + 1.
    assert int(middle) <= second["timestamp"] <= time.time()
    assert second["timestamp"] - first["timestamp"] >= 2
    # An explicit empty block is stamped when mined, too.
    time.sleep(1.1)
    before_mining = time.time()
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    mined = chain.w3.eth.get_block("latest")
    assert int(before_mining) <= mined["timestamp"] <= time.time()
    assert mined["timestamp"] > second["timestamp"]


def test_each_transaction_is_its_own_block_before_the_call_returns(chain: EmbeddedChain) -> None:
    one, two = transfer(chain), transfer(chain)
    assert two["number"] == one["number"] + 1
    assert chain.w3.eth.block_number == two["number"]


def test_custom_chain_id_is_used_for_signing_and_reported(tmp_path: Path) -> None:
    with EmbeddedChain.open(tmp_path, chain_id=4242, genesis_accounts=[ADMIN]) as chain:
        assert chain.w3.eth.chain_id == 4242
        assert chain.w3.net.version == "4242"
        transfer(chain)  # send_signed signs for chain 4242; py-evm checks it


# -- one writer, many readers ------------------------------------------------------------


def test_second_writer_is_refused_while_first_holds_the_directory(tmp_path: Path) -> None:
    holder = spawn_child(_OPEN_AND_HOLD, str(tmp_path))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(errors.ChainDataLocked) as info:
            EmbeddedChain.open(tmp_path)
        message = str(info.value)
        assert f"pid {holder.pid}" in message and "read-only" in message
    finally:
        holder.kill()
        holder.wait(timeout=30)
    # The kernel dropped the dead holder's lock: no stale lock file to clean up by hand.
    EmbeddedChain.open(tmp_path).close()


def test_second_open_in_the_same_process_is_refused(chain: EmbeddedChain) -> None:
    with pytest.raises(errors.ChainDataLocked, match="in use by another process"):
        EmbeddedChain.open(chain.data_dir)


def test_read_only_reader_follows_a_running_writer(tmp_path: Path) -> None:
    writer = EvidenceRegistryClient.connect_embedded(tmp_path, private_key=ADMIN_KEY)
    try:
        first = writer.anchor_root(unique_root(), 1)
        reader = AnchorReader.from_embedded(tmp_path)
        try:
            assert reader.anchor_receipt_for_root(first.root) == first
            second = writer.anchor_root(unique_root(), 2)  # after the reader opened
            assert reader.head() == second.block_number
            assert reader.find_root(second.root) is not None
        finally:
            reader.close()
    finally:
        writer.close()


def test_read_only_chain_refuses_transactions(tmp_path: Path) -> None:
    EmbeddedChain.open(tmp_path, genesis_accounts=[ADMIN]).close()
    with EmbeddedChain.open_read_only(tmp_path) as chain:
        with pytest.raises(errors.ReadOnlyChain, match="read-only"):
            send_signed(chain.w3, ADMIN_KEY, {"to": ADMIN, "value": 1, "gas": 21000})
        assert chain.w3.eth.get_balance(ADMIN) > 0


def test_read_only_open_of_a_missing_chain(tmp_path: Path) -> None:
    with pytest.raises(errors.ChainUnavailable, match="no embedded chain in"):
        EmbeddedChain.open_read_only(tmp_path / "nowhere")
    with pytest.raises(errors.ContractNotFound, match="no EvidenceRegistry deployment is recorded"):
        EmbeddedChain.open(tmp_path).close()
        AnchorReader.from_embedded(tmp_path)


def test_reopen_with_another_chain_id_says_what_to_do(tmp_path: Path) -> None:
    EmbeddedChain.open(tmp_path, chain_id=1337).close()
    with pytest.raises(errors.ChainDataMismatch, match="set the chain id back to 1337"):
        EmbeddedChain.open(tmp_path, chain_id=5)
    EmbeddedChain.open(tmp_path, chain_id=1337).close()  # the failed open released the lock


def test_closed_chain_refuses_requests(tmp_path: Path) -> None:
    chain = EmbeddedChain.open(tmp_path)
    w3 = chain.w3
    chain.close()
    chain.close()  # idempotent
    with pytest.raises(errors.ChainUnavailable, match="closed"):
        _ = w3.eth.block_number


def test_evidence_rewriting_test_hooks_are_gone(chain: EmbeddedChain) -> None:
    for method in ("evm_snapshot", "evm_revert", "evm_increaseTime", "eth_sendTransaction"):
        response = chain.w3.provider.make_request(method, [])  # type: ignore[arg-type]
        assert "error" in response, method
    with pytest.raises(NotImplementedError):
        chain.backend.time_travel(int(time.time()) + 3600)
    with pytest.raises(NotImplementedError):
        chain.backend.revert_to_snapshot(b"")
