"""Readiness (``/readyz``): the database answers, its schema is the code's, the scheduler beats.

Each check says ok or what is wrong in a short, fixed text (no data of any person). A failed
check does not stop the others, so the answer names every failing one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models.jobs import JobRun, SchedulerProcess

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


@dataclass
class Readiness:
    checks: dict[str, dict] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(check["ok"] for check in self.checks.values())


@cache
def _revisions() -> tuple[str, frozenset[str]]:
    """The code's migration head and every revision it knows (read once per process)."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    return scripts.get_current_head(), frozenset(s.revision for s in scripts.walk_revisions())


def code_head() -> str:
    return _revisions()[0]


def readiness(scheduler_max_age: timedelta | None) -> Readiness:
    """All checks; ``scheduler_max_age`` None leaves the scheduler out (a host without one)."""
    result = Readiness()
    try:
        db.session.execute(text("SELECT 1"))
        result.checks["database"] = {"ok": True}
    except SQLAlchemyError as error:
        db.session.rollback()
        result.checks["database"] = {"ok": False, "error": type(error).__name__}
        return result  # the other checks ask the same database
    result.checks["migrations"] = _guarded(_migrations)
    if scheduler_max_age is not None:
        result.checks["scheduler"] = _guarded(lambda: _scheduler(scheduler_max_age))
    return result


def _guarded(check) -> dict:
    """A check whose query fails (a table missing: never migrated) fails alone."""
    try:
        return check()
    except SQLAlchemyError as error:
        db.session.rollback()
        return {"ok": False, "error": f"{type(error).__name__}: the database is not migrated"}


def _migrations() -> dict:
    head, known = _revisions()
    current = sorted(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    if current == [head]:
        return {"ok": True, "revision": head}
    # A release migrates before it restarts on the new code (deploy/release.sh): while it rolls,
    # the hosts still on the old code see a revision newer than they know, and keep serving.
    if current and all(rev not in known and rev > head for rev in current):
        return {"ok": True, "revision": ",".join(current), "head": head, "note": "database ahead of this code"}
    return {"ok": False, "revision": ",".join(current) or None, "head": head,
            "error": "database behind this code: run the release's migrations (flask db upgrade)"}


def _scheduler(max_age: timedelta) -> dict:
    """The freshest sign of life: a scheduler process's beat (``scheduler_process.seen_at``,
    every JOB_POLL_SECONDS) or a job run's start or end. Against the wall clock, as the beats
    are written: the platform clock may be moved (``--now``)."""
    seen = db.session.scalar(select(func.max(SchedulerProcess.seen_at)))
    finished, started = db.session.execute(
        select(func.max(JobRun.last_finished_at), func.max(JobRun.last_started_at))).one()
    latest = max((t for t in (seen, finished, started) if t is not None), default=None)
    if latest is None:
        return {"ok": False, "error": "no scheduler has run yet"}
    age = (datetime.now(UTC) - latest).total_seconds()
    if age > max_age.total_seconds():
        return {"ok": False, "age_seconds": int(age), "max_age_seconds": int(max_age.total_seconds()),
                "error": "scheduler heartbeat is stale"}
    return {"ok": True, "age_seconds": max(0, int(age))}
