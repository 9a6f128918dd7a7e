"""Administration: platform overview, jobs and their locks, the audit log, recompute, demo data.

Use cases (each commits, or raises and is rolled back): ``retry_outbox_notices``,
``request_job_run`` (the scheduler runs it), ``scheduler_beat``, ``recompute``, ``request_recompute``, ``seed_demo``, ``purge_job`` (the daily purge);
``run_recompute`` (the scheduler's) commits per chunk, ``run_queued_import`` (the scheduler's too)
its progress and then its outcome; the job runner ``run_job`` and its lock ``job_lock`` commit at
their own checkpoints (the lease, the heartbeat). The rest are queries.
"""
from app.services.admin.audit_log import (
    AuditCursor,
    AuditEntry,
    AuditFilter,
    export_audit_csv,
    parse_object,
    search_audit,
)
from app.services.admin.demo import DEMO_ACCOUNTS, AlreadySeeded, has_data, seed_demo
from app.services.admin.import_runs import IMPORT_JOB, IMPORT_POLL_EVERY, run_queued_import
from app.services.admin.jobs import (
    JOBS,
    JobHealth,
    RunOutcome,
    expire_job,
    job_health,
    job_lock,
    purge_job,
    rehearse,
    requested_jobs,
    run_job,
    scheduler_alive,
    scheduler_beat,
    scheduler_last_seen,
    sla_job,
)
from app.services.admin.overview import (
    JobRequest,
    OutboxFilter,
    OutboxRow,
    Overview,
    list_outbox,
    platform_overview,
    request_job_run,
    retry_outbox_notices,
)
from app.services.admin.recompute import (
    RECOMPUTE_JOB,
    RECOMPUTE_POLL_EVERY,
    RecomputeResult,
    latest_recompute,
    recompute,
    request_recompute,
    run_recompute,
)

__all__ = [
    "DEMO_ACCOUNTS", "JOBS", "AlreadySeeded", "AuditCursor", "AuditEntry", "AuditFilter", "JobHealth",
    "IMPORT_JOB", "IMPORT_POLL_EVERY", "JobRequest", "OutboxFilter", "OutboxRow", "Overview", "RECOMPUTE_JOB", "RECOMPUTE_POLL_EVERY", "RecomputeResult", "RunOutcome", "expire_job",
    "export_audit_csv", "has_data", "job_health", "job_lock", "latest_recompute", "list_outbox", "parse_object", "platform_overview",
    "recompute", "request_recompute", "rehearse", "request_job_run", "requested_jobs", "retry_outbox_notices", "run_job", "run_queued_import", "run_recompute",
    "purge_job", "scheduler_alive", "scheduler_beat", "scheduler_last_seen", "search_audit", "seed_demo", "sla_job",
]
