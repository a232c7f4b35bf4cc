"""Digital Bazaar's Verifiable Credential verifier, as a subprocess: ``@digitalbazaar/vc`` with
the ``eddsa-jcs-2022`` cryptosuite and the Bitstring Status List library
(``tests/interop/vc/verify.js``), offline, with a document loader that serves only what the
request names. Used by the VC interop suite and by the capture suite (a capture's credential).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from tests.conftest import REPO, missing_component

INTEROP = REPO / "tests" / "interop" / "vc"


def node() -> str:
    """The node binary, once the verifier's packages are installed (scripts/setup-node.sh)."""
    found = shutil.which("node")
    if found is None:
        missing_component("node is not installed (Node 20; scripts/setup-node.sh)")
    if not (INTEROP / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        missing_component(f"{INTEROP}/node_modules is missing: run scripts/setup-node.sh")
    return found


def verify_with_digital_bazaar(
    tmp: Path, credential: dict[str, Any], **request: Any
) -> dict[str, Any]:
    """What ``verify.js`` answers for ``credential`` (``request``: its contexts and documents)."""
    path = tmp / f"request-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps({"credential": credential, **request}))
    done = subprocess.run(
        [node(), str(INTEROP / "verify.js"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer
