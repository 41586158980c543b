"""The study as the analysis sees it: `load_study` (validate, then exclude), units, an empty study folder."""
