"""Run every benchmark and print one table: ``make bench`` (full) or ``make bench-quick``.

    python -m bench.run [--quick] [--only chain_cost verify ...]

Each ``bench_*`` script runs in its own process (its own memory, threads and CPU affinity) and
hands back its rows as JSON; progress goes to stderr, the table to stdout. The results, with the
machine they were measured on, are also written to ``bench/results/`` (gitignored) as
``<time>-<mode>.json`` and ``.md``, and ``latest-<mode>.md``. Every row compares against a
baseline measured in the same run; ``docs/performance.md`` explains each one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import REPO, Row, format_table, log

# Quick-mode time is a few minutes in all; the order puts the two-core hashing run first.
SCRIPTS = ["chain_cost", "hashing", "verify", "checkpoint", "memory", "ingest", "verify_page"]
RESULTS = REPO / "bench" / "results"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "load_average": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def run_script(name: str, quick: bool, timeout: float) -> tuple[list[Row], float]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = Path(out.name)
    argv = [sys.executable, "-m", f"bench.bench_{name}", "--json", str(path)]
    if quick:
        argv.append("--quick")
    log(f"running bench_{name}")
    start = time.monotonic()
    try:
        proc = subprocess.run(
            argv, check=False, cwd=REPO, stdout=subprocess.DEVNULL, timeout=timeout
        )
        code = proc.returncode
    except subprocess.TimeoutExpired:
        code = None
    elapsed = time.monotonic() - start
    try:
        if code == 0:
            return [Row.from_dict(r) for r in json.loads(path.read_text())], elapsed
    finally:
        path.unlink(missing_ok=True)
    why = "timed out" if code is None else f"exited with {code}"
    return [
        Row(
            group=name,
            name=f"bench_{name} {why} (see its output above)",
            value=None,
            unit="",
            met=False,
        )
    ], elapsed


def report(rows: list[Row], info: dict[str, Any], quick: bool, timings: dict[str, float]) -> str:
    targets = [r for r in rows if r.met is not None]
    met = sum(1 for r in targets if r.met)
    lines = [
        f"# Benchmark results ({'quick' if quick else 'full'} mode)",
        "",
        (
            f"Machine: {info['nproc']} CPUs, {info['cpu']}, Python {info['python']}, "
            f"{info['platform']}; commit {info['commit']}; {info['date']}; load average at start "
            f"{', '.join(f'{x:.2f}' for x in info['load_average'])}."
        ),
        "",
        format_table(rows),
        "",
        f"Targets met: {met} of {len(targets)}. Seconds per script: "
        + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter runs")
    parser.add_argument("--only", nargs="*", choices=SCRIPTS, default=SCRIPTS)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per script")
    args = parser.parse_args()

    info = machine()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    for name in args.only:
        script_rows, timings[name] = run_script(name, args.quick, args.timeout)
        rows += script_rows
    text = report(rows, info, args.quick, timings)
    print(text)

    RESULTS.mkdir(parents=True, exist_ok=True)
    mode = "quick" if args.quick else "full"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}-{mode}.json").write_text(
        json.dumps(
            {
                "machine": info,
                "mode": mode,
                "seconds": timings,
                "rows": [r.to_dict() for r in rows],
            },
            indent=2,
        )
    )
    (RESULTS / f"{stamp}-{mode}.md").write_text(text + "\n")
    (RESULTS / f"latest-{mode}.md").write_text(text + "\n")
    log(f"results written to {RESULTS / f'{stamp}-{mode}.json'} and .md")


if __name__ == "__main__":
    main()
