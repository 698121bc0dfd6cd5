"""Synthetic platform data for demos, tests and benchmarks."""
