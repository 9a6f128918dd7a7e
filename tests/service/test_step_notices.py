"""Notices that say what happened (issue 15, item 2): each step someone else takes on a case
tells the applicant in a sentence of its own, with the next deadline and a link to the case,
in the applicant's language."""
from __future__ import annotations

import re
import string

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.models import Notification
from app.models.enums import CaseKind, Channel, Role
from app.services.notices.messages import render
from tests.factories import act, make_record, make_subject, make_user, submit
from workflows import APPLICANT, CASE_WORKFLOWS

STEPS = [(kind, t) for kind, w in CASE_WORKFLOWS.items() for t in w.transitions
         if not t.bookkeeping and set(t.actors) - {APPLICANT}]


@pytest.mark.parametrize(("kind", "taken"), STEPS, ids=[f"{k}-{t.trigger}" for k, t in STEPS])
def test_every_step_someone_else_takes_has_its_own_sentence_in_both_languages(app, kind, taken):
    assert taken.notice, f"{kind} {taken.trigger} tells the applicant nothing of its own"
    fields = {name for _, name, _, _ in string.Formatter().parse(taken.notice) if name}
    assert fields <= {"case", "due_at"} and "case" in fields
    with app.test_request_context(), force_locale("zh_CN"):
        chinese = gettext(taken.notice)
    assert chinese != taken.notice and re.search(r"[\u4e00-\u9fff]", chinese)
    assert {name for _, name, _, _ in string.Formatter().parse(chinese) if name} == fields


def test_no_two_steps_of_a_workflow_say_the_same(app):
    for kind, workflow in CASE_WORKFLOWS.items():
        said = [t.notice for t in workflow.transitions if t.notice]
        assert len(said) == len(set(said)), kind


def test_an_accepted_objection_tells_the_applicant_what_happened_and_until_when(app, db):
    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject))
    act(case, "accept", make_user(Role.OFFICER))
    notice = db.session.scalar(select(Notification).where(
        Notification.template == "case_changed", Notification.channel == Channel.INBOX,
        Notification.recipient_user_id == applicant.id))
    text = render("case_changed", [notice.payload], "zh")
    assert f"您的异议申请 {case.number} 已受理" in text.body
    assert re.search(r"将于 \d{4}-\d{2}-\d{2} 前作出处理决定", text.body)
    assert text.body.endswith(f"/cases/{case.id}")
    english = render("case_changed", [notice.payload], "en").body
    assert english.startswith(f"Your objection {case.number} was accepted. The decision is due by ")


def test_the_case_page_says_who_uploaded_each_file_and_when(client, db):
    from tests.factories import repair_uploads
    from tests.web.helpers import sign_in, text

    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject, display_name="申请人丁")
    case = submit(applicant, CaseKind.REPAIR, make_record(subject=subject), repair_uploads())
    db.session.commit()
    sign_in(client, applicant.username)
    page = text(client.get(f"/cases/{case.id}"))
    assert page.count("由 申请人丁（申请人）于 ") == 2  # both files, each with its time
