"""Two SLA sweeps at the same time on PostgreSQL (real connections, committed data): each timer
is marked by one of them, each notice written once, and neither fails."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import insert, select, text

from app import clock
from app.extensions import db
from app.models import Case, Notification, Timer
from app.models.enums import Channel, TimerStatus
from app.services.sla import sweep_sla
from tests.service.test_sla_sweep_rows import DUE_SOON, MONDAY, SWEEP_AT, _arrange, _population, _timer_rows
from workflows import CASE_WORKFLOWS

pytestmark = pytest.mark.usefixtures("postgres_only")


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("SQLite serialises writers: two sweeps cannot overlap")


def _load(app, copies: int) -> None:
    with app.app_context(), clock.frozen_clock(MONDAY) as frozen:
        people = _population(db)
        frozen.set(SWEEP_AT)
        _arrange(db, people)
        db.session.execute(insert(Timer), _timer_rows(db, copies, 0))
        db.session.commit()
        db.session.remove()


def _expected(app) -> tuple[set[int], set[int], set[int]]:
    """Timers due soon, breached, and breached with an escalation (their clock fires nothing)."""
    with app.app_context():
        rows = db.session.execute(
            select(Timer.id, Timer.clock, Timer.due_at, Timer.due_soon_at, Timer.breached_at, Case.kind)
            .join(Case, Case.id == Timer.case_id).where(Timer.status == TimerStatus.RUNNING)
        ).all()
        db.session.remove()
    with clock.frozen_clock(SWEEP_AT):
        now = clock.now()
    soon = {r.id for r in rows if r.due_soon_at is None and now <= r.due_at <= DUE_SOON}
    breached = {r.id for r in rows if r.breached_at is None and r.due_at < now}
    escalated = {r.id for r in rows if r.id in breached and not CASE_WORKFLOWS[r.kind].clock(r.clock).on_breach}
    return soon, breached, escalated


def _sweep_in_thread(app, barrier, results, errors):
    with app.app_context(), clock.frozen_clock(SWEEP_AT):
        try:
            barrier.wait(timeout=30)
            results.append(sweep_sla())
        except Exception as error:  # reported by the test
            errors.append(error)
        finally:
            db.session.remove()


def _notices(app):
    with app.app_context():
        rows = db.session.execute(
            select(Notification.key, Notification.template).where(Notification.channel == Channel.INBOX)
        ).all()
        db.session.remove()
    return rows


def test_two_sweeps_at_once_mark_each_timer_once_and_write_each_notice_once(committed_app):
    _load(committed_app, 3000)
    soon, breached, escalated = _expected(committed_app)
    barrier, results, errors = threading.Barrier(2), [], []
    threads = [threading.Thread(target=_sweep_in_thread, args=(committed_app, barrier, results, errors))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(results) == 2
    assert sum(r.due_soon for r in results) == len(soon)
    assert sum(r.breached for r in results) == len(breached)
    rows = _notices(committed_app)
    breach_keys = [key for key, template in rows if template == "sla_breached"]
    assert sum(r.escalations for r in results) == len(breach_keys) == 2 * len(escalated)  # two active supervisors
    assert Counter(int(k.split(":")[1]) for k in breach_keys) == dict.fromkeys(escalated, 2)
    assert {int(k.split(":")[1]) for k, t in rows if t == "sla_due_soon"} <= soon


def test_a_sweep_skips_the_timers_another_holds_and_the_next_one_takes_them(committed_app):
    _load(committed_app, 200)
    soon, breached, escalated = _expected(committed_app)
    held = sorted(breached)[: len(breached) // 2]
    with committed_app.app_context():
        other = db.engine.connect()  # another sweep, half-way through its transaction
        other.execute(text("SELECT id FROM timer WHERE id = ANY(:ids) FOR UPDATE"), {"ids": held})
        with clock.frozen_clock(SWEEP_AT):
            first = sweep_sla()
            db.session.remove()
        other.rollback()
        other.close()
        with clock.frozen_clock(SWEEP_AT):
            second = sweep_sla()
            third = sweep_sla()
            db.session.remove()
    assert first.breached == len(breached) - len(held) and second.breached == len(held)
    assert first.due_soon == len(soon) and second.due_soon == 0
    assert third.breached == third.due_soon == third.escalations == 0
    assert first.escalations + second.escalations == 2 * len(escalated)
