"""Priming latency benchmark: one prime against the raw floor of the same work, at 1k–100k chunks.

Run from the repository root with ``python tools/bench/priming_bench.py`` (``just bench-priming``).
"""
