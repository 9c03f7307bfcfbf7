"""Benchmarks of the pipeline and of its parts: scripts, not part of the test suite."""
