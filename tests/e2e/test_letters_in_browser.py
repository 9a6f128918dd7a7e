"""End to end in a real Chromium (issue 15, item 1): in each workflow the officer takes the final
step on the page, the applicant downloads the letter it issued from the case page, its text says
what was decided, and the public verification page opened with the letter's code confirms it; an
altered code is refused. The earlier steps are taken through the services. Screenshots under
build/e2e/letters-*/.
"""
from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.models import Department, Subject, User
from app.models.enums import CaseKind, Role
from tests.e2e.test_flows_in_browser import Steps, _sign_in, _sign_out, browser, live_server  # noqa: F401
from tests.factories import act, make_department, make_record, make_subject, make_user, repair_uploads, submit

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CODE = re.compile(r"并输入核验码([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})")


def _people(app, n: int):
    with app.app_context():
        department = make_department(name=f"上海市文书浏览器测试局{n}")
        subject = make_subject(name=f"上海文书浏览器测试有限公司{n}")
        applicant = make_user(Role.APPLICANT, subject=subject, username=f"letters-subject{n}")
        officer = make_user(Role.OFFICER, username=f"letters-officer{n}", display_name=f"文书专员{n}")
        dept_user = make_user(Role.DEPARTMENT, department=department, username=f"letters-dept{n}")
        db.session.commit()
        return department.id, subject.id, applicant.id, officer.id, dept_user.id


def _download_letter(page, steps, title_prefix: str) -> str:
    """The applicant downloads the letter whose number starts with ``title_prefix`` from the case
    page; its text, without line breaks."""
    link = page.locator(f"ul.letters a:has-text('{title_prefix}')")
    assert link.count() == 1
    steps.shot("case-page-letters")
    with page.expect_download() as download:
        link.click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    assert download.value.suggested_filename.endswith(".pdf")
    return "".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def _verify(page, base, steps, letter_text: str, title: str, result: str, private: list[str]):
    code = CODE.search(letter_text).group(1)
    number = re.search(r"(信[^〔信]{1,3}〔\d{4}〕第\d{6}号)", letter_text).group(1)
    page.goto(f"{base}/letters/verify")
    page.fill("#code", code)
    page.click("form.search button")
    content = page.content()
    assert number in content and title in content and result in content
    for secret in private:
        assert secret not in content, secret
    steps.shot("verified")
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    response = page.goto(f"{base}/letters/verify?code={tampered}")
    assert response.status == 404
    assert "没有与此核验码对应的文书" in page.content() and number not in page.content()
    steps.shot("tampered-refused")


def test_objection_decision_letter_in_browser(committed_app, live_server, browser):  # noqa: F811
    department_id, subject_id, applicant_id, officer_id, dept_id = _people(committed_app, 1)
    with committed_app.app_context():
        record = make_record(subject=db.session.get(Subject, subject_id),
                             department=db.session.get(Department, department_id),
                             decision_date=date(2026, 6, 1), decision_number="沪文浏罚〔2026〕00101号",
                             sanction="罚款人民币五千元", sanction_kinds=["fine"])
        db.session.commit()
        applicant, officer, dept_user = (db.session.get(User, i) for i in (applicant_id, officer_id, dept_id))
        case = submit(applicant, CaseKind.OBJECTION, record, title="处罚金额与决定书不符")
        act(case, "accept", officer)
        act(case, "refer", officer)
        act(case, "reply", dept_user, "经核查公示金额有误", verification="corrected",
            corrections={"sanction": "罚款人民币五万元"})
        case_id = case.id
        db.session.remove()
    case_url = f"{live_server}/cases/{case_id}"
    page = browser.new_page(locale="zh-CN", accept_downloads=True)
    steps = Steps(page, "letters-objection")

    _sign_in(page, live_server, "letters-officer1")
    page.goto(case_url)
    page.fill("#reason", "依认定单位核查意见，更正处罚内容。")
    page.click("button[value=decide_correct]")
    page.wait_for_selector("ul.letters a:has-text('信异决')")
    steps.shot("officer-decided")
    _sign_out(page)

    _sign_in(page, live_server, "letters-subject1")
    page.goto(case_url)
    text = _download_letter(page, steps, "信异决")
    for expected in ("异议处理决定书", "上海文书浏览器测试有限公司1", "现决定如下：异议成立，更正该条失信信息。",
                     "依认定单位核查意见，更正处罚内容。", "更正后的内容", "罚款人民币五万元", "沪文浏罚〔2026〕00101号",
                     "依法申请行政复议", live_server + "/letters/verify"):
        assert expected in text, expected
    _verify(page, live_server, steps, text, "异议处理决定书", "异议成立，更正该条失信信息",
            ["上海文书浏览器测试有限公司1", "沪文浏罚〔2026〕00101号", "上海市文书浏览器测试局1"])


def test_repair_decision_letter_in_browser(committed_app, live_server, browser):  # noqa: F811
    department_id, subject_id, applicant_id, officer_id, _ = _people(committed_app, 2)
    with committed_app.app_context():
        record = make_record(subject=db.session.get(Subject, subject_id),
                             department=db.session.get(Department, department_id),
                             decision_date=date(2025, 3, 1), decision_number="沪文浏税罚〔2025〕00102号")
        db.session.commit()
        applicant, officer = db.session.get(User, applicant_id), db.session.get(User, officer_id)
        case = submit(applicant, CaseKind.REPAIR, record, uploads=repair_uploads(), title="申请信用修复")
        act(case, "accept", officer)
        case_id = case.id
        db.session.remove()
    case_url = f"{live_server}/cases/{case_id}"
    page = browser.new_page(locale="zh-CN", accept_downloads=True)
    steps = Steps(page, "letters-repair")

    _sign_in(page, live_server, "letters-officer2")
    page.goto(case_url)
    page.fill("#reason", "已履行义务并作出信用承诺，予以修复。")
    page.click("button[value=approve]")
    page.wait_for_selector("ul.letters a:has-text('信修决')")
    steps.shot("officer-approved")
    _sign_out(page)

    _sign_in(page, live_server, "letters-subject2")
    page.goto(case_url)
    text = _download_letter(page, steps, "信修决")
    for expected in ("信用修复决定书", "符合信用修复条件，本平台决定予以信用修复。", "已履行义务并作出信用承诺，予以修复。",
                     "《信用修复管理办法》", "沪文浏税罚〔2025〕00102号"):
        assert expected in text, expected
    _verify(page, live_server, steps, text, "信用修复决定书", "修复通过",
            ["上海文书浏览器测试有限公司2", "沪文浏税罚〔2025〕00102号"])


def test_complaint_reply_letter_in_browser(committed_app, live_server, browser):  # noqa: F811
    department_id, _, applicant_id, officer_id, _ = _people(committed_app, 3)
    with committed_app.app_context():
        applicant, officer = db.session.get(User, applicant_id), db.session.get(User, officer_id)
        case = submit(applicant, CaseKind.COMPLAINT, None, department_id=department_id, title="更正申请逾期未答复")
        act(case, "accept", officer)
        act(case, "assign", officer, assignee_id=officer.id)
        case_id = case.id
        db.session.remove()
    case_url = f"{live_server}/cases/{case_id}"
    page = browser.new_page(locale="zh-CN", accept_downloads=True)
    steps = Steps(page, "letters-complaint")

    _sign_in(page, live_server, "letters-officer3")
    page.goto(case_url)
    page.fill("#reason", "已督促认定单位于3个工作日内答复。")
    page.click("button[value=respond]")
    page.wait_for_selector("ul.letters a:has-text('信投复')")
    steps.shot("officer-responded")
    _sign_out(page)

    _sign_in(page, live_server, "letters-subject3")
    page.goto(case_url)
    text = _download_letter(page, steps, "信投复")
    for expected in ("投诉答复书", "已督促认定单位于3个工作日内答复。", "（投诉对象：上海市文书浏览器测试局3）",
                     "《市场监督管理投诉举报处理暂行办法》"):
        assert expected in text, expected
    _verify(page, live_server, steps, text, "投诉答复书", "已作出答复", ["上海文书浏览器测试有限公司3", "更正申请逾期未答复"])
