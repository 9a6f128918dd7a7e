"""A refused action leaves nothing behind: the use case rolls back, and the page shows the case as it is."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.models import Case, CaseEvent
from app.models.enums import CaseKind, Role
from tests.factories import act, make_department, make_subject, make_user, submit
from tests.web.helpers import csrf_token, sign_in, text


def test_a_refusal_after_the_state_changed_shows_the_case_unchanged(client, db):
    """Assigning to an inactive officer is refused by the transition's effect, after the state
    and version were set: the page must show the version the database holds, or the next try is stale."""
    department, subject = make_department(), make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    officer, gone = make_user(Role.OFFICER), make_user(Role.OFFICER, is_active=False)
    case = submit(applicant, CaseKind.COMPLAINT, None, department_id=department.id)
    act(case, "accept", officer)
    db.session.refresh(case)
    seen, events = case.version, db.session.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case.id)).all()
    sign_in(client, officer.username)

    def assign(to):
        token = csrf_token(client, f"/cases/{case.id}")
        return client.post(f"/cases/{case.id}/act", data={"csrf_token": token, "trigger": "assign", "version": seen,
                                                          "assignee_id": str(to.id), "reason": "理由"})

    refused = assign(gone)
    assert refused.status_code == 422
    shown = re.search(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"', text(refused))
    assert shown and int(shown.group(1) or shown.group(2)) == seen
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "accepted" and db.session.get(Case, case.id).version == seen
    assert db.session.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case.id)).all() == events
    assert assign(officer).status_code == 302  # the page was right: the next try is not stale
