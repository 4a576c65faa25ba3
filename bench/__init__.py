"""Benchmarks: `python -m bench.run` (or `make bench`) measures the system and its raw limits."""
