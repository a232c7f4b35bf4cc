"""Benchmarks that print ratios against a baseline measured in the same run (STYLE.md, convention
8).

Start with :mod:`bench.run` (``make bench``, ``make bench-quick``): it runs every ``bench_*`` script
in its own process and prints one table. Each script also runs alone, e.g.
``python -m bench.bench_verify --quick``. What the numbers mean: ``docs/performance.md``.
"""
