"""What a reader sees: HTML sections from a release, figures, and the façade the report notebooks call."""
