"""What every benchmark script shares: result rows, the table, CPU accounting, real components.

A script measures a subject and its baseline side by side in one run and reports :class:`Row`\\ s;
``bench.run`` collects them from every script into one table. Timings on a shared two-core machine
are noisy, so only ratios measured in the same run are compared, never seconds across runs, and
each row can say how much CPU other processes took while it was measured.

Real components (Hardhat, geth, PostgreSQL, the service itself) are started with the launch code
the integration tests use, so the benchmark runs exactly what the tests run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # ``python bench/bench_x.py`` as well as ``python -m bench.bench_x``
    sys.path.insert(0, str(REPO))

__all__ = [
    "REPO",
    "CpuMeter",
    "Row",
    "format_table",
    "interleaved",
    "log",
    "main_for",
    "percentile",
    "process_cpu_seconds",
    "start_geth",
    "start_hardhat",
    "start_postgres",
]


@dataclass
class Row:
    """One line of the table: a measured value, its baseline from the same run, and the ratio."""

    group: str
    name: str
    value: float | None
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None  # None: no target on this row
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        return cls(**data)


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown table: readable in a terminal, pasteable into docs/performance.md."""
    header = ["benchmark", "measurement", "value", "baseline (same run)", "ratio", "target", "met"]
    lines = [header]
    for r in rows:
        base = (
            f"{r.baseline}: {_num(r.baseline_value, r.unit if r.baseline_value else '')}"
            if (r.baseline and r.baseline_value is not None)
            else r.baseline
        )
        met = "" if r.met is None else ("yes" if r.met else "**NO**")
        name = r.name + (f" ({r.note})" if r.note else "")
        lines.append(
            [
                r.group,
                name,
                _num(r.value, r.unit),
                base,
                "-" if r.ratio is None else f"{r.ratio:,.2f}x",
                r.target,
                met,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def interleaved(
    rounds: int, baseline: Callable[[], float], subject: Callable[[], float]
) -> tuple[float, float, float]:
    """Run baseline and subject alternately; each returns a rate (higher is better).

    Returns (median baseline rate, median subject rate, median of the per-round ratios). A burst
    of load from another process hits one round of both, not all rounds of one of them.
    """
    base, subj, ratios = [], [], []
    for _ in range(rounds):
        b = baseline()
        s = subject()
        base.append(b)
        subj.append(s)
        ratios.append(s / b)
    return statistics.median(base), statistics.median(subj), statistics.median(ratios)


# -- CPU accounting -------------------------------------------------------------------------


def machine_busy_seconds() -> float | None:
    """CPU seconds every process has spent so far (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (all its threads), or None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPUs' worth used during a measurement: by named processes, and by everything else.

    ``others`` is what the machine spent beyond the watched processes and this one: the other
    engineers' tests on a shared machine. A row measured while ``others`` was high is suspect.
    """

    watched: dict[str, int] = field(default_factory=dict)  # name -> pid
    wall: float = 0.0
    cpus: dict[str, float] = field(default_factory=dict)
    others: float | None = None

    @contextmanager
    def measure(self) -> Iterator[CpuMeter]:
        start_busy, start_own = machine_busy_seconds(), os.times()
        start_watched = {name: process_cpu_seconds(pid) for name, pid in self.watched.items()}
        start = time.perf_counter()
        yield self
        self.wall = time.perf_counter() - start
        end_busy, end_own = machine_busy_seconds(), os.times()
        accounted = (end_own.user - start_own.user) + (end_own.system - start_own.system)
        accounted += (end_own.children_user - start_own.children_user) + (
            end_own.children_system - start_own.children_system
        )
        for name, pid in self.watched.items():
            before, after = start_watched[name], process_cpu_seconds(pid)
            if before is not None and after is not None:
                self.cpus[name] = (after - before) / self.wall
                accounted += after - before
        if start_busy is not None and end_busy is not None and self.wall > 0:
            self.others = max(0.0, (end_busy - start_busy - accounted) / self.wall)


# -- real components ----------------------------------------------------------------------


def _skipped(exc: BaseException) -> str | None:
    """The reason, if ``exc`` is the launch code saying a component is not installed."""
    import pytest

    if isinstance(exc, pytest.skip.Exception | pytest.fail.Exception):
        return str(exc.msg if hasattr(exc, "msg") else exc)
    return None


def _start(what: str, start: Callable[[], Any]) -> tuple[Any | None, str]:
    try:
        return start(), ""
    except BaseException as exc:  # pytest's skip/fail outcomes derive from BaseException
        reason = _skipped(exc)
        if reason is None and not isinstance(exc, Exception):
            raise
        log(f"{what} unavailable: {reason or exc}")
        return None, f"{what} unavailable: {reason or exc}"


def start_hardhat(tmp: Path) -> tuple[Any | None, str]:
    """A Hardhat node on a free loopback port (``tests/integration/chain_backends.py``)."""
    from tests.integration import chain_backends

    return _start("Hardhat node", lambda: chain_backends.start_hardhat(tmp))


def start_geth(tmp: Path) -> tuple[Any | None, str]:
    """``geth --dev`` on free loopback ports (``tests/integration/chain_backends.py``)."""
    from tests.integration import chain_backends

    return _start("geth --dev", lambda: chain_backends.start_geth(tmp))


def start_postgres() -> tuple[Any | None, str]:
    """A throwaway PostgreSQL cluster run as the ``postgres`` user
    (``tests/integration/postgres.py``)."""
    from tests.integration.postgres import PostgresServer, find_pg_bin

    bin_dir, reason = find_pg_bin()
    if bin_dir is None:
        log(reason)
        return None, reason
    return _start("PostgreSQL", lambda: PostgresServer(bin_dir).start())


def funded_key(node_url: str, state_dir: Path, ether: int = 1000) -> str:
    """A fresh anchoring key funded from the node's unlocked dev account."""
    from eth_account import Account

    from tests.integration.chain_backends import NodeBackend

    account = Account.create()
    NodeBackend(state_dir, node_url).fund(account.address, ether * 10**18)
    return "0x" + bytes(account.key).hex()


# -- the entry point every script shares ------------------------------------------------------


def main_for(
    run: Callable[[argparse.Namespace], list[Row]],
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """Parse ``--quick`` and ``--json PATH``, run, print the rows as a table, save them as JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter runs")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args()
    rows = run(args)
    print(format_table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps([r.to_dict() for r in rows], indent=2))
