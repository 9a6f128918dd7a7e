"""In-app notices digested like e-mail (issue 15, item 2): the notices of a digested template
delivered in one dispatch run are one entry of the inbox, with the text the e-mail has; any
other notice is an entry of its own; the links are the site's, and they are links."""
from __future__ import annotations

from datetime import UTC, datetime

from app import clock
from app.models import Notification
from app.models.enums import Channel, NotificationStatus, Role
from app.services.notices import inbox_entries
from tests.factories import make_department, make_subject, make_user
from tests.web.helpers import sign_in, text

RUN = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def _delivered(db, user, template, payload, sent_at, n, key, department=None):
    db.session.add(Notification(
        key=f"test:{key}:{n}", channel=Channel.INBOX, template=template, payload=payload,
        recipient_user_id=None if department else user.id, recipient_department_id=department,
        status=NotificationStatus.SENT, sent_at=sent_at, created_at=sent_at))


def _twelve_due_soon_and_two_steps(db, user):
    for n in range(12):
        _delivered(db, user, "sla_due_soon", {"case": f"YY-2026-{n:04d}", "due_at": "2026-12-04"}, RUN, n, "due")
    for n in range(2):
        _delivered(db, user, "case_changed", {"case": f"YY-2026-{90 + n}", "trigger": "accept", "state": "accepted"},
                   RUN, n, "step")
    db.session.commit()


def test_a_run_of_one_digested_template_is_one_entry_with_the_mail_s_lines(app, db):
    officer = make_user(Role.OFFICER)
    _twelve_due_soon_and_two_steps(db, officer)
    entries = inbox_entries(officer, "zh_CN")
    assert sorted(e.count for e in entries) == [1, 1, 12]
    digest = next(e for e in entries if e.template == "sla_due_soon")
    assert digest.subject == "办理时限即将届满（共12项）"
    lines = digest.body.split("\n")
    assert lines[0] == "- 案件 YY-2026-0000 的办理时限将于 2026-12-04 届满。"
    assert len(lines) == 11 and lines[-1] == "……另有2项"  # ten lines, then how many more
    english = next(e for e in inbox_entries(officer, "en") if e.template == "sla_due_soon")
    assert english.subject == "Deadline approaching (12 items)" and english.body.endswith("... and 2 more")


def test_runs_apart_are_entries_apart_newest_first_and_a_step_is_never_merged(app, db):
    officer = make_user(Role.OFFICER)
    _twelve_due_soon_and_two_steps(db, officer)
    _delivered(db, officer, "sla_due_soon", {"case": "YY-2026-0500", "due_at": "2026-12-07"}, LATER, 0, "later")
    db.session.commit()
    entries = inbox_entries(officer, "zh_CN")
    assert [(e.template, e.count) for e in entries][0] == ("sla_due_soon", 1)
    assert entries[0].body == "案件 YY-2026-0500 的办理时限将于 2026-12-07 届满。"
    steps = [e for e in entries if e.template == "case_changed"]
    assert len(steps) == 2 and {e.subject for e in steps} == {"案件进展：YY-2026-90", "案件进展：YY-2026-91"}
    assert len(inbox_entries(officer, "zh_CN", limit=2)) == 2


def test_nobody_reads_another_s_inbox_and_a_department_reads_its_own(app, db):
    officer, other = make_user(Role.OFFICER), make_user(Role.OFFICER)
    _twelve_due_soon_and_two_steps(db, officer)
    assert inbox_entries(other, "zh_CN") == []
    department = make_department()
    staff = make_user(Role.DEPARTMENT, department=department)
    _delivered(db, None, "records_retired", {"count": 3, "run": 7, "link": "/dept/retired/7"}, RUN, 0, "retired",
               department=department.id)
    db.session.commit()
    (entry,) = inbox_entries(staff, "zh_CN")
    assert entry.body.endswith("也可在部门工作台查看：http://casedesk.test/dept/retired/7")
    assert inbox_entries(officer, "zh_CN")[0].template != "records_retired"


def test_a_notice_not_yet_delivered_is_not_in_the_inbox(app, db):
    officer = make_user(Role.OFFICER)
    db.session.add(Notification(key="test:pending", channel=Channel.INBOX, template="sla_breached",
                                payload={"case": "YY-1", "due_at": "2026-12-01"}, recipient_user_id=officer.id,
                                status=NotificationStatus.PENDING, created_at=clock.now()))
    db.session.commit()
    assert inbox_entries(officer, "zh_CN") == []


def test_the_portal_shows_what_happened_with_a_link_to_the_case(client, db):
    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject, username="inbox-subject")
    link = "http://localhost/cases/42"
    _delivered(db, applicant, "case_changed", {"case": "YY-2026-0042", "kind": "objection", "trigger": "accept",
                                               "due_at": "2026-12-20", "link": link}, RUN, 0, "portal")
    db.session.commit()
    sign_in(client, "inbox-subject")
    page = text(client.get("/portal/"))
    assert "您的异议申请 YY-2026-0042 已受理" in page
    assert f'<a href="{link}"' in page
