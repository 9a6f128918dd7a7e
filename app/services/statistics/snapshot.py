"""The public statistics as stored snapshots: the scheduler computes the report, the pages read it.

``build_report`` reads every counted event and record of two years; at a million cases that is
seconds of work, too much for a page. The ``statistics`` job computes it every hour and
stores it (``statistics_snapshot``: when, in which schema, the tables as JSON), keeping the last
``KEEP``; the public pages serve the newest of the current schema, one indexed row. What they show
is the report as it was when the snapshot was computed, and says when (``generated_at``).

A page computes one on the spot, and stores it, only when there is none it may serve: a fresh
install before the job's first run, or a snapshot of another threshold (``STATISTICS_MIN_CELL``
changed: a lower one would show cells now suppressed). When the month turns, the last snapshot
still serves until the job's next run (a page never waits for the whole report at a million
cases, and a crowd of readers at midnight never computes it once each).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select

from app.extensions import db
from app.models import StatisticsSnapshot
from app.services.statistics.report import SCHEMA, Report, build_report
from app.services.transaction import use_case

KEEP = 5  # snapshots kept: the newest serves, the others say what was published before


@dataclass
class SnapshotResult:
    """What a run of the ``statistics`` job did."""

    snapshot_id: int
    rows: int  # rows of the two tables published
    removed: int  # older snapshots deleted


def store_snapshot() -> StatisticsSnapshot:
    """Compute the report and store it as the newest snapshot (flushed; the caller commits)."""
    report = build_report()
    snapshot = StatisticsSnapshot(generated_at=report.generated_at, schema=SCHEMA, body={
        "suppressed_below": report.threshold, "months": report.months,
        "cases": report.cases, "deadlines": report.deadlines})
    db.session.add(snapshot)
    db.session.flush()
    return snapshot


def _prune() -> int:
    """Delete all but the ``KEEP`` newest snapshots; how many went."""
    kept = db.session.scalars(select(StatisticsSnapshot.id).order_by(StatisticsSnapshot.id.desc()).limit(KEEP)).all()
    if len(kept) < KEEP:
        return 0
    return db.session.execute(delete(StatisticsSnapshot).where(StatisticsSnapshot.id < min(kept))).rowcount


@use_case
def statistics_job() -> SnapshotResult:
    """Compute the public statistics, store them as the newest snapshot, keep the last few."""
    snapshot = store_snapshot()
    removed = _prune()
    db.session.commit()
    return SnapshotResult(snapshot.id, len(snapshot.body["cases"]) + len(snapshot.body["deadlines"]), removed)


@use_case
def published_report() -> Report:
    """The report the public pages show: the newest snapshot of the current schema, or, when
    there is none to serve (see the module's docstring), one computed now and stored."""
    snapshot = db.session.scalars(
        select(StatisticsSnapshot).where(StatisticsSnapshot.schema == SCHEMA)
        .order_by(StatisticsSnapshot.id.desc()).limit(1)
    ).first()
    if snapshot is None or not _current(snapshot.body):
        snapshot = _store_now()
    body = snapshot.body
    return Report(snapshot.generated_at, body["suppressed_below"], body["months"], body["cases"], body["deadlines"])


def _current(body: dict) -> bool:
    return body["suppressed_below"] == int(current_app.config["STATISTICS_MIN_CELL"])


def _store_now() -> StatisticsSnapshot:
    snapshot = store_snapshot()
    db.session.commit()
    return snapshot
