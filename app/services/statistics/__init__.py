"""Public statistics on the handling of objections, repairs and complaints (``report``), computed
by the scheduler and served from stored snapshots (``snapshot``)."""
from app.services.statistics.report import (
    CASE_FIELDS,
    COUNTS,
    DEADLINE_FIELDS,
    MEDIANS,
    SCHEMA,
    Report,
    build_report,
)
from app.services.statistics.snapshot import (
    KEEP,
    SnapshotResult,
    published_report,
    statistics_job,
    store_snapshot,
)

__all__ = ["CASE_FIELDS", "COUNTS", "DEADLINE_FIELDS", "KEEP", "MEDIANS", "SCHEMA", "Report", "SnapshotResult",
           "build_report", "published_report", "statistics_job", "store_snapshot"]
