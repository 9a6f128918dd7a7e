"""Policy versions: in force from their date and not before; preview; the audited recompute."""
from __future__ import annotations

import copy
from datetime import date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.errors import Conflict, InvalidInput
from app.models import AdminAudit, CaseEvent, RecordEvent, Timer
from app.models.enums import CaseKind, RecordClass, Role, TimerStatus
from app.services.admin.recompute import recompute
from app.services.policy import get_policy_in_force
from app.services.policy import versions as service
from app.services.sla import deadline
from tests.factories import make_record, make_subject, make_user, submit

TODAY = datetime(2026, 11, 25, 10, 0)  # a Wednesday
EFFECTIVE = date(2026, 12, 1)


def _draft(general_publicity="6m", accept_wd=5):
    body = copy.deepcopy(get_policy_in_force().body)
    body["record_classes"]["general"]["publicity"] = general_publicity
    body["sla"]["objection"]["accept"] = {"wd": accept_wd}
    return body


def test_a_version_takes_effect_on_its_date_and_not_before(db):
    admin = make_user(Role.ADMIN)
    with clock.frozen_clock(TODAY):
        created = service.create_version(admin, _draft(), EFFECTIVE, "test")
    assert get_policy_in_force(date(2026, 11, 30)).version == 1
    assert get_policy_in_force(EFFECTIVE).version == created.version

    subject = make_subject()
    with clock.frozen_clock(datetime(2026, 11, 30, 10, 0)):
        before = make_record(subject=subject, decision_date=date(2026, 11, 20))
    with clock.frozen_clock(datetime(2026, 12, 1, 10, 0)):
        after = make_record(subject=subject, decision_date=date(2026, 11, 20))
    assert (before.policy_version, before.publicity_end) == (1, date(2027, 11, 20))
    assert (after.policy_version, after.publicity_end) == (created.version, date(2027, 5, 20))

    applicant = make_user(Role.APPLICANT, subject=subject)
    with clock.frozen_clock(datetime(2026, 11, 30, 10, 0)):
        old_case = submit(applicant, CaseKind.OBJECTION, before)
    with clock.frozen_clock(datetime(2026, 12, 1, 10, 0)):
        new_case = submit(applicant, CaseKind.OBJECTION, after)
    lengths = {c.id: db.session.scalar(select(Timer.length).where(Timer.case_id == c.id, Timer.clock == "accept"))
               for c in (old_case, new_case)}
    assert lengths == {old_case.id: 2, new_case.id: 5}
    entry = db.session.scalars(select(AdminAudit).where(AdminAudit.action == "policy.create")).one()
    assert entry.before["version"] == 1 and entry.before["body"]["record_classes"]["general"]["publicity"] == "1y"
    assert entry.after["body"]["record_classes"]["general"]["publicity"] == "6m"


def test_no_version_in_the_past_and_no_incomplete_body(db):
    admin = make_user(Role.ADMIN)
    with clock.frozen_clock(TODAY):
        with pytest.raises(InvalidInput):
            service.create_version(admin, _draft(), date(2026, 11, 24), None)
        broken = _draft()
        del broken["sla"]["repair"]["overall"]
        with pytest.raises(InvalidInput):
            service.create_version(admin, broken, EFFECTIVE, None)


def test_the_preview_counts_what_a_recompute_would_change(db):
    subject = make_subject()
    with clock.frozen_clock(TODAY):
        old = make_record(subject=subject, decision_date=date(2026, 4, 10))  # 6m ends 2026-10-10: past
        recent = make_record(subject=subject, decision_date=date(2026, 9, 1))
        make_record(subject=subject, severity=RecordClass.SERIOUS, decision_date=date(2026, 9, 1))
        applicant = make_user(Role.APPLICANT, subject=subject)
        submit(applicant, CaseKind.OBJECTION, recent)
        preview = service.preview_draft(_draft(), EFFECTIVE)
    assert preview.records_checked == 3
    assert (preview.retire_earlier, preview.retire_later, preview.retire_at_once) == (2, 0, 1)
    assert preview.timers_longer == 1 and preview.timers_shorter == 0 and preview.cases_touched == 1
    assert ("objection", "accept", "2wd", "5wd") in preview.clock_changes
    assert old.publicity_end == date(2027, 4, 10)  # the preview changed nothing


def test_recompute_moves_records_and_deadlines_with_events_and_an_audit_row(db):
    admin = make_user(Role.ADMIN)
    subject = make_subject()
    with clock.frozen_clock(TODAY):
        record = make_record(subject=subject, decision_date=date(2026, 9, 1))
        case = submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION, record)
        timer = db.session.scalar(select(Timer).where(Timer.case_id == case.id, Timer.clock == "accept"))
        assert timer.due_at == deadline("wd", date(2026, 11, 25), 2)
        version = service.create_version(admin, _draft(accept_wd=4), clock.today(), "now").version
        result = recompute(admin, version)
    assert (result.records, result.records_moved, result.cases, result.timers_moved) == (1, 1, 1, 1)
    db.session.refresh(record)
    db.session.refresh(timer)
    assert (record.policy_version, record.publicity_end) == (version, date(2027, 3, 1))
    assert timer.due_at == deadline("wd", date(2026, 11, 25), 4) and timer.length == 4
    assert timer.status == TimerStatus.RUNNING and timer.policy_version == version
    event = db.session.scalars(select(RecordEvent).where(RecordEvent.record_id == record.id,
                                                         RecordEvent.trigger == "recompute")).one()
    assert event.data["before"]["publicity_end"] == "2027-09-01" and event.data["after"]["publicity_end"] == "2027-03-01"
    assert db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                      CaseEvent.trigger == "recompute")).one()
    audit = db.session.scalars(select(AdminAudit).where(AdminAudit.action == "policy.recompute")).one()
    assert audit.after["records_moved"] == 1 and audit.actor_id == admin.id
    with clock.frozen_clock(TODAY):  # nothing left behind: a second run moves nothing
        assert recompute(admin, version).records == 0


def test_only_the_version_in_force_is_recomputed_and_scheduled_ones_can_be_withdrawn(db):
    admin = make_user(Role.ADMIN)
    with clock.frozen_clock(TODAY):
        scheduled = service.create_version(admin, _draft(), EFFECTIVE, None)
        with pytest.raises(Conflict):
            recompute(admin, scheduled.version)
        with pytest.raises(Conflict):
            service.withdraw_version(admin, 1)
        service.withdraw_version(admin, scheduled.version)
    assert get_policy_in_force(EFFECTIVE).version == 1
    assert db.session.scalars(select(AdminAudit).where(AdminAudit.action == "policy.withdraw")).one().before
