"""Benchmarks: the studio against the raw libraries, side by side in one process.

`python -m bench` runs them all at real model sizes (random weights of the real
architectures) and rewrites BENCHMARKS.md; `python -m bench --quick` uses the
tiny models only. Nothing here is a test: no figure is asserted.
"""
