"""Synthetic studies with known true effects, for the demo, tests and benchmarks."""
