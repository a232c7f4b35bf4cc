"""The docs' examples are tests: every fenced ```` ```sh ```` block in README.md and
docs/*.md runs, in the order it appears, against a live ``notary serve`` on embedded defaults, so
a document can no longer drift from what the commands do.

Each document runs in one bash session (``set -euo pipefail``), so a block sees the variables and
files of the blocks before it, from its own scratch directory laid out as a checkout after
``make run``: ``notary-data`` is the service's data directory, ``.venv/bin/notary`` and ``notary``
(on ``PATH``) run this tree's CLI, and the files a user would bring are there (``USER_FILES``).
``NOTARY_URL`` names the service and ``NOTARY_API_KEY`` holds a key of the role the document
addresses (``DOC_ROLES``); a block whose first line is ``# as: ROLE`` switches the key, for itself
and the blocks after it (``operator``: on the server host, no key). A block directly after
``<!-- not run: reason -->`` is skipped, and must say why. A failure names the document, the
block's line and its output.

Where to start reading: :func:`doc_blocks` (the extraction), :func:`session_script` (one
document's session) and :func:`test_doc_examples_run`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipnotary.service.domain.records import Role
from tests.conftest import REPO
from tests.integration.service_process import ServiceProcess

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Documents whose ```sh blocks are not extracted at all, and why.
EXCLUDED = {
    "docs/deployment.md": "production setup across hosts (PostgreSQL, a JSON-RPC node, several "
    "serve processes, a load balancer); the integration suites it names run "
    "those arrangements",
    "docs/security.md": "fuzzing campaigns of minutes to hours; tests/fuzz runs them",
}

# The role each document addresses: its NOTARY_API_KEY until a block says `# as: ROLE`.
# README.md starts without a key: its example creates one, as the operator would.
DOC_ROLES = {
    "docs/works.md": "holder",
    "docs/trade-secrets.md": "holder",
    "docs/api.md": "holder",
    "docs/trust.md": "notary",
    "docs/certificate.md": "notary",
    "docs/claims.md": "platform",
    "docs/pledges.md": "pledge_registrar",
    "docs/credit.md": "credit_authority",
    "docs/notarisation.md": "notary",
    "docs/arbitration.md": "arbitrator",
    "docs/complaints.md": "holder",
}
NO_KEY_ROLES = ("operator",)  # the server host's commands read the database, not the API

# Files a user brings to the examples (their own design, contract, ...), made in each document's
# scratch directory with content unique to that document.
USER_FILES = (
    "design.psd",
    "moonlight.jpg",
    "contract.pdf",
    "valuation.pdf",
    "decision.pdf",
    "settlement.pdf",
)

SHELL_FENCES = {"bash", "shell", "console", "zsh", "shell-session"}  # write ```sh to have it run
DOC_TIMEOUT = 240.0  # seconds for one document's session; a hung command fails, naming its block

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\s`]*)[^`]*$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not run\b\s*:?\s*(?P<reason>.*?)\s*-->\s*$")
_AS = re.compile(r"^#\s*as:\s*(?P<role>\S+)")


@dataclass(frozen=True)
class Block:
    doc: str  # relative to the repository
    line: int  # of the opening fence, 1-based
    info: str  # the fence's language
    code: str
    skip_reason: str | None  # None: runs; "" would be a skip without a reason

    @property
    def runs(self) -> bool:
        return self.info == "sh" and self.skip_reason is None

    @property
    def role(self) -> str | None:
        first = next((line for line in self.code.splitlines() if line.strip()), "")
        match = _AS.match(first)
        return match.group("role") if match else None


def doc_blocks(path: Path) -> Iterator[Block]:
    """Every fenced block of a Markdown file, with the not-run marker on the line before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    doc = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, start = len(fence.group("indent")), i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = _NOT_RUN.match(previous)
        yield Block(
            doc,
            start + 1,
            fence.group("info").lower(),
            "\n".join(body) + "\n",
            marker.group("reason") if marker else None,
        )
        i += 1


def _extracted_docs() -> list[Path]:
    return [p for p in DOCS if p.relative_to(REPO).as_posix() not in EXCLUDED]


def _runnable(path: Path) -> list[Block]:
    return [b for b in doc_blocks(path) if b.runs]


# -- what the documents say about their blocks (no service needed) ------------------------------


def test_every_skipped_block_says_why_and_every_shell_block_is_sh() -> None:
    problems = []
    for path in _extracted_docs():
        for block in doc_blocks(path):
            where = f"{block.doc}:{block.line}"
            if block.skip_reason == "":
                problems.append(f"{where}: '<!-- not run -->' without a reason ('not run: why')")
            if block.info in SHELL_FENCES:
                problems.append(
                    f"{where}: ```{block.info} is never run; write ```sh (or mark it "
                    "<!-- not run: why -->)"
                )
            if block.runs and block.role is not None and block.role not in _known_roles():
                problems.append(
                    f"{where}: '# as: {block.role}' is no role (one of {', '.join(_known_roles())})"
                )
    assert not problems, "\n".join(problems)
    assert all((REPO / doc).exists() for doc in [*EXCLUDED, *DOC_ROLES]), "a listed document moved"


def test_the_extraction_finds_blocks_and_markers(tmp_path: Path) -> None:
    """The parser itself, on a document made for it: indented fences, markers, other languages."""
    doc = tmp_path / "example.md"
    doc.write_text(
        "intro\n\n```sh\necho one\n```\n\n<!-- not run: needs a GPU -->\n\n```sh\nexit 1\n```\n\n"
        "1. step\n\n   ```sh\n   # as: holder\n   echo two\n   ```\n\n```json\n{}\n```\n"
        "<!-- not run -->\n```sh\necho three\n```\n",
        encoding="utf-8",
    )
    blocks = list(doc_blocks(doc))
    assert [(b.line, b.info, b.runs, b.skip_reason) for b in blocks] == [
        (3, "sh", True, None),
        (9, "sh", False, "needs a GPU"),
        (15, "sh", True, None),
        (20, "json", False, None),
        (24, "sh", False, ""),
    ]
    assert blocks[2].code == "# as: holder\necho two\n" and blocks[2].role == "holder"


# -- the examples, run against a live service ----------------------------------------------------


def _known_roles() -> list[str]:
    return [r.value for r in Role] + list(NO_KEY_ROLES)


@dataclass
class LiveService:
    svc: ServiceProcess
    keys: dict[str, str]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    if shutil.which("jq") is None or shutil.which("curl") is None:
        pytest.fail("the docs' examples use jq and curl: install them (apt-get install jq curl)")
    svc = ServiceProcess(tmp_path_factory.mktemp("docs-service") / "data")
    names = {
        "holder": "Acme Studio Ltd",
        "notary": "Hangzhou Notary Office",
        "arbitrator": "Hangzhou Arbitration Commission",
        "platform": "Example Mall",
        "seller": "Shop One",
        "credit_authority": "City Market Regulation Bureau",
        "pledge_registrar": "Pledge Registration Office",
        "admin": "Operator",
    }
    keys = {role: svc.create_principal(names[role], role) for role in names}
    svc.start()
    try:
        yield LiveService(svc, keys)
    finally:
        svc.stop()


def _scratch(base: Path, live: LiveService, doc: str) -> tuple[Path, dict[str, str]]:
    """A directory laid out as a checkout after ``make run``, and the session's environment."""
    base.mkdir()
    (base / "notary-data").symlink_to(live.svc.data_dir)
    run_cli = "import sys; sys.argv[0] = 'notary'; from ipnotary.service.cli import main; main()"
    notary = f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "{run_cli}" "$@"\n'
    for bin_dir in (base / "bin", base / ".venv" / "bin"):
        bin_dir.mkdir(parents=True)
        (bin_dir / "notary").write_text(notary)
        (bin_dir / "notary").chmod(0o755)
    for name in USER_FILES:
        (base / name).write_bytes(f"{name} of the user following {doc}\n".encode() * 64)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_")}
    env.update(
        {
            "PATH": f"{base / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": str(REPO),
            "NOTARY_URL": live.svc.url,
            # an installation block left unmarked must not change the machine's Python
            "PIP_REQUIRE_VIRTUALENV": "1",
        }
    )
    return base, env


def _key_line(role: str, keys: dict[str, str]) -> str:
    if role in NO_KEY_ROLES:
        return "unset NOTARY_API_KEY"
    return f"export NOTARY_API_KEY={shlex.quote(keys[role])}"


def session_script(doc: str, blocks: list[Block], keys: dict[str, str], mark: str) -> str:
    """One bash session for a document: its blocks in order, each between two marker lines so that
    the output can be cut per block and the block that stopped the session named."""
    parts = ["set -euo pipefail"]
    if doc in DOC_ROLES:
        parts.append(_key_line(DOC_ROLES[doc], keys))
    for n, block in enumerate(blocks):
        parts.append(f"printf '\\n{mark} start {n}\\n'")
        if block.role is not None:
            parts.append(_key_line(block.role, keys))
        parts.append(block.code.rstrip("\n"))
        parts.append(f"printf '\\n{mark} end {n}\\n'")
    return "\n".join(parts) + "\n"


def _run_session(script: str, cwd: Path, env: dict[str, str]) -> tuple[int | None, str]:
    """Run the script; on timeout, kill its whole process group. The exit status (None: timed
    out) and everything it printed."""
    (cwd / ".session.sh").write_text(script)
    log = cwd / ".session.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["bash", str(cwd / ".session.sh")],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code: int | None = proc.wait(timeout=DOC_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
    return code, log.read_text(errors="replace")


def _report(blocks: list[Block], output: str, mark: str, code: int | None) -> str:
    """Which block stopped the session, with what it printed."""
    started = [int(n) for n in re.findall(rf"^{mark} start (\d+)$", output, flags=re.MULTILINE)]
    ended = set(re.findall(rf"^{mark} end (\d+)$", output, flags=re.MULTILINE))
    failed = next((n for n in started if str(n) not in ended), None)
    status = "timed out" if code is None else f"exit status {code}"
    if failed is None:
        return f"the session ended ({status}) outside any block:\n{output[-4000:]}"
    block = blocks[failed]
    printed = output.split(f"{mark} start {failed}\n", 1)[1]
    return (
        f"{block.doc}, the block at line {block.line}, failed ({status}):\n"
        f"{block.code}\n--- its output ---\n{printed[-6000:]}"
    )


PARAMS = [
    pytest.param(p, id=p.relative_to(REPO).as_posix()) for p in _extracted_docs() if _runnable(p)
]


@pytest.mark.parametrize("path", PARAMS)
def test_doc_examples_run(path: Path, live: LiveService, tmp_path: Path) -> None:
    doc = path.relative_to(REPO).as_posix()
    blocks = _runnable(path)
    cwd, env = _scratch(tmp_path / "work", live, doc)
    mark = f"@@docs-example-{os.getpid()}-{time.monotonic_ns()}"
    code, output = _run_session(session_script(doc, blocks, live.keys, mark), cwd, env)
    if code != 0:
        service_log = live.svc.log()[-2000:]
        pytest.fail(
            _report(blocks, output, mark, code)
            + (f"\n--- the service's log ---\n{service_log}" if service_log.strip() else ""),
            pytrace=False,
        )
    done = len(re.findall(rf"^{mark} end \d+$", output, flags=re.MULTILINE))
    assert done == len(blocks), f"{doc}: {done} of {len(blocks)} blocks ran to their end"
