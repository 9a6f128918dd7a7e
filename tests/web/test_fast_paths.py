"""The queue page shows the kept counts; a submission through the form costs a fixed, small
number of statements (issue 16, items 4 and 5)."""
from __future__ import annotations

import re
from io import BytesIO

from sqlalchemy import select

from app.models import Case, QueueCount
from app.models.enums import CaseKind, Role
from tests.factories import PDF, act, make_people, make_record, make_user, submit
from tests.statements import recorded_statements
from tests.web.helpers import csrf_token, sign_in, text

# Statements of one objection POST (from loading the signed-in user to the response), SQLite:
# 27 before issue 16 (a savepoint around the insert, the open-case and form-token checks before
# it, the first event's number asked of the table, the case and the user read again after the
# commit), 22 after, plus the queue counts' one upsert at the commit: 23; 20 since the timers of
# a new case are neither looked up first nor read again for the case's deadline; 13 since the
# binding, the policy version and the calendar's fingerprint are read once per transaction
# (app.services.memo; the fingerprint along with the policy in force), the timers go in with
# one statement after the case, which carries its deadline (no UPDATE after), and the record's
# event computes its number in its INSERT. PostgreSQL: one less, the case number is drawn in
# the case's INSERT (case_number_next, migration 0034). What is left: the user, the binding,
# the record, the policy; the counter (SQLite); the case, its timers, its event, the record's
# mark and event, the notice, the file, the queue counts.
STATEMENTS_PER_SUBMISSION = {"sqlite": 13, "postgresql": 12}


def _queue_row(html: str, kind: str, state: str) -> list[str]:
    row = re.search(rf'<tr data-queue="{kind}/{state}">(.*?)</tr>', html, re.S)
    assert row, f"no queue row {kind}/{state}"
    return re.findall(r'<td class="num"[^>]*>(?:<a [^>]*>)?(\d+)', row.group(1))


def test_the_queue_page_shows_the_kept_counts_open_not_handled_and_mine(client, db):
    people = make_people()
    officer = people["officer"]
    cases = [submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"])) for _ in range(3)]
    act(cases[0], "claim", officer)
    db.session.add(QueueCount(kind="objection", state="submitted", assignee_id=0, shard=99, n=1000))  # planted (a shard no writer uses)
    db.session.commit()
    sign_in(client, officer.username)
    html = text(client.get("/desk/queues"))
    assert _queue_row(html, "objection", "submitted") == ["1003", "1002", "1", "0"]  # open, nobody, mine, overdue
    other = make_user(Role.OFFICER)
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/desk/queues")})
    sign_in(client, other.username)
    assert _queue_row(text(client.get("/desk/queues")), "objection", "submitted")[2] == "0"


def test_an_objection_through_the_form_costs_a_fixed_number_of_statements(client, db, is_postgres):
    people = make_people()
    record = make_record(subject=people["subject"])
    # Not the year's first case: that one creates the year's number sequence (PostgreSQL).
    submit(people["applicant"], CaseKind.OBJECTION, make_record(subject=people["subject"]))
    sign_in(client, people["applicant"].username)
    path = f"/portal/records/{record.id}/objection"
    page = text(client.get(path))
    token = csrf_token(client, path)
    form_token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page).group(1)
    with recorded_statements() as work:  # without the test's own savepoints
        response = client.post(path, data={"csrf_token": token, "form_token": form_token, "title": "事实有误",
                                           "statement": "并非本公司所为。", "evidence": (BytesIO(PDF), "证据.pdf")},
                               content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.scalar(select(Case).where(Case.record_id == record.id)).number in text(
        client.get(response.headers["Location"]))
    limit = STATEMENTS_PER_SUBMISSION["postgresql" if is_postgres else "sqlite"]
    assert len(work) <= limit, "\n".join(s.split("\n")[0][:100] for s in work)
    assert sum(s.startswith("INSERT INTO queue_count") for s in work) == 1
    assert sum(s.startswith("INSERT INTO timer") for s in work) == 1  # both clocks in one statement
    assert sum(s.startswith("SELECT subject_binding.id") for s in work) == 1  # the portal's and the submission's
    assert not [s for s in work if s.startswith(('UPDATE "case"', "SELECT max("))]  # no deadline after, no event number first
