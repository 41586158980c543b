"""Exact analysis on the secure side: scores, windows, outcomes, the §4 models, typed results, the §5 tables."""
