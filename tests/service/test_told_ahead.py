"""A verified subject's accounts hear ahead when a record is about to leave publicity, once per
record and day, and only verified accounts; the portal shows each record's day."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.models import Notification
from app.models.enums import Channel, Role, SubjectKind
from app.services.admin import run_job
from app.services.records import tell_subjects_ahead
from tests.factories import make_record, make_subject, make_user
from tests.web.helpers import sign_in, text

MONDAY = datetime(2026, 11, 2, 9, 0)  # five working days on: Monday 9 November


def _told(db) -> dict[str, dict]:
    return {n.key: n.payload for n in db.session.scalars(
        select(Notification).where(Notification.template == "record_leaving_soon", Notification.channel == Channel.INBOX))}


@pytest.fixture
def company(db):
    subject = make_subject(SubjectKind.LEGAL)
    account = make_user(Role.APPLICANT, subject=subject)
    stranger = make_user(Role.APPLICANT, subject=subject, verified=False)  # signed up, not verified
    return subject, account, stranger


def test_records_leaving_within_the_lead_are_announced_to_verified_accounts_only(db, company):
    subject, account, stranger = company
    # Last day Friday 6 Nov: leaves Saturday; last day Sunday 8 Nov: leaves Monday 9 Nov (the
    # fifth working day); last day Monday 9 Nov: leaves Tuesday 10 Nov, beyond the lead.
    inside = [make_record(subject=subject, decision_number=f"近{n}号") for n in range(2)]
    inside[0].publicity_end, inside[1].publicity_end = date(2026, 11, 6), date(2026, 11, 8)
    beyond = make_record(subject=subject, decision_number="远1号")
    beyond.publicity_end = date(2026, 11, 9)
    past = make_record(subject=subject, decision_number="过1号")
    past.publicity_end = date(2026, 11, 1)  # already due: the expiry job retires it now
    other = make_record(decision_number="他1号")  # another subject's
    other.publicity_end = date(2026, 11, 6)
    db.session.commit()
    with clock.frozen_clock(MONDAY):
        assert tell_subjects_ahead() == 2
        assert tell_subjects_ahead() == 0  # once per record and day
    told = _told(db)
    assert {p["record"] for p in told.values()} == {"近0号", "近1号"}
    assert all(key.endswith(f":user{account.id}") for key in told)
    assert {p["leaves_on"] for p in told.values()} == {"2026-11-07", "2026-11-09"}
    assert stranger.id not in {n.recipient_user_id for n in db.session.scalars(select(Notification))}


def test_a_moved_publicity_end_is_announced_again_for_its_new_day(db, company):
    subject, account, _ = company
    record = make_record(subject=subject)
    record.publicity_end = date(2026, 11, 4)
    db.session.commit()
    with clock.frozen_clock(MONDAY):
        tell_subjects_ahead()
        record.publicity_end = date(2026, 11, 5)  # a correction moved it
        db.session.commit()
        assert tell_subjects_ahead() == 1
    assert sorted(p["leaves_on"] for p in _told(db).values()) == ["2026-11-05", "2026-11-06"]


def test_the_lead_comes_from_the_configuration_and_zero_turns_it_off(app, db, company, monkeypatch):
    subject, _, _ = company
    record = make_record(subject=subject)
    record.publicity_end = date(2026, 11, 3)
    db.session.commit()
    monkeypatch.setitem(app.config, "RETIREMENT_NOTICE_WORKING_DAYS", 0)
    with clock.frozen_clock(MONDAY):
        assert tell_subjects_ahead() == 0
        monkeypatch.setitem(app.config, "RETIREMENT_NOTICE_WORKING_DAYS", 1)  # leaves Wed 4 Nov: beyond one working day
        assert tell_subjects_ahead() == 0
        monkeypatch.setitem(app.config, "RETIREMENT_NOTICE_WORKING_DAYS", 2)
        assert tell_subjects_ahead() == 1


def test_the_expire_job_tells_them(db, company):
    subject, _, _ = company
    make_record(subject=subject).publicity_end = date(2026, 11, 5)
    db.session.commit()
    with clock.frozen_clock(MONDAY):
        outcome = run_job("expire")
    assert outcome.ran and outcome.result.subjects_told == 1 and len(_told(db)) == 1


def test_the_portal_shows_the_day_each_record_leaves(client, db, company):
    subject, account, _ = company
    record = make_record(subject=subject)
    record.publicity_end = date(2027, 3, 31)
    db.session.commit()
    sign_in(client, account.username)
    with clock.frozen_clock(MONDAY):
        page = text(client.get("/portal/"))
    assert "将于 2027-04-01 停止公示" in page


def test_the_notice_reads_as_a_sentence(app):
    from app.services.notices.messages import render

    message = render("record_leaving_soon", [{"record": "沪罚1号", "leaves_on": "2026-11-09"}], "zh_CN")
    assert message.subject == "失信信息即将停止公示：沪罚1号" and "2026-11-09" in message.body
    assert "{" not in message.body


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ("0", 0), ("-1", None), ("soon", None)])
def test_the_lead_from_the_environment_is_a_whole_number(monkeypatch, value, expected):
    from config import ConfigError, load_config

    monkeypatch.setenv("RETIREMENT_NOTICE_WORKING_DAYS", value)
    if expected is None:
        with pytest.raises(ConfigError, match="RETIREMENT_NOTICE_WORKING_DAYS"):
            load_config("development")
    else:
        assert load_config("development")["RETIREMENT_NOTICE_WORKING_DAYS"] == expected
