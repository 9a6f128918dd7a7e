"""Public statistics on the handling of objections, repairs and complaints (``report``)."""
from app.services.statistics.report import (
    CASE_FIELDS,
    COUNTS,
    DEADLINE_FIELDS,
    MEDIANS,
    SCHEMA,
    Report,
    build_report,
    published_report,
)

__all__ = ["CASE_FIELDS", "COUNTS", "DEADLINE_FIELDS", "MEDIANS", "SCHEMA", "Report", "build_report", "published_report"]
