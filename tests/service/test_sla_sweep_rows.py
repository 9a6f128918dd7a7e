"""The set-based SLA sweep writes, row for row, what the per-row sweep wrote; a second sweep
writes nothing; the number of statements does not grow with the number of timers."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import delete, event, insert, select, update

from app import clock
from app.models import Notification, Timer, WebhookSubscription
from app.models.enums import CaseKind, Channel, Role, TimerStatus
from app.services.sla import marks, sweep_sla
from benchmarks.sla_naive import naive_sweep
from tests.factories import act, make_department, make_record, make_subject, make_user, submit

MONDAY = datetime(2026, 11, 2, 10, 0)
SWEEP_AT = datetime(2026, 11, 3, 10, 0)  # Tuesday: the horizon is the end of Wednesday
DUE_SOON = clock.end_of_day(date(2026, 11, 4))
BREACHED = clock.end_of_day(date(2026, 11, 2))
FAR = clock.end_of_day(date(2026, 11, 20))
TEMPLATES = ("sla_due_soon", "sla_breached")


def _hook(department, events, active=True):
    return WebhookSubscription(department_id=department.id if department else None, name="h", url="http://h.test/",
                               secret="s" * 32, events=events, is_active=active)


def _population(db):
    """Cases in every state a clock can be in, each twice: one set due soon, one breached."""
    with_email, without_email = make_department(contact_email="dept@a.test"), make_department()
    supervisors = [make_user(Role.SUPERVISOR, email="s1@p.test"), make_user(Role.SUPERVISOR),
                   make_user(Role.SUPERVISOR, email="gone@p.test", is_active=False)]
    officer = make_user(Role.OFFICER, email="officer@p.test")
    hooks = [_hook(with_email, ["sla_due_soon"]), _hook(None, ["*"]), _hook(with_email, ["records_retired"]),
             _hook(with_email, ["*"], active=False), _hook(without_email, ["sla_breached", "sla_due_soon"])]
    db.session.add_all(hooks)
    cases = []
    for copy in range(2):
        subject = make_subject()
        applicant = make_user(Role.APPLICANT, subject=subject, email=None if copy else "app@s.test")

        def objection(department, subject=subject, applicant=applicant):
            return submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department))

        cases.append(objection(with_email))  # submitted, unassigned: accept, overall -> supervisors
        for department in (with_email, without_email):  # referred: verify, verify_limit -> the department
            referred = objection(department)
            act(referred, "accept", officer)
            act(referred, "refer", officer)
            cases.append(referred)
        waiting = objection(with_email)  # supplement (fires a lapse, binds the applicant); the others paused
        act(waiting, "request_supplement", officer, "请补充")
        withdrawn = objection(without_email)  # stopped clocks
        act(withdrawn, "withdraw", applicant)
        complaint = submit(applicant, CaseKind.COMPLAINT, None, department_id=with_email.id)
        act(complaint, "accept", officer)
        act(complaint, "assign", officer, assignee_id=officer.id)  # reply -> the handler
        responded = submit(applicant, CaseKind.COMPLAINT, None, department_id=without_email.id)
        act(responded, "accept", officer)
        act(responded, "assign", officer, assignee_id=officer.id)
        act(responded, "respond", officer, "已答复")  # reopen window (fires a close, binds the applicant)
        cases += [waiting, withdrawn, complaint, responded]
    return {"cases": cases, "supervisors": supervisors, "hooks": hooks, "officer": officer,
            "departments": (with_email, without_email)}


def _arrange(db, people):
    """Running timers of the first copy's cases due soon, of the second's breached; one of each
    already marked, one far off; paused and stopped ones past any deadline (they must not count)."""
    first = {c.id for c in people["cases"][:7]}
    timers = db.session.scalars(select(Timer).order_by(Timer.id)).all()
    running = [t for t in timers if t.status == TimerStatus.RUNNING]
    for timer in running:
        timer.due_at = DUE_SOON if timer.case_id in first else BREACHED
    running[0].due_soon_at = clock.now()
    running[-1].breached_at = clock.now()
    running[1].due_at = FAR
    for timer in timers:
        if timer.status != TimerStatus.RUNNING:
            timer.due_at = BREACHED
    db.session.commit()


def _rows(db):
    rows = db.session.scalars(select(Notification).where(Notification.template.in_(TEMPLATES))).all()
    return sorted(
        (n.key, n.channel, n.template, json.dumps(n.payload, sort_keys=True), n.status, n.attempts, n.next_attempt_at,
         n.created_at, n.recipient_user_id, n.recipient_department_id, n.recipient_address)
        for n in rows
    )


def _marks(db):
    return [(t.id, t.status, t.due_soon_at, t.breached_at)
            for t in db.session.scalars(select(Timer).order_by(Timer.id).execution_options(populate_existing=True))]


@pytest.mark.parametrize(("smtp", "chunk"), [(False, marks.CHUNK), (True, marks.CHUNK), (True, 4)],
                         ids=["smtp-off", "smtp-on", "smtp-on-sqlite-chunks-of-4"])
def test_the_set_based_sweep_writes_what_the_per_row_sweep_wrote(db, app, monkeypatch, smtp, chunk):
    monkeypatch.setitem(app.config, "SMTP_HOST", "smtp.test" if smtp else None)
    monkeypatch.setattr(marks, "CHUNK", chunk)  # SQLite marks and tells the timers chunk by chunk
    with clock.frozen_clock(MONDAY) as frozen:
        people = _population(db)
        frozen.set(SWEEP_AT)
        _arrange(db, people)
        before = _marks(db)

        old = naive_sweep()
        old_rows, old_marks = _rows(db), _marks(db)
        db.session.execute(delete(Notification).where(Notification.template.in_(TEMPLATES)))
        for timer_id, _status, due_soon_at, breached_at in before:
            db.session.execute(update(Timer).where(Timer.id == timer_id)
                               .values(due_soon_at=due_soon_at, breached_at=breached_at))
        db.session.commit()
        assert _marks(db) == before and not _rows(db)

        new = sweep_sla()
        assert _rows(db) == old_rows
        assert _marks(db) == old_marks
        assert (new.due_soon, new.breached, new.escalations) == (old.due_soon, old.breached, old.escalations)

        frozen.set(datetime(2026, 11, 3, 11, 0))
        again = sweep_sla()
        assert (again.due_soon, again.breached, again.escalations) == (0, 0, 0)
        assert _rows(db) == old_rows

    # The population reaches every rule, so the comparison above is not between two empty sets.
    active = {s.id for s in people["supervisors"][:2]}
    channels = {(r[1], r[8], r[9]) for r in old_rows}
    recipients = {r[8] for r in old_rows if r[2] == "sla_breached"}
    assert recipients == active  # the inactive supervisor hears nothing
    with_email, without_email = people["departments"]
    assert (Channel.INBOX, None, with_email.id) in channels and (Channel.INBOX, None, without_email.id) in channels
    assert (Channel.INBOX, people["officer"].id, None) in channels
    hooks = {r[0].rsplit(":", 1)[1] for r in old_rows if r[1] == Channel.WEBHOOK}
    ids = [h.id for h in people["hooks"]]
    assert hooks == {str(ids[0]), str(ids[1]), str(ids[4])}  # matching and active ones only
    emails = {(r[8], r[9]) for r in old_rows if r[1] == Channel.EMAIL}
    if smtp:
        assert emails == {(None, with_email.id), (people["officer"].id, None), (people["supervisors"][0].id, None),
                          (people["cases"][0].applicant_id, None)}
    else:
        assert not emails
    assert new.breached > 2 and new.due_soon > 2
    assert any(r[0].startswith("due-soon:") and r[8] == people["cases"][0].applicant_id for r in old_rows)


def _timer_rows(db, n: int, start: int) -> list[dict]:
    """n copies of the running timers of the population, half due soon, half breached."""
    running = db.session.scalars(select(Timer).where(Timer.status == TimerStatus.RUNNING).order_by(Timer.id)).all()
    rows = []
    for i in range(n):
        model = running[i % len(running)]
        rows.append(dict(case_id=model.case_id, clock=model.clock, unit=model.unit, length=model.length,
                         policy_version=model.policy_version, status=TimerStatus.RUNNING, started_at=BREACHED,
                         due_at=DUE_SOON if (i + start) % 2 else BREACHED))
    return rows


def test_the_number_of_statements_does_not_grow_with_the_timers(db, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "smtp.test")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with clock.frozen_clock(MONDAY) as frozen:
        people = _population(db)
        frozen.set(SWEEP_AT)
        _arrange(db, people)
        sweep_sla()  # the population's own timers out of the way
        counts, written = [], []
        for n in (10, 1000):
            db.session.execute(insert(Timer), _timer_rows(db, n, len(counts)))
            db.session.commit()
            statements.clear()
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                result = sweep_sla()
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
            counts.append(len(statements))
            written.append(result)
    assert [r.due_soon + r.breached for r in written] == [10, 1000]
    assert written[1].escalations > 400
    assert counts[0] == counts[1], counts
