"""KuboContentStore against a real Kubo daemon, and our CIDs against Kubo's own ``ipfs add``.

The daemon runs from a throwaway IPFS_PATH on free loopback ports, offline, with no bootstrap
peers. The binary is looked up in ``NOTARY_IPFS_BIN``, ``.tools/bin/ipfs``
(``scripts/install-kubo.sh``), ``~/go/bin/ipfs``, then ``PATH``; without one the module is
skipped, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ipnotary.sdk._unixfs import CHUNK_SIZE, parse_cid
from ipnotary.sdk.fingerprint import fingerprint_file
from ipnotary.service.errors import ContentCorrupted, ContentStoreUnavailable
from ipnotary.service.storage.content import KuboContentStore
from tests.assets.cid.content import generate_bytes, write_file
from tests.conftest import free_port, missing_component
from tests.unit.storage.test_content_store import ContentStoreContract

pytestmark = pytest.mark.kubo

ROOT = Path(__file__).resolve().parents[2]
KUBO_VERSION = "0.43.1"


def _find_ipfs() -> tuple[str | None, str]:
    env = os.environ.get("NOTARY_IPFS_BIN")
    candidates = [env] if env else []
    candidates += [str(ROOT / ".tools/bin/ipfs"), str(Path.home() / "go/bin/ipfs")]
    candidates += [shutil.which("ipfs") or "ipfs on PATH"]
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate, ""
    return None, (
        f"Kubo binary not found (NOTARY_IPFS_BIN={env or 'unset'}; tried {', '.join(candidates)}); "
        "run scripts/install-kubo.sh or set NOTARY_IPFS_BIN"
    )


@dataclass
class Daemon:
    bin: str
    repo: Path
    api_url: str
    env: dict[str, str]

    def ipfs(self, *args: str) -> str:
        return subprocess.run(
            [self.bin, *args], env=self.env, check=True, capture_output=True, text=True
        ).stdout.strip()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    binary, reason = _find_ipfs()
    if binary is None:
        missing_component(reason)
    repo = tmp_path_factory.mktemp("kubo") / "repo"
    env = {**os.environ, "IPFS_PATH": str(repo)}
    api, gateway, swarm = free_port(), free_port(), free_port()
    d = Daemon(binary, repo, f"http://127.0.0.1:{api}", env)
    d.ipfs("init", "--profile", "test", "--empty-repo")
    d.ipfs("config", "Addresses.API", f"/ip4/127.0.0.1/tcp/{api}")
    d.ipfs("config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{gateway}")
    d.ipfs("config", "--json", "Addresses.Swarm", f'["/ip4/127.0.0.1/tcp/{swarm}"]')
    d.ipfs("config", "--json", "Bootstrap", "[]")
    log_path = repo.parent / "daemon.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [binary, "daemon", "--offline"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Kubo daemon exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.post(f"{d.api_url}/api/v0/version", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Kubo daemon not ready after 60 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield d
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def kubo_store(daemon: Daemon) -> Iterator[KuboContentStore]:
    store = KuboContentStore(daemon.api_url)
    yield store
    store.close()


class TestKuboContentStore(ContentStoreContract):
    """The backend-independent suite, on the real daemon."""

    supports_v1_lookup = False  # the store adds CIDv0 DAGs only

    @pytest.fixture
    def store(self, kubo_store: KuboContentStore) -> KuboContentStore:
        return kubo_store


def test_daemon_is_the_expected_kubo(daemon: Daemon) -> None:
    assert httpx.post(f"{daemon.api_url}/api/v0/version").json()["Version"] == KUBO_VERSION


AGREEMENT_SIZES = [
    pytest.param(0, id="empty"),
    pytest.param(1, id="1-byte"),
    pytest.param(CHUNK_SIZE - 1, id="256KiB-1"),
    pytest.param(CHUNK_SIZE + 1, id="256KiB+1"),
    pytest.param(7 * 1024 * 1024 + 333, id="7MiB"),
    pytest.param(50 * 1024 * 1024, id="50MiB", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("size", AGREEMENT_SIZES)
def test_our_cids_equal_kubo_add(
    daemon: Daemon, kubo_store: KuboContentStore, tmp_path: Path, size: int
) -> None:
    path = write_file(tmp_path / "content", {"seed": f"agree-{size}", "size": size})
    ours = fingerprint_file(path)
    kubo_v0 = daemon.ipfs("add", "-Q", str(path))
    kubo_v1 = daemon.ipfs("add", "-Q", "--cid-version", "1", str(path))
    print(f"{size:>10} ours {ours.cid} {ours.cid_v1} | kubo {kubo_v0} {kubo_v1}")
    assert (ours.cid, ours.cid_v1) == (kubo_v0, kubo_v1)
    # The store adds through the RPC API and checks Kubo's answer against ours itself.
    assert kubo_store.put_file(path) == ours
    # Both DAGs Kubo built read back verified, including the raw-leaf one.
    assert kubo_store.size(ours.cid_v1) == size
    assert sum(len(piece) for piece in kubo_store.open(ours.cid_v1)) == size


def _flatfs_block(daemon: Daemon, cid: str) -> Path:
    # flatfs names a block by the base32 (RFC 4648, no padding) of its multihash.
    key = base64.b32encode(parse_cid(cid).digest).decode().rstrip("=")
    matches = list((daemon.repo / "blocks").glob(f"*/{key}.data"))
    assert len(matches) == 1, f"block {cid} not found in flatfs"
    return matches[0]


def test_block_rotted_inside_kubo_is_detected(daemon: Daemon, kubo_store: KuboContentStore) -> None:
    data = generate_bytes("kubo-rot", 3 * CHUNK_SIZE)
    fp = kubo_store.put_bytes(data)
    leaf = next(
        c
        for c in daemon.ipfs("refs", fp.cid).split()
        if data[CHUNK_SIZE : CHUNK_SIZE + 64] in _flatfs_block(daemon, c).read_bytes()
    )
    path = _flatfs_block(daemon, leaf)
    blob = bytearray(path.read_bytes())
    blob[100] ^= 0x01
    path.write_bytes(bytes(blob))
    received = bytearray()
    with pytest.raises(ContentCorrupted, match=f"offset {CHUNK_SIZE}") as info:
        for piece in kubo_store.open(fp.cid):
            received += piece
    assert fp.cid in str(info.value)
    assert bytes(received) == data[:CHUNK_SIZE]


def test_nothing_listening_is_unavailable() -> None:
    store = KuboContentStore(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ContentStoreUnavailable, match="unreachable"):
        store.check()
