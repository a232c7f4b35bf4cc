"""A verifier reading a node never loads the embedded chain (py-evm, eth-tester): importing the
chain package and the SDK's chain view must not import them: a verifier reading a node
never installs them."""

from __future__ import annotations

import subprocess
import sys


def test_reading_a_node_does_not_import_the_embedded_chain() -> None:
    program = (
        "import sys\n"
        "import client_sdk, ipnotary.sdk.chain_view, ipnotary.sdk.verify\n"
        "import chain\n"
        "from ipnotary.chain import AnchorReader, PledgeReader, DEFAULT_CHAIN_ID\n"
        "heavy = sorted(m for m in ('eth', 'eth_tester', 'notary') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "from ipnotary.chain import EmbeddedChain  # still there, loaded on first use\n"
        "assert 'eth_tester' in sys.modules\n"
        "print('light')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0 and run.stdout.strip() == "light", run.stderr[-800:]
