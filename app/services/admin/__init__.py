"""Administration: platform overview, jobs and their locks, the audit log, recompute, demo data."""
