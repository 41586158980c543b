"""Runs of the report notebooks: kernels, one unit, a batch over executors, the audit stamp, manifest, verify."""
