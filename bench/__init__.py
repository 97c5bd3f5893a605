"""Benchmarks: standalone scripts (`python -m bench.<name>`), never part of the test run."""
