"""Admins maintain the working-day calendar: month view, overrides with a preview, import; all audited."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app import clock
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import AdminAudit, CalendarOverride, Timer
from app.models.enums import CaseKind, Role, TimerStatus, TimerUnit
from app.services.calendar import WorkingCalendar, get_working_calendar
from app.services.calendar import overrides as calendar_admin
from app.services.calendar import working as calendar_service
from app.services.sla import deadline
from tests.factories import make_department, make_subject, make_user, submit

NOW = datetime(2026, 11, 25, 10, 0)  # a Wednesday


@pytest.fixture(autouse=True)
def fresh_calendar(monkeypatch):
    """Each test starts from a calendar built from its own rows: with the clock frozen, SQLite
    can give a rolled-back test's fingerprint to the next test's rows."""
    monkeypatch.setattr(calendar_service, "_cached", None)


@pytest.fixture
def admin(db):
    return make_user(Role.ADMIN)


def _complaint(at: datetime = NOW):
    """A complaint submitted at ``at``: its accept clock runs 7 working days."""
    applicant = make_user(Role.APPLICANT, subject=make_subject())
    with clock.frozen_clock(at):
        return submit(applicant, CaseKind.COMPLAINT, None, department_id=make_department().id)


def _audits(action: str) -> list[AdminAudit]:
    return list(db.session.scalars(select(AdminAudit).where(AdminAudit.action == action).order_by(AdminAudit.id)))


# --- the month and the year ---------------------------------------------------------------


def test_month_grid_marks_holidays_make_up_days_and_sources(db, frozen, admin):
    calendar_admin.add_override(admin, date(2026, 10, 9), "holiday", "临时停工")
    view = calendar_admin.calendar_view(2026, 10)
    assert len(view.weeks[0]) == 7 and view.weeks[0][:3] == [None, None, None]  # Oct 1 2026 is a Thursday
    cells = {c.day: c for week in view.weeks for c in week if c}
    assert sorted(cells) == [date(2026, 10, d) for d in range(1, 32)]
    national_day = cells[date(2026, 10, 1)]
    assert (national_day.status, national_day.info.source, national_day.info.name) == ("holiday", "holiday-data", "国庆节")
    assert (cells[date(2026, 10, 10)].status, cells[date(2026, 10, 10)].info.source) == ("makeup", "holiday-data")
    assert (cells[date(2026, 10, 12)].status, cells[date(2026, 10, 12)].info.source) == ("working", "weekday")
    assert (cells[date(2026, 10, 18)].status, cells[date(2026, 10, 18)].info.source) == ("weekend", "weekend")
    pinned = cells[date(2026, 10, 9)]
    assert (pinned.status, pinned.info.source, pinned.override.note) == ("holiday", "override", "临时停工")
    assert pinned.data_info.working  # without the override a working Friday
    assert view.coverage == "holiday-data"
    october = view.months[9]
    assert (october.holidays, october.makeup, october.overrides) == (7, 1, 1)  # Oct 1-3, 5-7, 9
    assert october.working == 31 - 7 - 8 + 1  # 8 weekend days, one of them worked
    assert [row.override.day for row in view.overrides] == [date(2026, 10, 9)]
    assert view.previous == (2026, 9) and view.next == (2026, 11)


def test_a_year_without_holiday_data_is_flagged_until_overrides_fill_it(db, frozen, admin):
    view = calendar_admin.calendar_view(2027, 2)
    assert view.coverage == "none"
    assert {c.info.source for w in view.weeks for c in w if c} == {"weekends-only (no data)"}
    calendar_admin.add_override(admin, date(2027, 2, 11), "holiday", "春节")
    assert calendar_admin.calendar_view(2027, 2).coverage == "overrides"


@pytest.mark.parametrize(("year", "month"), [(2015, 1), (2032, 1), (2026, 0), (2026, 13)])
def test_years_outside_the_span_and_bad_months_are_refused(db, frozen, year, month):
    assert calendar_admin.calendar_span() == (2016, 2031)
    with pytest.raises(InvalidInput):
        calendar_admin.calendar_view(year, month)


def test_the_span_ends_are_navigable_but_not_beyond(db, frozen):
    assert calendar_admin.calendar_view(2016, 1).previous is None
    assert calendar_admin.calendar_view(2031, 12).next is None


# --- changes, audit and the calendar's cache -------------------------------------------------


def test_add_change_and_remove_are_audited_with_before_and_after(db, frozen, admin):
    override = calendar_admin.add_override(admin, date(2026, 12, 7), "holiday", " 停电 ")
    added = _audits("calendar.add")
    assert len(added) == 1 and added[0].actor_id == admin.id and added[0].object_id == override.id
    assert added[0].before is None
    assert added[0].after == {"day": "2026-12-07", "kind": "holiday", "note": "停电"}

    calendar_admin.add_override(admin, date(2026, 12, 7), "workday", "停电取消")
    changed = _audits("calendar.change")
    assert len(changed) == 1 and changed[0].object_id == override.id
    assert changed[0].before == {"day": "2026-12-07", "kind": "holiday", "note": "停电"}
    assert changed[0].after == {"day": "2026-12-07", "kind": "workday", "note": "停电取消"}

    removed = calendar_admin.remove_override(admin, override.id)
    assert removed.day == date(2026, 12, 7)
    entry = _audits("calendar.remove")[0]
    assert entry.before["kind"] == "workday" and entry.after is None and entry.object_id == override.id
    assert db.session.scalar(select(func.count()).select_from(CalendarOverride)) == 0


def test_refusals_change_nothing(db, frozen, admin):
    calendar_admin.add_override(admin, date(2026, 12, 7), "holiday", None)
    with pytest.raises(InvalidInput):
        calendar_admin.add_override(admin, date(2026, 12, 7), "holiday", None)  # nothing to change
    with pytest.raises(InvalidInput):
        calendar_admin.add_override(admin, date(2040, 1, 2), "holiday", None)  # outside the span
    with pytest.raises(InvalidInput):
        calendar_admin.add_override(admin, date(2026, 12, 8), "maybe", None)
    with pytest.raises(NotFound):
        calendar_admin.remove_override(admin, 2**31 - 1)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AdminAudit)) == 1


def test_every_change_takes_effect_at_once(db, frozen, admin):
    """Also the changes the table's fingerprint alone would miss: a row changed in place, and
    a removal followed by an addition (SQLite hands the highest id out again; the clock stands)."""
    monday = date(2026, 11, 30)
    assert get_working_calendar().is_working_day(monday)
    override = calendar_admin.add_override(admin, monday, "holiday")
    assert not get_working_calendar().is_working_day(monday)
    calendar_admin.add_override(admin, monday, "workday")  # changed in place
    assert get_working_calendar().is_working_day(monday)
    calendar_admin.add_override(admin, monday, "holiday")
    assert not get_working_calendar().is_working_day(monday)
    calendar_admin.remove_override(admin, override.id)
    calendar_admin.add_override(admin, date(2026, 12, 1), "holiday")  # removed and added between two reads
    calendar = get_working_calendar()
    assert calendar.is_working_day(monday) and not calendar.is_working_day(date(2026, 12, 1))


def test_an_override_changes_the_deadlines_computed_after_it(db, frozen, admin):
    start = date(2026, 11, 27)  # Friday
    assert get_working_calendar().add_working_days(start, 2) == date(2026, 12, 1)
    before = deadline(TimerUnit.WORKING_DAYS, start, 2)
    calendar_admin.add_override(admin, date(2026, 11, 30), "holiday")
    assert get_working_calendar().add_working_days(start, 2) == date(2026, 12, 2)
    assert deadline(TimerUnit.WORKING_DAYS, start, 2) > before
    calendar_admin.add_override(admin, date(2026, 11, 28), "workday")  # the Saturday worked
    assert get_working_calendar().add_working_days(start, 2) == date(2026, 12, 1)


# --- preview -------------------------------------------------------------------------------


def test_the_preview_reports_the_running_deadlines_that_would_move(db, frozen, admin):
    case = _complaint()  # accept: 7 working days after Wed Nov 25 -> Fri Dec 4
    timer = db.session.scalars(select(Timer).where(Timer.case_id == case.id, Timer.status == TimerStatus.RUNNING)).one()
    assert clock.local(timer.due_at).date() == date(2026, 12, 4)

    off = calendar_admin.preview_override(date(2026, 12, 1), "holiday")
    assert off.changes_day and (off.moved, off.later, off.earlier) == (1, 1, 0)
    assert [(e.case_number, e.clock, e.due, e.new_due) for e in off.examples] == [
        (case.number, "accept", date(2026, 12, 4), date(2026, 12, 7))]

    worked = calendar_admin.preview_override(date(2026, 11, 28), "workday")
    assert (worked.later, worked.earlier) == (0, 1) and worked.examples[0].new_due == date(2026, 12, 3)

    on_the_day = calendar_admin.preview_override(date(2026, 12, 4), "holiday")  # the deadline's own day
    assert on_the_day.later == 1 and on_the_day.examples[0].new_due == date(2026, 12, 7)
    assert calendar_admin.preview_override(date(2026, 12, 5), "holiday").moved == 0  # already a day off
    assert calendar_admin.preview_override(date(2026, 12, 8), "holiday").moved == 0  # after the deadline
    assert calendar_admin.preview_override(date(2026, 11, 25), "holiday").moved == 0  # the start day is not counted
    assert db.session.scalar(select(func.count()).select_from(CalendarOverride)) == 0  # a preview saves nothing

    calendar_admin.add_override(admin, date(2026, 12, 1), "holiday")
    db.session.refresh(timer)
    assert clock.local(timer.due_at).date() == date(2026, 12, 4)  # a deadline already set keeps its date
    assert calendar_admin.preview_override(date(2026, 12, 1), "holiday").moved == 0
    removal = calendar_admin.remove_override(admin, db.session.scalar(select(CalendarOverride.id)))
    assert (removal.preview.earlier, removal.preview.later) == (1, 0)


def test_the_preview_count_agrees_with_recomputing_every_deadline(db, frozen, admin):
    for at in (datetime(2026, 11, 20, 9), datetime(2026, 11, 23, 9), NOW, datetime(2026, 12, 1, 9)):
        _complaint(at)
    calendar = get_working_calendar()
    timers = db.session.scalars(select(Timer).where(
        Timer.status == TimerStatus.RUNNING, Timer.unit == TimerUnit.WORKING_DAYS)).all()
    for day, kind in ((date(2026, 11, 24), "holiday"), (date(2026, 11, 27), "holiday"),
                      (date(2026, 12, 2), "holiday"), (date(2026, 12, 4), "holiday"),
                      (date(2026, 11, 29), "workday")):
        changed = WorkingCalendar(calendar.first_year, calendar.last_year, {**calendar.overrides, day: kind})
        moves = []
        for timer in timers:
            start, due = clock.local(timer.started_at).date(), clock.local(timer.due_at).date()
            new_due = changed.add_working_days(start, calendar.working_days_between(start, due))
            if new_due != due:
                moves.append(new_due > due)
        preview = calendar_admin.preview_override(day, kind)
        assert (preview.later, preview.earlier) == (moves.count(True), moves.count(False)), day
        assert preview.moved > 0


# --- import ---------------------------------------------------------------------------------

SCHEDULE = "date,kind,note\n2027-02-06,workday,调休上班\n2027-02-11,holiday,春节\n2027-02-12,休,春节\n"


def test_import_adds_and_changes_with_one_audit_row(db, frozen, admin):
    calendar_admin.add_override(admin, date(2027, 2, 12), "workday", "误录")
    report = calendar_admin.import_schedule(admin, SCHEDULE.encode())
    assert report.errors == [] and report.added == [date(2027, 2, 6), date(2027, 2, 11)]
    assert report.changed == [date(2027, 2, 12)]
    entry = _audits("calendar.import")[0]
    assert entry.actor_id == admin.id and entry.object_type == "calendar_override"
    assert entry.before == {"2027-02-12": {"kind": "workday", "note": "误录"}}
    assert entry.after == {"2027-02-06": {"kind": "workday", "note": "调休上班"},
                           "2027-02-11": {"kind": "holiday", "note": "春节"},
                           "2027-02-12": {"kind": "holiday", "note": "春节"}}
    calendar = get_working_calendar()
    assert calendar.is_working_day(date(2027, 2, 6)) and not calendar.is_working_day(date(2027, 2, 12))
    again = calendar_admin.import_schedule(admin, SCHEDULE.encode())
    assert again.unchanged == [date(2027, 2, 6), date(2027, 2, 11), date(2027, 2, 12)]
    assert len(_audits("calendar.import")) == 1  # nothing changed, nothing to audit


def test_a_bad_schedule_changes_nothing_and_names_every_bad_line(db, frozen, admin):
    bad = "2027-02-06,workday\n2027-02-30,holiday\n2027-02-12,maybe\n2040-01-02,holiday\n"
    report = calendar_admin.import_schedule(admin, bad.encode())
    assert len(report.errors) == 3 and report.added == []
    assert "2" in report.errors[0] and "3" in report.errors[1] and "2040-01-02" in report.errors[2]
    assert db.session.scalar(select(func.count()).select_from(CalendarOverride)) == 0
    assert db.session.scalar(select(func.count()).select_from(AdminAudit)) == 0


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_schedules_in_utf8_with_bom_and_gb18030_are_read(db, frozen, admin, encoding):
    report = calendar_admin.import_schedule(admin, SCHEDULE.encode(encoding))
    assert report.errors == [] and len(report.added) == 3
    notes = db.session.scalars(select(CalendarOverride.note).order_by(CalendarOverride.day)).all()
    assert notes == ["调休上班", "春节", "春节"]


@pytest.mark.parametrize("data", [
    b"", b"\xff\xfe\x00\x00binary", b"2027-02-06,workday\x00\n", b"2027-02-06,workday," + b"x" * 140_000,
    b"2027-02-06,workday\n" * (calendar_admin.MAX_SCHEDULE_BYTES // 19 + 1),
])
def test_unreadable_files_are_refused_with_a_message(db, frozen, admin, data):
    with pytest.raises(InvalidInput) as refused:
        calendar_admin.import_schedule(admin, data)
    assert str(refused.value)
    assert db.session.scalar(select(func.count()).select_from(CalendarOverride)) == 0


def test_a_file_without_lines_is_refused(db, frozen, admin):
    report = calendar_admin.import_schedule(admin, b"date,kind,note\n# nothing yet\n")
    assert report.errors and not report.added
