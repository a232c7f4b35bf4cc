"""A production process pointed at a real node of another chain refuses at
once, in one line naming the setting, rather than waiting out the start-up timeout meant for a
node that is down."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipnotary.service.adapters.keys import load_or_create_ed25519_key
from tests.integration.chain_backends import NodeProcess

STARTUP_TIMEOUT = 60.0  # what a node that does not answer yet would be given


@pytest.mark.hardhat
def test_a_node_of_another_chain_is_refused_at_once(
    hardhat_node: NodeProcess, tmp_path: Path
) -> None:
    for name in ("issuer", "log"):
        load_or_create_ed25519_key(tmp_path / f"{name}.pem", purpose=name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    env.update(
        {
            "NOTARY_ENV": "production",
            "NOTARY_DATA_DIR": str(tmp_path / "data"),
            "NOTARY_ISSUER_KEY_FILE": str(tmp_path / "issuer.pem"),
            "NOTARY_LOG_KEY_FILE": str(tmp_path / "log.pem"),
            "NOTARY_CHAIN_BACKEND": "rpc",
            "NOTARY_CHAIN_RPC_URL": hardhat_node.url,
            "NOTARY_CHAIN_ID": "1337",  # Hardhat serves 31337
            "NOTARY_CHAIN_PRIVATE_KEY": os.urandom(32).hex(),
            "NOTARY_REGISTRY_ADDRESS": "0x" + "11" * 20,
            "NOTARY_PLEDGE_REGISTRY_ADDRESS": "0x" + "22" * 20,
            "NOTARY_STARTUP_TIMEOUT_SECONDS": str(STARTUP_TIMEOUT),
            "NOTARY_LOG_FORMAT": "text",
            "NOTARY_BIND_PORT": "9",
        }
    )
    notary = Path(sys.executable).with_name("notary")
    started = time.monotonic()
    run = subprocess.run(
        [str(notary), "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=2 * STARTUP_TIMEOUT,
        check=False,
    )
    took = time.monotonic() - started
    assert run.returncode == 2, run.stderr
    refusal = [line for line in run.stderr.splitlines() if "refusing to start" in line]
    assert len(refusal) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "NOTARY_CHAIN_ID is 1337" in refusal[0] and "serves chain 31337" in refusal[0]
    # Refused on the node's answer, not after the wait meant for a node that is still down.
    assert took < STARTUP_TIMEOUT / 4, took
