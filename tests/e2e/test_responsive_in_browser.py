"""Pages that fit the screen (issue 15, item 4), in a real Chromium: each role's main pages, their
tables full (15 records with their actions, a queue of 30 cases, long names, codes and titles), at a
phone's width (390 x 844) and a desktop's (1280 x 800), in Chinese and in English. The page is no
wider than the viewport, and every visible link, button and field lies inside it: a control in a
table that scrolls sideways counts as off screen too, since it cannot be seen without scrolling.
A full-page screenshot of the officer queue on the phone is kept under build/e2e/phone/ (CI
artefacts); its width is the phone's.
"""
from __future__ import annotations

import re
import shutil
import struct
from datetime import date, timedelta
from pathlib import Path

import pytest

from app import clock
from app.extensions import db
from app.models.enums import CaseKind, Role, SubjectKind
from tests.e2e.test_flows_in_browser import ARTEFACTS, _sign_in, browser, live_server  # noqa: F401
from tests.factories import act, id_number, make_department, make_record, make_subject, make_user, submit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
LANGUAGES = {"zh_CN": "zh-CN", "en": "en"}
PHONE_SHOTS = ARTEFACTS / "phone"
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

# Long names and codes without a place to break: what pushes a table wider than the screen.
DEPARTMENT = "上海市浦东新区市场监督管理局综合行政执法大队（知识产权、广告与价格监管专项执法第三中队）"
DEPARTMENT_CODE = "SH-PUDONG-AMR-ENFORCEMENT-03"
SUBJECT = "上海浦东新区国际贸易与供应链管理科技发展股份有限公司（中国（上海）自由贸易试验区临港新片区分公司）"
OFFICER = "李晓明（浦东新区综合行政执法大队第三中队 案件受理与督办专员）"
OFFICER_LOGIN = "li.xiaoming.case-intake-and-supervision@pudong-market-regulation.example.gov.cn"
TITLE = ("关于浦东新区市场监督管理局作出的行政处罚决定信息有误、要求更正公示内容的异议，"
         "详见https://www.pudong.gov.cn/market-regulation/enforcement/decisions/2026/0000000042")


def _decision_number(i: int) -> str:
    return f"沪市监浦罚〔2026〕第3101152026000{i:03d}号-PDAMR-ENFORCEMENT-BRIGADE-{i:03d}"


@pytest.fixture
def full_tables(committed_app):
    """One subject with 15 records in publicity (each offering "Object" and "Repair") and 8 of
    its objections; 22 complaints of other subjects: 30 open cases, 3 of them referred to the
    department and handled by the officer."""
    app = committed_app
    with app.app_context():
        department = make_department(name=DEPARTMENT, code=DEPARTMENT_CODE, contact_email="enforcement-brigade-03@pudong-market-regulation.example.gov.cn")
        subject = make_subject(name=SUBJECT)
        applicant = make_user(Role.APPLICANT, subject=subject, username="responsive-subject@example.cn",
                              display_name="上海浦东新区国际贸易与供应链管理科技发展股份有限公司 经办人")
        officer = make_user(Role.OFFICER, username=OFFICER_LOGIN, display_name=OFFICER)
        make_user(Role.DEPARTMENT, department=department, username="responsive-dept", display_name="执法大队第三中队 信息报送员")
        make_user(Role.ADMIN, username="responsive-admin", display_name="平台管理员")
        start = clock.now() - timedelta(days=20)
        records, cases = [], []
        for i in range(15):
            records.append(make_record(subject=subject, department=department, decision_number=_decision_number(i),
                                       decision_date=date(2026, 6, 1) + timedelta(days=i),
                                       sanction_kinds=["fine", "confiscation"]))
        for i, record in enumerate(records[:8]):
            with clock.frozen_clock(start + timedelta(hours=i)):
                cases.append(submit(applicant, CaseKind.OBJECTION, record, title=TITLE))
        for i in range(22):
            other = make_subject(SubjectKind.NATURAL if i % 2 else SubjectKind.LEGAL,
                                 **({"identifier": id_number()} if i % 2 else {}),
                                 name=f"{SUBJECT[:30]}第{i}号关联主体")
            complainant = make_user(Role.APPLICANT, subject=other)
            with clock.frozen_clock(start + timedelta(days=1, hours=i)):
                cases.append(submit(complainant, CaseKind.COMPLAINT, None, department_id=department.id, title=TITLE))
        for case in cases[:3]:
            act(case, "accept", officer)
            act(case, "refer", officer, "请核查处罚决定的文号与公示内容是否一致，并于五个工作日内答复。")
        db.session.commit()
        ids = {"case": cases[0].id, "record": records[0].id}
        db.session.remove()
    return ids


def _pages(role: str, ids: dict) -> list[str]:
    case = f"/cases/{ids['case']}"
    return {
        "subject": ["/portal/", case],
        "officer": ["/desk/queues", "/desk/", case],
        "department": ["/dept/", "/dept/referrals", f"/dept/records/{ids['record']}", case],
        "admin": ["/admin/", "/admin/users", "/admin/departments", "/admin/outbox", "/admin/audit"],
    }[role]


USERS = {"subject": "responsive-subject@example.cn", "officer": OFFICER_LOGIN,
         "department": "responsive-dept", "admin": "responsive-admin"}

# What the page measures of itself. A control is visible when it has a box and is not visibility:
# hidden; a box of 1 px or less is visually hidden for screen readers (.sr-only), and the skip link
# waits left of the page until it has the focus (then it shows itself at the left edge). Positions
# are in page coordinates, whatever the scroll. Each table cell's data-label must be its column's heading.
MEASURE = r"""() => {
  const width = document.documentElement.clientWidth;
  const describe = (el, box) => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '')
      .trim().split('\n')[0].replace(/\t/g, ' | ').slice(0, 40);
    return `<${el.tagName.toLowerCase()}> "${text}" at ${Math.round(box.left)}..${Math.round(box.right)}`;
  };
  const off = [];
  let checked = 0;
  for (const el of document.querySelectorAll('a[href], button, input, select, textarea, summary, table')) {
    if (el.matches('input[type=hidden], a.skip:not(:focus)')) continue;
    if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 && r.height <= 1) continue;
    checked += 1;
    const box = {left: r.left + window.scrollX, right: r.right + window.scrollX};
    if (box.left < -0.5 || box.right > width + 0.5) off.push(describe(el, box));
  }
  // On a narrow screen a cell is shown with its data-label: the heading of its column.
  const tidy = text => (text || '').replace(/\s+/g, ' ').trim();
  const labels = new Set();
  for (const table of document.querySelectorAll('table:not(.cal-month)')) {
    const heads = [...table.querySelectorAll(':scope > thead > tr > th')].map(th => tidy(th.textContent));
    for (const row of table.querySelectorAll(':scope > tbody > tr')) {
      if (row.children.length !== heads.length) continue;  // "nothing here", across the whole table
      [...row.children].forEach((cell, i) => {
        if (cell.tagName === 'TD' && (cell.dataset.label === undefined || tidy(cell.dataset.label) !== heads[i]))
          labels.add(`column "${heads[i]}" labelled ${JSON.stringify(cell.dataset.label)}`);
      });
    }
  }
  return {lang: document.documentElement.lang, labels: [...labels], scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth, clientWidth: width, off, checked};
}"""


def _png_width(path) -> int:
    with open(path, "rb") as f:
        return struct.unpack(">I", f.read(24)[16:20])[0]


@pytest.mark.parametrize("role", ["subject", "officer", "department", "admin"])
def test_every_control_is_on_screen_on_a_phone_and_a_desktop(committed_app, live_server, browser, full_tables, role):  # noqa: F811
    page = browser.new_page(locale="zh-CN", viewport=VIEWPORTS["desktop"])
    _sign_in(page, live_server, USERS[role])
    page.wait_for_load_state()
    if role == "officer":
        shutil.rmtree(PHONE_SHOTS, ignore_errors=True)
        PHONE_SHOTS.mkdir(parents=True)
    problems, measured = [], 0
    for language, lang_attribute in LANGUAGES.items():
        page.goto(f"{live_server}/auth/language/{language}?next=/")
        for screen, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            for path in _pages(role, full_tables):
                response = page.goto(f"{live_server}{path}")
                assert response.status == 200, (path, response.status)
                seen = page.evaluate(MEASURE)
                measured += 1
                where = f"{language} {screen} {path}"
                assert seen["lang"] == lang_attribute, where  # the page is in the language under test
                assert seen["innerWidth"] == viewport["width"], where
                if seen["scrollWidth"] > seen["innerWidth"] or seen["scrollWidth"] > seen["clientWidth"]:
                    problems.append(f"{where}: the page is {seen['scrollWidth']} px wide in a {seen['clientWidth']} px viewport")
                problems += [f"{where}: {label}" for label in seen["labels"]]
                if seen["off"]:
                    distinct = list(dict.fromkeys(seen["off"]))
                    problems.append(f"{where}: {len(seen['off'])} of {seen['checked']} controls and tables off a "
                                    f"{seen['clientWidth']} px screen, e.g. " + "; ".join(distinct[:4]))
                if path == "/desk/queues" and screen == "phone":
                    shot = PHONE_SHOTS / f"queue-{language}.png"
                    page.screenshot(path=str(shot), full_page=True)
                    if _png_width(shot) != viewport["width"]:
                        problems.append(f"{where}: the full-page screenshot is {_png_width(shot)} px wide")
    assert measured == len(LANGUAGES) * len(VIEWPORTS) * len(_pages(role, full_tables))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


def test_the_queue_is_full_when_measured(committed_app, live_server, browser, full_tables):  # noqa: F811
    """The measure above is of full tables: the queue lists the 30 cases with their long
    subjects, and the subject's portal its 15 records with 30 action links."""
    page = browser.new_page(locale="zh-CN", viewport=VIEWPORTS["phone"])
    _sign_in(page, live_server, OFFICER_LOGIN)
    page.goto(f"{live_server}/desk/queues")
    assert page.locator("input[name=case]").count() == 30
    assert page.get_by_text(SUBJECT, exact=True).count() == 8
    page.context.clear_cookies()
    _sign_in(page, live_server, USERS["subject"])
    page.goto(f"{live_server}/portal/")
    assert page.locator("a[href$='/objection']").count() == 15 and page.locator("a[href$='/repair']").count() == 15
    assert page.get_by_text(_decision_number(14)).count() == 1


def test_every_cell_of_every_table_carries_its_heading():
    """Pages the browser does not open too: each cell of a data table has the data-label a card shows
    (a cell spanning the table, a calendar day and the letters, which are PDF, have none)."""
    unlabelled = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        if "letters" in path.parts:
            continue
        for cell in re.finditer(r"<td\b[^>]*>", path.read_text(encoding="utf-8")):
            tag = cell.group(0)
            if "data-label=" not in tag and "colspan" not in tag and "cal-" not in tag:
                unlabelled.append(f"{path.relative_to(TEMPLATES)}: {tag}")
    assert not unlabelled, "\n".join(unlabelled)
