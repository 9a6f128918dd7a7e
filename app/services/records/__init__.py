"""Credit records: entry, queries, imports, expiry, retention; the lifecycle steps in ``lifecycle``.

Use cases own their transaction (``enter_record``, ``import_records``,
``retire_expired_records``, ``purge_expired_personal_data``); the rest are queries. The
lifecycle steps (``lifecycle``) run inside a case transition or a job and never commit.
"""
from app.services.records.entry import NewRecord, build_record, enter_record, published_late
from app.services.records.expiry import ExpiryResult, list_due_records, retire_expired_records
from app.services.records.imports import ImportReport, UnreadableFile, import_records
from app.services.records.queries import (
    count_late_publications,
    count_records_by_state,
    find_public_records,
    list_records_of_department,
    list_records_of_subject,
)
from app.services.records.retention import PurgeResult, purge_expired_personal_data

__all__ = [
    "ExpiryResult", "ImportReport", "NewRecord", "PurgeResult", "UnreadableFile", "build_record",
    "count_late_publications", "count_records_by_state", "enter_record", "find_public_records", "import_records",
    "list_due_records", "list_records_of_department", "list_records_of_subject", "published_late",
    "purge_expired_personal_data", "retire_expired_records",
]
