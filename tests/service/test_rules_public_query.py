"""The public query (DESIGN sections 2 and 6): only records in publicity today, with the mark.

Each hidden record differs from a shown twin in exactly one property, so each filter of
``find_public_records`` is needed for its test to pass; the /query page is checked with the
same rows.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app import clock
from app.models.enums import CaseKind, RecordState, Role
from app.services.records import find_public_records
from tests.factories import act, make_department, make_subject, make_user, submit
from tests.rulekit import record_like
from tests.web.helpers import csrf_token, text

NOW = datetime(2026, 11, 25, 10, 0)
TODAY = date(2026, 11, 25)
# Decided 2026-06-01, general: public 2026-06-01 .. 2027-06-01, shortest publicity to 2026-09-01.
# Decided 2026-09-01: shortest publicity to 2026-12-01, so its start may move past today.
EARLY, LATE = date(2026, 6, 1), date(2026, 9, 1)

# (rule, decision date of the twins, the one property of the hidden twin)
HIDDEN = [
    ("withheld (not public)", EARLY, {"is_public": False, "withheld_reason": "minor_subject"}),
    ("repaired", EARLY, {"state": RecordState.REPAIRED}),
    ("revoked", EARLY, {"state": RecordState.REVOKED}),
    ("retired", EARLY, {"state": RecordState.RETIRED, "retired_at": "now"}),
    ("purged", EARLY, {"state": RecordState.PURGED, "purged_at": "now"}),
    ("publicity starts tomorrow", LATE, {"publicity_start": TODAY + timedelta(days=1)}),
    ("publicity ended yesterday", EARLY, {"publicity_end": TODAY - timedelta(days=1)}),
    ("another subject's", EARLY, {"subject": "other"}),
]
# Twins that stay visible: the boundaries of each filter.
SHOWN = [
    ("corrected is still in publicity", EARLY, {"state": RecordState.CORRECTED}),
    ("publicity starts today", LATE, {"publicity_start": TODAY}),
    ("publicity ends today", EARLY, {"publicity_end": TODAY}),
]


@pytest.fixture
def subject(db, frozen):
    frozen.set(NOW)
    return make_subject()


def _make(subject, decided, change, number):
    department = make_department()
    values = {"subject": subject, "department": department, "decision_date": decided, "decision_number": number}
    for name, value in change.items():
        if value == "now":
            value = clock.now()
        if name == "subject" and value == "other":
            value = make_subject()
        values[name] = value
    return record_like(**values)


@pytest.mark.parametrize(("rule", "decided", "change"), HIDDEN, ids=[h[0] for h in HIDDEN])
def test_public_query_hides_a_record_that_is(subject, rule, decided, change):
    shown = _make(subject, decided, {}, "公示-对照")
    hidden = _make(subject, decided, change, "隐藏-变体")
    found, records = find_public_records(subject.identifier)
    assert found.id == subject.id
    assert [r.id for r in records] == [shown.id], rule
    if hidden.subject_id != subject.id:  # public, but under its own subject
        assert find_public_records(hidden.subject.identifier)[1] == [hidden]
    else:  # the model's own predicate agrees
        assert not hidden.publicly_visible(TODAY) and shown.publicly_visible(TODAY)


@pytest.mark.parametrize(("rule", "decided", "change"), SHOWN, ids=[s[0] for s in SHOWN])
def test_public_query_shows_a_record_on_the_edge(subject, rule, decided, change):
    edge = _make(subject, decided, change, "边界")
    _, records = find_public_records(subject.identifier)
    assert [r.id for r in records] == [edge.id], rule


def test_public_query_of_an_unknown_identifier_finds_nobody(subject):
    _make(subject, EARLY, {}, "公示-1")
    assert find_public_records("91350100M000100Y43") == (None, [])


# -- the /query page -------------------------------------------------------------------------

def _query(client, identifier):
    return client.post("/query", data={"identifier": identifier, "csrf_token": csrf_token(client, "/query")})


def _row_of(html: str, number: str) -> str | None:
    """The table row that shows the decision number, or None."""
    for row in html.split("<tr>")[1:]:
        if number in row:
            return row.split("</tr>", 1)[0]
    return None


def test_query_page_shows_the_public_twin_and_none_of_the_hidden(client, subject):
    shown = {_make(subject, d, c, f"显示{i}号").decision_number for i, (_, d, c) in enumerate([("", EARLY, {}), *SHOWN])}
    hidden = {_make(subject, d, c, f"隐藏{i}号").decision_number for i, (_, d, c) in enumerate(HIDDEN)}
    page = _query(client, subject.identifier)
    assert page.status_code == 200
    html = text(page)
    assert {n for n in shown if _row_of(html, n)} == shown
    assert {n for n in hidden if _row_of(html, n) or n in html} == set()


def test_query_page_marks_a_record_under_objection_and_only_that_one(client, subject):
    objected = _make(subject, EARLY, {}, "异议-1号")
    plain = _make(subject, EARLY, {}, "无异议-2号")
    case = submit(make_user(Role.APPLICANT, subject=subject), CaseKind.OBJECTION, objected)
    act(case, "accept", make_user(Role.OFFICER))
    assert objected.under_objection and not plain.under_objection
    html = text(_query(client, subject.identifier))
    assert "异议处理中" in _row_of(html, objected.decision_number)
    assert "异议处理中" not in _row_of(html, plain.decision_number)


def test_query_page_drops_the_mark_when_the_objection_is_withdrawn(client, subject):
    objected = _make(subject, EARLY, {}, "异议-3号")
    applicant = make_user(Role.APPLICANT, subject=subject)
    case = submit(applicant, CaseKind.OBJECTION, objected)
    act(case, "accept", make_user(Role.OFFICER))
    act(case, "withdraw", applicant, None)
    assert "异议处理中" not in _row_of(text(_query(client, subject.identifier)), objected.decision_number)
