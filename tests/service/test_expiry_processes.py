"""The expiry sweep across processes: two at once retire each record once; a killed one leaves
nothing half done. Real processes on a real, committed database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CreditRecord, Notification, RecordEvent
from app.models.enums import RecordClass, RecordState
from app.services.records import build_record
from tests.factories import make_department, make_subject

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2027-12-01T03:00"


def _load(app, n: int) -> int:
    """n records, all due on AS_OF (decided 2026-05 .. 2026-10: general, one year)."""
    with app.app_context():
        departments = [make_department() for _ in range(3)]
        subjects = [make_subject() for _ in range(20)]
        for i in range(n):
            db.session.add(build_record(
                subjects[i % 20], departments[i % 3], severity=RecordClass.GENERAL,
                decision_date=date(2026, 5 + i % 6, 1 + i % 28), category="administrative_penalty",
                decision_number=f"P-{i:06d}", facts="f", sanction="s", sanction_kinds=["fine"],
            ))
        db.session.commit()
        due = db.session.scalar(select(func.count()).select_from(CreditRecord))
        db.session.remove()
        return due


def _env(app) -> dict:
    return {
        **os.environ,
        "CASEDESK_ENV": "development",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CASEDESK_INSTANCE": str(Path(app.config["UPLOAD_DIR"]).parent),
        "SECRET_KEY": "x" * 40,
    }


def _sweep(app, batch_size: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "sweep", "expire", "--now", AS_OF, "--allow-future",
         "--batch-size", str(batch_size)],
        cwd=ROOT, env=_env(app), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _state(app):
    with app.app_context():
        retired = db.session.scalar(
            select(func.count()).select_from(CreditRecord).where(CreditRecord.state == RecordState.RETIRED)
        )
        per_record = Counter(db.session.scalars(select(RecordEvent.record_id).where(RecordEvent.trigger == "expire")))
        digests = db.session.scalars(select(Notification).where(Notification.template == "records_retired")).all()
        # Each record in the digest of its run and department: one digest per (department, run).
        runs = Counter((d.recipient_department_id, d.payload["run"]) for d in digests)
        listed = Counter(n for (department_id, run), _ in runs.items() for n in db.session.scalars(
            select(CreditRecord.decision_number).where(CreditRecord.department_id == department_id,
                                                       CreditRecord.retired_in_run == run)))
        assert set(runs.values()) <= {1}
        db.session.remove()
        return retired, per_record, digests, listed


@pytest.mark.slow
@pytest.mark.postgres_only
def test_two_sweeps_started_together_retire_each_record_once(committed_app, is_postgres):
    if not is_postgres:
        pytest.skip("row locks with SKIP LOCKED are PostgreSQL's; SQLite runs one writer at a time")
    due = _load(committed_app, 3000)
    first, second = _sweep(committed_app, 200), _sweep(committed_app, 200)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == second.returncode == 0, outputs
    counts = [int(out.strip().splitlines()[-1].split()[-1]) for out, _ in outputs]
    # Which process does how much depends on the machine's load; what must hold is the sum.
    assert sum(counts) == due, counts
    retired, per_record, digests, listed = _state(committed_app)
    assert retired == due
    assert len(per_record) == due and set(per_record.values()) == {1}
    assert len(listed) == due and set(listed.values()) == {1}  # every record in exactly one digest
    assert len({d.key for d in digests}) == len(digests)


KILLABLE = """
import os, sys, time
from app import create_app
from app import clock
from app.services.records import expiry
from datetime import datetime
app = create_app()
with app.app_context(), clock.frozen_clock(datetime.fromisoformat(sys.argv[1])):
    def stop(n):
        print("BATCH", n, flush=True)
        time.sleep(120)
    expiry.retire_expired_records(batch_size=int(sys.argv[2]), after_batch=stop)
"""


@pytest.mark.slow
def test_a_sweep_killed_mid_batch_leaves_nothing_half_done(committed_app):
    due = _load(committed_app, 500)
    victim = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, AS_OF, "300"], cwd=ROOT, env=_env(committed_app),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = victim.stdout.readline()
    assert line.startswith("BATCH 300"), (line, victim.stderr.read() if victim.poll() is not None else "")
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)  # reap it and close its pipes
    assert victim.returncode == -signal.SIGKILL

    retired, per_record, digests, _ = _state(committed_app)
    assert (retired, len(per_record), len(digests)) == (0, 0, 0)  # the batch died whole

    rerun = _sweep(committed_app, 300)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert out.strip().splitlines()[-1] == f"retired {due}"
    retired, per_record, digests, listed = _state(committed_app)
    assert retired == due and set(per_record.values()) == {1} and set(listed.values()) == {1}
