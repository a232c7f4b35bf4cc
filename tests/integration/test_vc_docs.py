"""docs/credentials.md's Python example runs as written against a real ``notary serve``: it
submits a file, fetches the record's credential and verifies it with the SDK under the policy the
reader holds. (Its ``sh`` blocks run in tests/integration/test_docs_examples.py.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.integration.service_process import ServiceProcess

DOC = REPO / "docs" / "credentials.md"


def _python_example() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text("utf-8"), re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, "docs/credentials.md has one Python example"
    return str(blocks[0])


def test_the_python_example_verifies_a_credential(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path / "data")
    key = svc.create_principal("Acme Studio Ltd", "holder")
    svc.start()
    try:
        # What the reader has: the policy (as `notary policy fetch` saves it) and the file.
        (tmp_path / "policy.json").write_bytes(httpx.get(f"{svc.url}/v1/trust").content)
        (tmp_path / "hello.txt").write_bytes(b"hello world")
        done = subprocess.run(
            [sys.executable, "-c", _python_example()],
            cwd=tmp_path,
            env={"NOTARY_URL": svc.url, "NOTARY_API_KEY": key, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        svc.stop()
    assert done.returncode == 0, done.stderr
    # The proven time; on embedded defaults nobody but the operator vouches for it; evidence is
    # never revoked.
    proven, source, status = done.stdout.split()[-3:]
    assert re.match(r"^\d{4}-\d{2}-\d{2}", done.stdout)
    assert (source, status) == ("operator", "not_revocable"), proven
