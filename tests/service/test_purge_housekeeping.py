"""The daily purge's housekeeping (issue 13, item 7): what the accounts and the imports keep
only for a while really goes. Old rows go, recent ones stay; each count is in the job's result."""
from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app import clock
from app.extensions import db as _db
from app.models import (
    ImportRun,
    ImportState,
    JobRun,
    RecoveryCode,
    SignInAttempt,
    Subject,
    TwoFactor,
    TwoFactorChallenge,
    UserSession,
)
from app.models.enums import Role
from app.models.personal import ERASED
from app.services.admin.jobs import run_job
from tests.factories import make_department, make_subject, make_user

NOW = datetime(2032, 6, 1, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _purge():
    with clock.frozen_clock(NOW):
        outcome = run_job("purge")
    assert outcome.ran
    _db.session.expire_all()
    return outcome.result, json.loads(_db.session.get(JobRun, "purge").last_result)


def _left(model) -> set[int]:
    return set(_db.session.scalars(select(model.id)))


def _session(user, created: datetime, ended: datetime | None = None) -> UserSession:
    row = UserSession(user_id=user.id, token_hash=secrets.token_hex(32), strength="password", created_at=created,
                      last_seen_at=created, expires_at=created + timedelta(hours=8), address="192.0.2.0/24",
                      user_agent="Firefox", ended_at=ended, end_reason="signed_out" if ended else None)
    _db.session.add(row)
    return row


def test_sessions_ended_or_expired_over_the_retention_go(db):
    user = make_user()
    old_ended = _session(user, NOW - 40 * DAY, ended=NOW - 31 * DAY)
    old_expired = _session(user, NOW - 31 * DAY)  # never signed out: its lifetime ended 31 days ago
    recent_ended = _session(user, NOW - 29 * DAY - timedelta(hours=1), ended=NOW - 29 * DAY)
    recent_expired = _session(user, NOW - 29 * DAY)
    live = _session(user, NOW - timedelta(hours=1))
    _db.session.commit()
    keep = {recent_ended.id, recent_expired.id, live.id}
    assert old_ended.id and old_expired.id

    result, shown = _purge()
    assert _left(UserSession) == keep
    assert result.sessions == 2 and shown["sessions"] == 2


def test_second_factor_sign_ins_expired_long_ago_go(db):
    user = make_user()
    rows = [TwoFactorChallenge(user_id=user.id, token_hash=secrets.token_hex(32), purpose="code",
                               created_at=at, expires_at=at + timedelta(minutes=5))
            for at in (NOW - 31 * DAY, NOW - 29 * DAY)]
    _db.session.add_all(rows)
    _db.session.commit()
    result, shown = _purge()
    assert _left(TwoFactorChallenge) == {rows[1].id}
    assert result.two_factor_challenges == 1 and shown["two_factor_challenges"] == 1


def test_sign_in_attempts_older_than_the_retention_go_but_not_within_the_back_off_window(db, app, monkeypatch):
    ages = {"old": 31 * DAY, "recent": 29 * DAY, "today": timedelta(hours=12)}
    rows = {k: SignInAttempt(username="someone@example.cn", address="192.0.2.0", succeeded=False, at=NOW - age)
            for k, age in ages.items()}
    _db.session.add_all(rows.values())
    _db.session.commit()
    result, shown = _purge()
    assert _left(SignInAttempt) == {rows["recent"].id, rows["today"].id}
    assert result.sign_in_attempts == 1 and shown["sign_in_attempts"] == 1

    # A retention shorter than the back-off window keeps what the back-off still counts.
    monkeypatch.setitem(app.config, "SIGN_IN_ATTEMPT_RETENTION", timedelta(hours=1))
    assert app.config["SIGNIN_BACKOFF_WINDOW"] == timedelta(hours=24)
    result, _ = _purge()
    assert _left(SignInAttempt) == {rows["today"].id} and result.sign_in_attempts == 1


def test_import_reports_of_runs_finished_over_the_retention_are_cleared(db):
    department = make_department()

    def run(finished: datetime | None, **kw) -> ImportRun:
        row = ImportRun(department_id=department.id, file_name="records.csv", requested_at=NOW - 100 * DAY,
                        finished_at=finished, error_count=1, **kw)
        _db.session.add(row)
        return row

    report = [[2, "facts", "当事人欧阳清扬 110105199001011234"]]
    old = run(NOW - 91 * DAY, state=ImportState.REFUSED, errors=report)
    old_failed = run(NOW - 91 * DAY, state=ImportState.FAILED, error="IntegrityError: 欧阳清扬")
    recent = run(NOW - 89 * DAY, state=ImportState.REFUSED, errors=report)
    running = run(None, state=ImportState.RUNNING, errors=report)
    clean = run(NOW - 91 * DAY, state=ImportState.DONE, errors=None)  # as a run stores "no report": JSON null
    _db.session.commit()

    result, shown = _purge()
    assert result.import_reports == 2 and shown["import_reports"] == 2
    assert [(r.errors, r.error, r.error_count) for r in (old, old_failed)] == [(None, None, 1)] * 2
    assert recent.errors == report and running.errors == report
    assert _left(ImportRun) == {old.id, old_failed.id, recent.id, running.id, clean.id}  # the runs themselves stay
    again, _ = _purge()
    assert again.import_reports == 0  # a cleared report is not cleared again


def test_an_erased_account_loses_its_second_factor(db):
    with clock.frozen_clock(datetime(2026, 5, 11, 10, 0)):
        subject = make_subject(name="欧阳清扬")
        erased = make_user(Role.APPLICANT, subject=subject, verified=False, is_active=False)
        other = make_user(Role.OFFICER)
        for user in (erased, other):
            _db.session.add_all([
                TwoFactor(user_id=user.id, secret="gAAAA-not-a-real-token", enabled_at=clock.now()),
                RecoveryCode(user_id=user.id, salt="00" * 16, code_hash="11" * 32),
                TwoFactorChallenge(user_id=user.id, token_hash=secrets.token_hex(32), purpose="code",
                                   expires_at=NOW + DAY),  # still pending: only the erasure removes it
            ])
        _db.session.commit()

    result, _ = _purge()
    assert result.subjects_erased == 1 and _db.session.get(Subject, subject.id).name == ERASED
    for model in (TwoFactor, RecoveryCode, TwoFactorChallenge):
        assert set(_db.session.scalars(select(model.user_id))) == {other.id}, model.__name__
