"""Credit records: entry, queries, imports, API pushes, expiry, retention; the lifecycle steps in ``lifecycle``.

Use cases own their transaction (``enter_record``, ``import_records``, ``submit_import``, ``push_records``,
``retire_expired_records``, ``purge_expired_personal_data``); the rest are queries and the
record builder. The lifecycle steps (``lifecycle``) and the import's row check and insert
(``imports.check_row``, ``imports.insert_records``) run inside a caller's transaction and
never commit.
"""
from app.services.records.ahead import tell_subjects_ahead
from app.services.records.department import (
    RecordPage,
    correct_department_record,
    get_department_record_page,
    revoke_department_record,
)
from app.services.records.entry import NewRecord, build_record, enter_record, published_late
from app.services.records.expiry import ExpiryResult, list_due_records, retire_expired_records
from app.services.records.import_files import UnreadableFile
from app.services.records.import_runs import (
    Submission,
    get_import_run,
    import_run_errors_csv,
    list_import_runs,
    submit_import,
)
from app.services.records.imports import ImportReport, allowed_values, import_records, template_csv
from app.services.records.public_query import PublicAnswer, PublicSubject, query_public_records
from app.services.records.push import InvalidRecords, PushResult, push_records
from app.services.records.queries import (
    count_late_publications,
    count_records_by_state,
    find_public_records,
    find_record_of_department,
    find_record_of_subject,
    list_correction_days,
    list_records_of_department,
    list_records_of_subject,
    list_records_page,
)
from app.services.records.retention import PurgeResult, purge_expired_personal_data
from app.services.records.retired import (
    RetiredPage,
    get_retired_page,
    iter_retired_csv,
    list_retired_since,
    retired_csv_name,
)

__all__ = [
    "RecordPage", "correct_department_record", "get_department_record_page", "revoke_department_record",
    "ExpiryResult", "ImportReport", "InvalidRecords", "NewRecord", "PublicAnswer", "PublicSubject", "PurgeResult",
    "PushResult", "Submission", "UnreadableFile", "get_import_run", "import_run_errors_csv", "list_import_runs",
    "submit_import",
    "build_record", "count_late_publications", "count_records_by_state", "enter_record", "find_public_records",
    "find_record_of_department", "find_record_of_subject", "allowed_values", "import_records", "template_csv", "list_correction_days", "list_due_records",
    "list_records_of_department", "list_records_of_subject", "list_records_page", "published_late",
    "purge_expired_personal_data", "push_records", "query_public_records", "retire_expired_records",
    "RetiredPage", "get_retired_page", "tell_subjects_ahead", "iter_retired_csv", "list_retired_since", "retired_csv_name",
]
