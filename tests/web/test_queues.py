"""Officer queues: deadline order, filters, keyset pages, bulk actions through the workflows."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from app import clock
from app.models import Case
from app.models.enums import CaseKind, Role
from tests.factories import act, make_department, make_record, make_subject, make_user, submit
from tests.web.helpers import csrf_token, sign_in, text


def _cases(db, n=7):
    subject = make_subject()
    applicant = make_user(Role.APPLICANT, subject=subject)
    department = make_department()
    made = []
    start = datetime(2026, 11, 2, 9, 0)
    for i in range(n):
        with clock.frozen_clock(start + timedelta(days=i)):
            kind = CaseKind.COMPLAINT if i % 3 == 2 else CaseKind.OBJECTION
            record = None if kind == CaseKind.COMPLAINT else make_record(subject=subject, department=department)
            made.append(submit(applicant, kind, record, department_id=None if record else department.id))
    return made


def _numbers(html: str) -> list[str]:
    return re.findall(r"<code>((?:YY|TS|XF)-\d{4}-\d{6})</code>", html)


def test_queue_is_ordered_by_deadline_and_paged_without_offset(client, db, monkeypatch):
    from app.services.cases import list_queue
    from app.web import desk

    made = _cases(db, 7)
    sign_in(client, make_user(Role.OFFICER).username)
    expected = [c.number for c in sorted(made, key=lambda c: (c.due_at, c.id))]
    # Pages of three make the keyset paging visible on seven cases.
    monkeypatch.setattr(desk, "list_queue", lambda user, filters, after=None: list_queue(user, filters, after, limit=3))
    seen, url, pages = [], "/desk/queues", 0
    while url:
        html = text(client.get(url))
        seen += _numbers(html.split("<tbody>")[1])
        pages += 1
        match = re.search(r'href="([^"]*after=[^"]*)">[^<]*</a>\s*</p>', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == expected and pages == 3


def test_filters_by_kind_and_overdue(client, db, frozen):
    made = _cases(db, 6)
    sign_in(client, make_user(Role.OFFICER).username)
    complaints = _numbers(text(client.get("/desk/queues?kind=complaint")).split("<tbody>")[1])
    assert set(complaints) == {c.number for c in made if c.kind == "complaint"}
    frozen.set(datetime(2026, 11, 6, 10, 0))
    overdue = _numbers(text(client.get("/desk/queues?overdue=y")).split("<tbody>")[1])
    assert set(overdue) == {c.number for c in made if c.due_at < clock.now()}


def test_bad_filters_get_422_and_a_forged_cursor_400(client, db):
    sign_in(client, make_user(Role.OFFICER).username)
    assert client.get("/desk/queues?submitted_from=2026-02-30").status_code == 422
    assert client.get("/desk/queues?kind=nonsense").status_code == 422
    assert client.get("/desk/queues?submitted_from=2026-11-10&submitted_to=2026-11-01").status_code == 422
    assert client.get("/desk/queues?after=1~x~y").status_code == 400


def test_bulk_claim_and_accept_go_through_each_workflow(client, db):
    made = _cases(db, 3)
    officer = make_user(Role.OFFICER)
    act(made[0], "withdraw", made[0].applicant)  # this one can no longer be accepted
    sign_in(client, officer.username)
    token = csrf_token(client, "/desk/queues")
    data = {"csrf_token": token, "action": "accept", "case": [str(c.id) for c in made]}
    data.update({f"v{c.id}": str(c.version) for c in made})
    response = client.post("/desk/queues/bulk", data={**data, "back": "kind=objection"})
    assert response.status_code == 303 and response.location.endswith("/desk/queues?kind=objection")
    states = {c.number: db.session.scalar(select(Case.state).where(Case.id == c.id)) for c in made}
    assert states == {made[0].number: "withdrawn", made[1].number: "accepted", made[2].number: "accepted"}
    db.session.expire_all()
    data = {"csrf_token": token, "action": "claim", "case": [str(made[1].id)], f"v{made[1].id}": str(made[1].version)}
    client.post("/desk/queues/bulk", data=data)
    db.session.refresh(made[1])
    assert made[1].assignee_id == officer.id


def test_bulk_without_ticks_is_the_queue_again_with_the_message_and_its_filters(client, db):
    made = _cases(db, 2)
    sign_in(client, make_user(Role.OFFICER).username)
    token = csrf_token(client, "/desk/queues")
    page = client.post("/desk/queues/bulk", data={"csrf_token": token, "action": "claim", "back": "kind=objection"})
    assert page.status_code == 422
    body = page.get_data(as_text=True)
    assert "请至少勾选一件案件" in text(page) and 'role="alert"' in body
    assert made[0].number in body  # the queue itself, not a bare error page
    assert '<option selected value="objection">' in body  # with the filters the officer had
    refused = client.post("/desk/queues/bulk", data={"csrf_token": token, "action": "fly", "case": str(made[0].id)})
    assert refused.status_code == 422 and made[0].number in refused.get_data(as_text=True)


def test_cases_without_a_deadline_come_last_and_page_on(db):
    from app.services.cases import QueueFilter, list_queue

    made = _cases(db, 5)
    for case in made[:2]:
        case.due_at = None  # e.g. data from before deadlines were kept
    db.session.commit()
    officer = make_user(Role.OFFICER)
    seen, cursor = [], None
    while True:
        rows, cursor = list_queue(officer, QueueFilter(), cursor, limit=2)
        seen += [c.id for c in rows]
        if cursor is None:
            break
    with_deadline = sorted(made[2:], key=lambda c: (c.due_at, c.id))
    assert seen == [c.id for c in with_deadline] + sorted(c.id for c in made[:2])
