"""The public query (DESIGN sections 2 and 6): only records in publicity today, with the mark.

Each hidden record differs from a shown twin in exactly one property, so each filter of
``find_public_records`` is needed for its test to pass; the /query page is checked with the
same rows. Then who may be seen at all (issue 12): a company by code or exact name, with its
name only if a department gave it; a person only by name and number together, never a minor,
and every empty answer about a person the same.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app import clock
from app.models.enums import CaseKind, RecordState, Role, SubjectKind, SubjectNameSource
from app.services.records import PublicAnswer, find_public_records, query_public_records
from app.services.records.public_query import is_minor
from tests.factories import act, id_number, make_department, make_subject, make_user, submit
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


# -- who a stranger may see (issue 12): query_public_records -------------------------------

ADULT_BIRTH, MINOR_BIRTH = "19800101", "20100101"


def _person(birth: str = ADULT_BIRTH, name: str = "张伟", **kw):
    return make_subject(SubjectKind.NATURAL, identifier=id_number(birth=birth), name=name, **kw)


def _public(subject_, **kw):
    """A record in publicity today about ``subject_`` (forced public: the twin of a withheld one)."""
    return record_like(subject=subject_, decision_date=EARLY, is_public=True, withheld_reason=None, **kw)


def _shown(answer) -> list[tuple[str, str, list[int]]]:
    return [(s.name, s.identifier, [r.id for r in s.records]) for s in answer.subjects]


def test_a_company_by_its_code_shows_its_name_and_records_in_publicity(subject):
    shown = _make(subject, EARLY, {}, "公示-代码")
    _make(subject, EARLY, {"state": RecordState.REPAIRED}, "已修复-代码")
    answer = query_public_records(subject.identifier.lower())
    assert answer.kind == SubjectKind.LEGAL
    assert _shown(answer) == [(subject.name, subject.identifier, [shown.id])]


def test_a_company_by_its_exact_name_trimmed(subject):
    shown = _make(subject, EARLY, {}, "公示-名称")
    assert _shown(query_public_records(f"\u3000 {subject.name} ")) == [(subject.name, subject.identifier, [shown.id])]


@pytest.mark.parametrize("typed", ["测试主体", "主体", "%", "测试主体%", "_"], ids=["prefix", "part", "percent", "like", "underscore"])
def test_a_partial_name_finds_no_company(subject, typed):
    subject.name = "测试主体有限公司"
    _make(subject, EARLY, {}, "公示-部分")
    assert query_public_records(typed).subjects == []


def test_a_persons_name_is_no_company_name(subject):
    person = _person(name="某某某有限公司")
    _public(person)
    assert query_public_records("某某某有限公司").subjects == []


def test_a_company_with_nothing_in_publicity_shows_its_name_and_no_records(subject):
    _make(subject, EARLY, {"state": RecordState.REVOKED}, "已撤销-名")
    assert _shown(query_public_records(subject.identifier)) == [(subject.name, subject.identifier, [])]


def test_a_company_known_only_from_a_sign_up_is_answered_as_unknown(subject):
    """The squatter: an account signed up with a code and typed a name; no department gave one."""
    squatted = make_subject(name="冒名注册有限公司")
    make_user(Role.APPLICANT, subject=squatted, verified=False)
    by_code, by_name = query_public_records(squatted.identifier), query_public_records("冒名注册有限公司")
    unknown = query_public_records("91350100M000100Y43")
    assert by_code == by_name == unknown == PublicAnswer(SubjectKind.LEGAL, [])


def test_a_name_only_claimed_at_sign_up_is_never_shown_nor_found(subject):
    """A company with a record in publicity but a name still only claimed: its records, no name."""
    record = _make(subject, EARLY, {}, "公示-声称")
    subject.name, subject.name_source = "声称名称有限公司", SubjectNameSource.CLAIMED
    assert _shown(query_public_records(subject.identifier)) == [(None, subject.identifier, [record.id])]
    assert query_public_records("声称名称有限公司").subjects == []
    person = _person(name="刘洋", name_source=SubjectNameSource.CLAIMED)
    _public(person)
    assert query_public_records(person.identifier, "刘洋").subjects == []
    assert query_public_records(person.identifier, " ").subjects == []  # no name is no match for no public name


def test_an_adult_with_the_matching_name_and_a_record_in_publicity_is_shown(subject):
    person = _person()
    record = _public(person)
    answer = query_public_records(person.identifier, " 张伟 ")
    assert _shown(answer) == [("张伟", person.identifier, [record.id])]


@pytest.mark.parametrize("name", ["张三", "张", "张伟伟", "", None], ids=["other", "part", "longer", "empty", "none"])
def test_a_person_with_another_name_gets_the_answer_of_an_unknown_number(subject, name):
    person = _person()
    _public(person)
    unknown = query_public_records(id_number(birth=ADULT_BIRTH), "张伟")
    assert query_public_records(person.identifier, name) == unknown == PublicAnswer(SubjectKind.NATURAL, [])


def test_a_person_with_nothing_in_publicity_gets_the_same_answer(subject):
    person = _person()
    _make(person, EARLY, {"state": RecordState.REPAIRED}, "已修复-人")
    assert query_public_records(person.identifier, "张伟") == PublicAnswer(SubjectKind.NATURAL, [])


@pytest.mark.parametrize(("birth", "shown"), [("20081126", False), ("20081125", True), ("20100101", False)],
                         ids=["17-until-tomorrow", "18-today", "16"])
def test_a_minor_never_appears_even_with_a_record_in_publicity(subject, birth, shown):
    person = _person(birth=birth)
    record = _public(person)
    answer = query_public_records(person.identifier, "张伟")
    assert [r.id for r in answer.records] == ([record.id] if shown else [])


def test_a_minor_without_a_stored_birth_date_is_known_by_the_number(subject):
    person = _person(birth=MINOR_BIRTH, birth_date=None)
    _public(person)
    assert query_public_records(person.identifier, "张伟").subjects == []


def test_a_stored_birth_date_of_a_minor_hides_the_person(subject):
    """The stored birth date counts too, should it say less than the number (a corrected birth date)."""
    person = _person(birth_date=date(2012, 5, 1))
    _public(person)
    assert query_public_records(person.identifier, "张伟").subjects == []


@pytest.mark.parametrize(("birth", "today", "minor"), [
    (date(2008, 2, 29), date(2026, 2, 28), True), (date(2008, 2, 29), date(2026, 3, 1), False),
    (date(2008, 11, 25), date(2026, 11, 24), True), (date(2008, 11, 25), date(2026, 11, 25), False),
    (None, date(2026, 11, 25), False),
])
def test_coming_of_age(birth, today, minor):
    assert is_minor(birth, today) is minor


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
