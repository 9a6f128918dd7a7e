"""The admin console in one language at a time (issue 15, item 3).

Every admin page is rendered, with the demo data and a little of everything an admin does
(jobs run, notices sent and undelivered, a webhook, a key, a calendar day, a policy version, an
account made, a password link, a second factor), in Chinese and in English, and the text a
reader sees (the text of the page, its titles, labels and placeholders, not the code, the form
values or the scripts) is searched: in Chinese for English words, in English for Chinese.
A word the data holds (a department's name, a user name, the policy's legal basis) is data and
allowed; so are the few names a Chinese console uses as they are (Webhook, API, CSV, URL...).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser

import pyotp
import pytest
from sqlalchemy import JSON, String, Text, select

from app import clock
from app.extensions import db as _db
from app.models import JobRun, Notification, User
from app.models.enums import Channel, NotificationStatus, Role
from app.services import accounts
from app.services.admin import request_job_run, run_job, seed_demo
from app.services.admin.jobs import JOBS
from app.services.calendar import add_override
from app.services.policy import create_version, get_policy_in_force
from tests.factories import make_user
from tests.web.helpers import csrf_token, sign_in, text

# Columns that hold codes (``pending``, ``records_retired``) or a job's result as JSON: a code
# on screen is what this test looks for, so it is no data that excuses a word.
CODE_COLUMNS = {"status", "channel", "template", "role", "state", "from_state", "to_state", "kind", "action",
                "object_type", "category", "severity", "trigger", "outcome", "method", "capacity", "purpose",
                "locale", "sector", "name_source", "identifier_kind", "origin", "unit", "last_result"}
# What a Chinese console writes as it is: names of standards, formats and protocols, the
# language switch, the time zone, the units of a file's size, the scheduler's command, the words
# of the calendar file and of the audit search, the examples of a password rule.
AS_IS = {"Webhook", "API", "CSV", "URL", "JSON", "POST", "X-Casedesk-Signature", "English", "Asia/Shanghai",
         "PDF", "KB", "MB", "YYYY-MM-DD", "flask", "scheduler", "run", "holiday", "workday", "case", "record",
         "user", "abcde", "qwert"}
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
ASCII_RUN = re.compile(r"[!-~](?:[ -~]*[!-~])?")  # printable ASCII from a visible character to one
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’_./-]*")
CODE = re.compile(r"[a-z][a-z0-9_.:-]*")  # a code in a title, kept there for operators


class _Reader(HTMLParser):
    """The text a reader meets: the page's text and the titles, labels, placeholders and buttons
    (a title that is a code, beside its name, is for operators)."""

    HIDDEN = {"code", "kbd", "samp", "pre", "script", "style", "textarea"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in self.HIDDEN:
            self.hidden += 1
        for name in ("title", "aria-label", "placeholder", "alt"):
            if values.get(name) and not (name == "title" and CODE.fullmatch(values[name])):
                self.texts.append(values[name])
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.texts.append(values["value"])

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.texts.append(" ".join(data.split()))


def reader_texts(html: str) -> list[str]:
    reader = _Reader()
    reader.feed(html)
    return reader.texts


def data_corpus() -> str:
    """Every text the database holds, but for its codes: what a page may show as data."""
    parts = []
    for table in _db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON) and c.name not in CODE_COLUMNS]
        if not columns:
            continue
        for row in _db.session.execute(select(*columns)):
            parts += [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in row if v is not None]
    return "\n".join(parts)


def english_left(texts: list[str], data: str) -> list[str]:
    """The runs of English words on a Chinese page that the data does not hold and a Chinese
    console does not keep as they are. A word with a digit in it names something (``UTF-8``,
    ``YY-2026-000123``): no English."""
    found = []
    for piece in texts:
        for run in ASCII_RUN.findall(piece):
            words = [w for w in WORD.findall(run) if len(w) > 1 and not any(c.isdigit() for c in w)]
            if words and run not in data and not set(words) <= AS_IS:
                found.append(run)
    return found


def chinese_left(texts: list[str], data: str) -> list[str]:
    """The Chinese of an English page that the data does not hold (the language switch aside)."""
    return [piece for piece in texts for run in CHINESE.findall(piece) if run != "中文" and run not in data]


def test_the_search_finds_what_it_looks_for():
    html = ('<p title="webhook.create" aria-label="Main menu">已发送 Records retired: 3 · 上海 SAMR-SH'
            '<code>raw_code here</code> UTF-8 Webhook</p>')
    texts = reader_texts(html)
    assert texts == ["Main menu", "已发送 Records retired: 3 · 上海 SAMR-SH", "UTF-8 Webhook"]
    assert english_left(texts, data="SAMR-SH") == ["Main menu", "Records retired: 3"]
    assert chinese_left(["Sent 已发送 · 上海", "中文"], data="上海") == ["Sent 已发送 · 上海"]


@dataclass
class Console:
    gets: list[str]
    posts: list[tuple[str, dict]] = field(default_factory=list)  # forms sent wrong, to see their errors


@pytest.fixture
def console(app, client, db, frozen) -> Console:
    seed_demo(subjects=40, records=200)
    admin = _db.session.scalar(select(User).where(User.username == "admin"))
    officer = _db.session.scalar(select(User).where(User.username == "officer"))
    first = accounts.list_departments_with_counts()[0].department
    accounts.create_key(first, "数据报送接口", admin)
    add_override(admin, date(2026, 12, 26), "workday", "调休上班")
    create_version(admin, get_policy_in_force().body, date(2026, 12, 1), "公示期调整")
    accounts.create_user(admin, accounts.NewUser("clerk.li", "李文书", None, Role.OFFICER, "Plum-Orchard-Lantern-42"))
    secret = accounts.prepare_enrolment(officer.id).secret
    accounts.confirm_enrolment(officer.id, pyotp.TOTP(secret).at(clock.now()))
    for name in JOBS:
        run_job(name)
    request_job_run(admin, "sla")
    # After the jobs ran: nothing is sent to it.
    accounts.add_webhook(admin, first.id, "市场监管推送", "https://93.184.215.14/casedesk", ["records_retired"])
    _db.session.add_all([
        Notification(key="h15:dead", channel=Channel.EMAIL, template="case_submitted", payload={}, attempts=8,
                     status=NotificationStatus.DEAD, recipient_user_id=officer.id, last_error="550 mailbox unavailable"),
        Notification(key="h15:pending", channel=Channel.WEBHOOK, template="records_retired", payload={}, attempts=1,
                     status=NotificationStatus.PENDING, recipient_department_id=first.id),
    ])
    _db.session.get(JobRun, "purge").last_error = "OperationalError: database is locked"
    _db.session.commit()
    sign_in(client, "admin", "demo-admin-2026")
    clerk = _db.session.scalar(select(User).where(User.username == "clerk.li"))
    return Console(
        gets=["/admin/", "/admin/users", "/admin/users?q=li&role=officer", "/admin/departments",
              f"/admin/departments/{first.id}", "/admin/policy", "/admin/policy/1", "/admin/policy/2",
              "/admin/policy/new", "/admin/calendar", "/admin/calendar?year=2027&month=2", "/admin/outbox",
              "/admin/outbox/dead", "/admin/outbox?status=sent", "/admin/forecast", "/admin/audit",
              "/admin/audit?kind=case", "/admin/audit?day_from=2026-13-01", "/admin/outbox?status=lost",
              f"/admin/users/{officer.id}/two-factor", f"/admin/users/{clerk.id}/two-factor"],
        posts=[
            (f"/admin/users/{clerk.id}/password-reset", {}),
            ("/admin/users", {"username": "x", "display_name": "", "email": "not-an-address", "role": "officer",
                              "password": "123456"}),
            ("/admin/departments", {"code": "", "name": "", "contact_email": "nowhere"}),
            (f"/admin/departments/{first.id}/webhooks", {"name": "", "url": "ftp://x"}),
            (f"/admin/departments/{first.id}/keys", {"name": ""}),
            ("/admin/calendar/overrides", {"day": "2026-02-30", "kind": "holiday"}),
            ("/admin/policy/new", {"effective_from": "soon", "retention": "forever"}),
            (f"/admin/users/{officer.id}/two-factor", {"reason": ""}),
        ],
    )


def _pages(client, console: Console, locale: str) -> dict[str, str]:
    with client.session_transaction() as session:
        session["locale"] = locale
    pages = {}
    for path in console.gets:
        response = client.get(path)
        assert response.status_code in (200, 422), (path, response.status_code)
        pages[path] = text(response)
    for path, data in console.posts:
        token = csrf_token(client, "/admin/users")
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code in (200, 409, 422), (path, response.status_code)
        pages["POST " + path] = text(response)
    return pages


def test_the_chinese_console_has_no_english_but_its_data(client, console):
    pages = _pages(client, console, "zh_CN")
    data = data_corpus()
    left = {path: english_left(reader_texts(html), data) for path, html in pages.items()}
    assert {path: words for path, words in left.items() if words} == {}


def test_the_english_console_has_no_chinese_but_its_data(client, console):
    pages = _pages(client, console, "en")
    data = data_corpus()
    left = {path: chinese_left(reader_texts(html), data) for path, html in pages.items()}
    assert {path: words for path, words in left.items() if words} == {}


# The jobs table of the admin home: each job by its name, what it does and what its last run did.


def _finished(name: str, result: str) -> None:
    now = clock.now()
    _db.session.add(JobRun(name=name, runs=1, failures=0, last_started_at=now, last_finished_at=now,
                           last_duration_ms=1234, last_result=result))
    _db.session.commit()


def test_the_jobs_table_says_in_words_what_each_run_did(client, db, frozen):
    _finished("expire", json.dumps({"retired": 1234, "batches": 2, "departments_told": 0, "cases_closed": 3,
                                    "subjects_told": 12, "run_id": 4521, "record_ids": []}))
    _finished("sla", '{"due_soon": 3, "breached": 1, "escalat')  # cut short by the store: no JSON
    _finished("dispatch", json.dumps({"claimed": 0, "sent": 0, "retrying": 0, "dead": 0, "messages": 0}))
    admin = make_user(Role.ADMIN)
    sign_in(client, admin.username)
    response = client.get("/admin/")
    page = text(response)
    assert response.status_code == 200
    assert "<strong>公示到期退出</strong> <small><code>expire</code></small>" in page
    assert "公示期届满的信息退出公示" in page and "retire" not in page.lower().replace("<code>expire</code>", "")
    assert "<small>已退出公示 1,234 条；分 2 批处理；已关闭案件 3 件；已提前告知主体即将退出公示 12 条；退出公示运行编号 4521</small>" in page
    assert '<small><code>{&#34;due_soon&#34;: 3, &#34;breached&#34;: 1, &#34;escalat</code></small>' in page
    assert "<small>无需处理</small>" in page and "1234 毫秒" in page
    assert '"retired"' not in page and "&#34;retired" not in page

    with client.session_transaction() as session:
        session["locale"] = "en"
    page = text(client.get("/admin/"))
    assert "<strong>Record expiry</strong>" in page and "Retire the records whose publicity ended" in page
    assert "Records retired: 1,234; Batches: 2; Cases closed: 3;" in page and "<small>Nothing to do</small>" in page


def test_run_now_names_the_job_by_its_title(client, db):
    admin = make_user(Role.ADMIN)
    sign_in(client, admin.username)
    response = client.post("/admin/jobs/sla/run", data={"csrf_token": csrf_token(client, "/admin/")},
                           follow_redirects=True)
    assert "任务 期限巡检 已排队" in text(response)
