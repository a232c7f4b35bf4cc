"""The SDK's limits that only a fresh interpreter shows: fingerprinting 1 GiB and sealing and
opening a 256 MiB trade secret in constant memory, and JSON nested a million deep refused before
the C decoder's recursion could take the process down."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MIB = 1 << 20


@pytest.mark.slow
def test_one_gib_stream_in_constant_memory() -> None:
    """Fingerprint 1 GiB in a fresh interpreter; peak RSS may grow by well under 100 MB."""
    # Linux keeps ru_maxrss across fork+exec, so a child started from a big pytest process
    # would inherit pytest's peak as its baseline and hide growth; VmHWM (this process's own
    # high-water mark) is used where /proc has it, ru_maxrss elsewhere.
    script = textwrap.dedent(
        """
        import os, resource
        from ipnotary.sdk.fingerprint import fingerprint_stream
        from tests.assets.cid.content import generate

        def peak_kib():
            if os.path.exists("/proc/self/status"):
                for line in open("/proc/self/status"):
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        before = peak_kib()
        fp = fingerprint_stream(generate("gib", 1 << 30))
        after = peak_kib()
        assert fp.size == 1 << 30
        print((after - before) // 1024, before // 1024)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    growth_mib, baseline_mib = int(out[0]), int(out[1])
    print(f"1 GiB fingerprint: peak RSS +{growth_mib} MiB over {baseline_mib} MiB")
    assert growth_mib < 64


def test_deep_nesting_is_refused_before_parsing_even_with_a_raised_recursion_limit() -> None:
    """The C decoder recurses once a level: with a raised recursion limit (as some libraries set)
    a hostile ``[[[[...`` overflowed the stack and killed the process. Run where a crash cannot
    take the test run with it."""
    program = (
        "import sys; sys.setrecursionlimit(10**7)\n"
        "from ipnotary.sdk.canonical import parse_json\n"
        "from ipnotary.sdk.errors import FormatError\n"
        "for data in ('[' * 10**6 + ']' * 10**6, b'{\"a\":' * 10**5 + b'1' + b'}' * 10**5):\n"
        "    try:\n"
        "        parse_json(data, max_bytes=1 << 24, what='x')\n"
        "    except FormatError as exc:\n"
        "        assert 'nests deeper' in str(exc), exc\n"
        "    else:\n"
        "        raise SystemExit('accepted')\n"
        "print('refused')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0 and run.stdout.strip() == "refused", (
        run.returncode,
        run.stderr[-500:],
    )


_RSS_SCRIPT = textwrap.dedent(
    """
    import hashlib, io, json, os, resource, sys, time
    from pathlib import Path
    from ipnotary.sdk.trade_secret import RecipientKeys, open_secret, seal_secret

    TOTAL = int(sys.argv[2])
    BLOCKS = memoryview(os.urandom(1 << 20) * 2)

    class Generated(io.RawIOBase):
        def __init__(self):
            self.left = TOTAL
        def readable(self):
            return True
        def readinto(self, buf):
            n = min(len(buf), self.left, 1 << 20)
            offset = (TOTAL - self.left) % (1 << 20)
            buf[:n] = BLOCKS[offset:offset + n]
            self.left -= n
            return n

    tmp = Path(sys.argv[1])
    keys = RecipientKeys.generate()
    # Warm up imports and allocators before taking the baseline.
    seal_secret(io.BytesIO(b"x" * 3000000), tmp / "warm", holder=keys.public_key(),
                filing_id="ts_warm")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    sealed = seal_secret(io.BufferedReader(Generated(), 1 << 16), tmp / "big.ipnts",
                         holder=keys.public_key(), filing_id="ts_big")
    t1 = time.perf_counter()
    opened = open_secret(tmp / "big.ipnts", sealed.holder_wrapped_key, keys, tmp / "big.out",
                         filing_id="ts_big", commitment=sealed.commitment)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"size": opened.size, "rss_growth_kib": peak - base,
                      "encrypt_mb_s": TOTAL / 1e6 / (t1 - t0),
                      "decrypt_mb_s": TOTAL / 1e6 / (t2 - t1)}))
    """
)


@pytest.mark.slow
def test_constant_memory_for_a_256_mib_stream(tmp_path: Path) -> None:
    total = 256 * MIB
    result = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(tmp_path), str(total)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        cwd=ROOT,
    )
    report = json.loads(result.stdout)
    print(report)
    assert report["size"] == total
    # Two 1 MiB segments plus their ciphertexts are in flight; allow generous slack.
    assert report["rss_growth_kib"] < 32 * 1024, report
