"""Package data (no code)."""
