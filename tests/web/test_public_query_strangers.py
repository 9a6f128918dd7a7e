"""The stranger walk through /query (issue 12): a company, an adult, a minor and a squatter.

Each step is answered without disclosure: a person's page says the same, byte for byte once
what the visitor typed (and the form's security token) is taken out, whether the number is
unknown, the name wrong, the person a minor or nothing of theirs in publicity.
"""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from app.models.enums import RecordState, Role, SubjectKind
from tests.factories import id_number, make_subject, make_user
from tests.rulekit import record_like
from tests.web.helpers import csrf_token, text

NO_PERSON = "未查询到该姓名和证件号码对应的公示信息。"
NO_COMPANY = "未查询到该统一社会信用代码或企业名称对应的公示信息。"
CSRF_VALUE = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+')


def _query(client, identifier, name=None):
    data = {"identifier": identifier, "csrf_token": csrf_token(client, "/query")}
    if name is not None:
        data["person_name"] = name
    return client.post("/query", data=data)


def _without_input(response, *typed: str) -> str:
    """The page less what the visitor typed and the CSRF token (which is signed with the time)."""
    html = CSRF_VALUE.sub(r"\1", text(response))
    for value in sorted((t for t in typed if t), key=len, reverse=True):
        html = html.replace(value, "")
    return html


def _public(subject, number):
    return record_like(subject=subject, decision_date=date(2026, 6, 1), decision_number=number,
                       is_public=True, withheld_reason=None)


@pytest.fixture
def walk(db, frozen):
    frozen.set(datetime(2026, 11, 25, 10, 0))
    company = make_subject(name="诚信测试有限公司")
    _public(company, "企罚〔2026〕1号")
    adult = make_subject(SubjectKind.NATURAL, identifier=id_number(birth="19800101"), name="王芳")
    _public(adult, "个罚〔2026〕2号")
    minor = make_subject(SubjectKind.NATURAL, identifier=id_number(birth="20100101"), name="李明")
    _public(minor, "未成年〔2026〕3号")
    quiet = make_subject(SubjectKind.NATURAL, identifier=id_number(birth="19750101"), name="赵静")
    record_like(subject=quiet, decision_date=date(2026, 6, 1), decision_number="已修复〔2026〕4号",
                state=RecordState.REPAIRED)
    squatted = make_subject(name="冒名注册有限公司")
    make_user(Role.APPLICANT, subject=squatted, verified=False)
    return {"company": company, "adult": adult, "minor": minor, "quiet": quiet, "squatted": squatted}


def test_a_company_by_code_and_by_exact_name_shows_its_name_and_records(client, walk):
    company = walk["company"]
    for typed in (company.identifier, "  诚信测试有限公司 "):
        page = _query(client, typed)
        assert page.status_code == 200
        results = text(page).split('aria-live="polite"', 1)[1]
        assert "诚信测试有限公司" in results and company.identifier in results and "企罚〔2026〕1号" in results


def test_a_partial_company_name_is_answered_as_none(client, walk):
    page = _query(client, "诚信测试")
    assert page.status_code == 200
    assert NO_COMPANY in text(page) and "企罚〔2026〕1号" not in text(page)


def test_the_squatters_typed_name_never_shows(client, walk):
    squatted = walk["squatted"]
    by_code = _query(client, squatted.identifier)
    unknown = _query(client, "91350100M000100Y43")
    assert by_code.status_code == unknown.status_code == 200
    assert "冒名注册有限公司" not in text(by_code)
    assert _without_input(by_code, squatted.identifier) == _without_input(unknown, "91350100M000100Y43")
    by_name = _query(client, "冒名注册有限公司")
    assert _without_input(by_name, "冒名注册有限公司") == _without_input(unknown, "91350100M000100Y43")


def test_an_adult_with_the_right_name_sees_the_records_and_the_number_masked(client, walk):
    adult = walk["adult"]
    page = _query(client, adult.identifier, "王芳")
    assert page.status_code == 200
    results = text(page).split('aria-live="polite"', 1)[1]
    assert "个罚〔2026〕2号" in results and "王芳" in results
    assert adult.identifier not in results
    assert adult.identifier[:6] + "********" + adult.identifier[-4:] in results


def test_every_empty_answer_about_a_person_is_the_same_page(client, walk):
    """Unknown number, wrong name, minor, nothing in publicity: one status, one page."""
    asked = {
        "unknown number": (id_number(birth="19900101"), "王芳"),
        "wrong name": (walk["adult"].identifier, "王小芳"),
        "minor": (walk["minor"].identifier, "李明"),
        "nothing in publicity": (walk["quiet"].identifier, "赵静"),
    }
    pages = {case: _query(client, number, name) for case, (number, name) in asked.items()}
    assert {case: page.status_code for case, page in pages.items()} == dict.fromkeys(asked, 200)
    bodies = {case: _without_input(pages[case], *asked[case]) for case in asked}
    assert NO_PERSON in bodies["unknown number"]
    for case, body in bodies.items():
        assert body == bodies["unknown number"], case
    for leaked in ("个罚〔2026〕2号", "未成年〔2026〕3号", "已修复〔2026〕4号"):
        assert all(leaked not in text(page) for page in pages.values())


def test_a_minor_is_never_shown_even_with_a_record_in_publicity(client, walk):
    page = _query(client, walk["minor"].identifier, "李明")
    assert "未成年〔2026〕3号" not in text(page) and NO_PERSON in text(page)


def test_an_identity_number_without_a_name_is_refused_clearly(client, walk):
    page = _query(client, walk["adult"].identifier)
    assert page.status_code == 422
    assert "查询自然人须同时填写姓名和居民身份证号码。" in text(page)
    assert "个罚〔2026〕2号" not in text(page) and "王芳" not in text(page)


def test_a_name_alone_never_finds_a_person(client, walk):
    page = _query(client, "王芳")
    assert page.status_code == 200
    assert NO_COMPANY in text(page) and "个罚〔2026〕2号" not in text(page)


@pytest.mark.parametrize(("typed", "message"), [
    ("91350100M000100Y44", "校验码"),
    ("ABC123", "统一社会信用代码应为18位"),  # Latin letters and digits only: read as a code
    ("某", "请输入企业的完整登记名称"),
    ("   ", "此项不能只填空格。"),
])
def test_bad_entries_get_a_clear_422(client, walk, typed, message):
    page = _query(client, typed)
    assert page.status_code == 422
    assert message in text(page)
