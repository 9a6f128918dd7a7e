"""The case page marks each step that cannot be undone (into a done state: a decision, a
withdrawal, a close, a refusal) so that the browser asks first; the others are not marked."""
from __future__ import annotations

import re

from app.models.enums import CaseKind, Role
from tests.factories import make_record, make_subject, make_user, submit
from tests.web.helpers import sign_in
from workflows import CASE_WORKFLOWS


def _marked(page: str) -> dict[str, bool]:
    return {m.group(1): "data-confirm=" in m.group(0)
            for m in re.finditer(r'<button type="submit" name="trigger" value="(\w+)"[^>]*>', page)}


def test_the_steps_into_a_done_state_ask_first_and_the_others_do_not(client, db):
    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject))
    db.session.commit()
    workflow = CASE_WORKFLOWS[CaseKind.OBJECTION]
    for user in (applicant, make_user(Role.OFFICER)):
        reader = type(client)(client.application)
        sign_in(reader, user.username)
        buttons = _marked(reader.get(f"/cases/{case.id}").get_data(as_text=True))
        assert buttons
        for trigger, asks in buttons.items():
            transition = next(t for t in workflow.transitions if t.trigger == trigger)
            assert asks == workflow.state(transition.dest).done, trigger
    officer_page = reader.get(f"/cases/{case.id}").get_data(as_text=True)
    assert _marked(officer_page)["not_accept"] and not _marked(officer_page)["accept"]
    assert "无法撤回" in officer_page
