"""End to end in a real Chromium: an objection that ends in a correction with content (issue 14).

The department replies "needs correcting" with the corrected sanction, the officer's form opens
filled in with it, "correct" publishes it as a new version, and the public query shows the new
sanction with the "corrected" mark and its day. Screenshots under build/e2e/correction/.
"""
from __future__ import annotations

from datetime import date

import pytest

from app.extensions import db
from app.models.enums import Role
from tests.e2e.test_flows_in_browser import Steps, _deliver, _sign_in, _sign_out, browser, live_server  # noqa: F401
from tests.factories import make_department, make_record, make_subject, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_objection_corrected_with_new_sanction_end_to_end(committed_app, live_server, browser):  # noqa: F811
    with committed_app.app_context():
        department = make_department(name="上海市更正测试监督管理局")
        subject = make_subject(name="上海更正测试有限公司")
        make_user(Role.APPLICANT, subject=subject, username="subject9", display_name="申请人庚")
        make_user(Role.OFFICER, username="officer9", display_name="受理专员辛")
        make_user(Role.DEPARTMENT, department=department, username="dept9", display_name="部门用户壬")
        record = make_record(subject=subject, department=department, decision_date=date(2026, 6, 1),
                             decision_number="沪更测罚〔2026〕00009号", sanction="罚款人民币五千元",
                             sanction_kinds=["fine"])
        db.session.commit()
        identifier, record_id = subject.identifier, record.id
        db.session.remove()
    page = browser.new_page(locale="zh-CN")
    steps = Steps(page, "correction")

    # The subject objects: the fine was five thousand, the record says otherwise... or the reverse.
    _sign_in(page, live_server, "subject9")
    page.goto(f"{live_server}/portal/records/{record_id}/objection")
    page.fill("#title", "处罚金额与决定书不符")
    page.fill("#statement", "决定书载明罚款五万元并没收违法所得，公示内容有误。")
    page.click("button.primary")
    page.wait_for_url("**/cases/*")
    case_url = page.url
    steps.shot("subject-filed")
    _sign_out(page)

    # The officer accepts and refers it.
    _sign_in(page, live_server, "officer9")
    page.goto(case_url)
    page.click("button[value=accept]")
    page.wait_for_selector("button[value=refer]")
    page.click("button[value=refer]")
    page.wait_for_selector("text=已转办核查")
    steps.shot("officer-referred")
    _sign_out(page)

    # The department replies "needs correcting" with the corrected sanction and its kinds.
    _sign_in(page, live_server, "dept9")
    page.goto(case_url)
    assert page.input_value("#corrected_sanction") == "罚款人民币五千元"  # the record as it is, open
    page.select_option("#verification", value="corrected")
    page.fill("#corrected_sanction", "罚款人民币五万元，没收违法所得")
    page.check("input[name=corrected_sanction_kinds][value=confiscation]")
    page.fill("#reason", "经核查，公示的处罚内容有误，应以决定书为准。")
    steps.shot("department-fills-correction")
    page.click("button[value=reply]")
    page.wait_for_selector("text=认定单位已回复")
    assert "罚款人民币五万元，没收违法所得" in page.content()  # the proposal on the history
    steps.shot("department-replied")
    _sign_out(page)

    # The officer's form opens filled in with the department's correction; "correct" applies it.
    _sign_in(page, live_server, "officer9")
    page.goto(case_url)
    assert page.is_visible("#corrected_sanction")
    assert page.input_value("#corrected_sanction") == "罚款人民币五万元，没收违法所得"
    assert page.is_checked("input[name=corrected_sanction_kinds][value=confiscation]")
    steps.shot("officer-form-prefilled")
    page.fill("#reason", "依认定单位核查意见，更正处罚内容。")
    page.click("button[value=decide_correct]")
    page.wait_for_selector("text=公示中（已更正）")
    steps.shot("officer-decided-correct")
    _sign_out(page)
    _deliver(committed_app)

    # The public query shows the new sanction and the corrected mark with its day.
    page.goto(f"{live_server}/query")
    page.fill("#identifier", identifier)
    page.click("form.search button")
    content = page.content()
    assert "罚款人民币五万元，没收违法所得" in content and "罚款人民币五千元" not in content
    assert "已更正（" in content and "异议处理中" not in content
    steps.shot("public-query-corrected")
