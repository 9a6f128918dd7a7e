"""The scheduler as operators run it: real processes, two at once, stopped with SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CreditRecord, JobRun, RecordEvent
from app.models.enums import RecordClass, RecordState
from app.services.records import build_record
from tests.factories import make_department, make_subject

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_schedulers_run_the_jobs_once_each_and_stop_cleanly(committed_app):
    with committed_app.app_context():
        department, subject = make_department(), make_subject()
        for n in range(30):  # minor, decided in May 2026: three months of publicity, over by August
            db.session.add(build_record(subject, department, severity=RecordClass.MINOR,
                                        decision_date=date(2026, 5, 2 + n % 20), category="administrative_penalty",
                                        decision_number=f"S-{n}", facts="f", sanction="s", sanction_kinds=[]))
        db.session.commit()
        db.session.remove()
    env = {**os.environ, "CASEDESK_ENV": "development", "SECRET_KEY": "x" * 40,
           "DATABASE_URL": committed_app.config["SQLALCHEMY_DATABASE_URI"],
           "CASEDESK_INSTANCE": str(Path(committed_app.config["UPLOAD_DIR"]).parent)}
    schedulers = [
        subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    # Each process's output is read as it comes: the jobs may all be done by the first scheduler
    # before the second has finished importing, and a SIGTERM before its handler is installed
    # would kill it rather than stop it (a slow CI machine showed it).
    output: list[list[str]] = [[], []]
    readers = [threading.Thread(target=lambda p=p, out=out: out.extend(p.stdout), daemon=True)
               for p, out in zip(schedulers, output, strict=True)]
    for reader in readers:
        reader.start()

    def started() -> bool:
        return all(any("scheduler started" in line for line in list(out)) for out in output)

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with committed_app.app_context():
                done = {r.name for r in db.session.scalars(select(JobRun)) if r.last_finished_at}
                db.session.remove()
            if {"expire", "sla", "dispatch"} <= done and started():
                break
            time.sleep(0.5)
        assert {"expire", "sla", "dispatch"} <= done and started(), output
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGTERM)
        for process in schedulers:
            process.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=5)
        for process in schedulers:
            process.stdout.close()
        logs = ["".join(out) for out in output]
    assert [p.returncode for p in schedulers] == [0, 0], logs
    with committed_app.app_context():
        retired = db.session.scalars(select(CreditRecord).where(CreditRecord.state == RecordState.RETIRED)).all()
        events = Counter(db.session.scalars(select(RecordEvent.record_id).where(RecordEvent.trigger == "expire")))
        db.session.remove()
    assert len(retired) == 30 and set(events.values()) == {1}, logs
