"""Uploads in a real Chromium (issue 15, item 4): the chosen files are checked against the limits
the page states before anything is sent; a refusal by the server (too large for it, or a file it
does not take) is shown on the page with the statement and the files kept; a good upload shows
its progress and ends on the case. Without the script, a too large upload is a page that says
the limit and leads back to the form. An import's report of problems is saved as a download."""
from __future__ import annotations

import threading
import time
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.extensions import db
from app.models import Attachment, Case
from app.models.enums import Role
from tests.e2e.test_flows_in_browser import _buffered, _sign_in, browser  # noqa: F401
from tests.factories import PDF, make_record, make_subject, make_user, uscc

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TITLE, STATEMENT = "处罚决定已被撤销", "该处罚决定已于行政复议中被撤销，请撤销公示。这段陈述不应丢失。"


class Recorder:
    """The application behind the test server, noting each POST it is sent; with ``delay``, it
    reads the whole body and waits that long before answering (the upload is over by then, the
    answer not yet: the progress bar stays in sight)."""

    def __init__(self, app):
        self.app, self.posts, self.delay = app, [], 0.0

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            self.posts.append(environ["PATH_INFO"])
            if self.delay:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                environ["wsgi.input"] = BytesIO(environ["wsgi.input"].read(length))
                time.sleep(self.delay)
        return self.app(environ, start_response)


@pytest.fixture
def server(committed_app):
    recorder = Recorder(committed_app)
    http = make_server("127.0.0.1", 0, _buffered(recorder), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{http.server_port}"
    committed_app.config["PUBLIC_BASE_URL"] = recorder.url
    try:
        yield recorder
    finally:
        http.shutdown()
        http.server_close()


@pytest.fixture
def objection(committed_app):
    """A verified applicant with a record to object to: (username, path of the objection form)."""
    with committed_app.app_context():
        subject = make_subject(name="上海上传测试有限公司")
        make_user(Role.APPLICANT, subject=subject, username="uploader")
        record = make_record(subject=subject, decision_date=date(2026, 6, 1))
        db.session.commit()
        path = f"/portal/records/{record.id}/objection"
        db.session.remove()
    return "uploader", path


def _stored(app) -> tuple[int, int]:
    with app.app_context():
        counts = db.session.query(Case).count(), db.session.query(Attachment).count()
        db.session.remove()
        return counts


def _pdf(path, size: int):
    path.write_bytes(PDF + b"%" * (size - len(PDF)))
    return str(path)


def _chosen(page, selector="#evidence") -> list[str]:
    return page.eval_on_selector(selector, "input => Array.from(input.files, f => f.name)")


def _fill(page, server, path):
    page.goto(server.url + path)
    page.fill("#title", TITLE)
    page.fill("#statement", STATEMENT)


def test_too_large_files_are_stopped_before_sending(committed_app, server, objection, browser, tmp_path):  # noqa: F811
    username, path = objection
    committed_app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024  # the page states it, the script keeps to it
    page = browser.new_page(locale="zh-CN")
    _sign_in(page, server.url, username)
    _fill(page, server, path)
    assert page.get_attribute("form[data-upload]", "data-max-total") == str(1024 * 1024)
    assert "合计不超过1 MB" in page.inner_text("#evidence-hint")
    before = _stored(committed_app)
    posts = len(server.posts)

    # One file over the limit: said beside the field at once, and on submitting; nothing is sent.
    page.set_input_files("#evidence", _pdf(tmp_path / "扫描件.pdf", 1536 * 1024))
    error = page.locator("#evidence-upload-error")
    assert "扫描件.pdf" in error.inner_text() and "1.5 MB" in error.inner_text() and "1 MB" in error.inner_text()
    assert page.get_attribute("#evidence", "aria-invalid") == "true"
    page.click("button.primary")
    page.wait_for_timeout(300)
    assert len(server.posts) == posts and _stored(committed_app) == before
    assert page.input_value("#statement") == STATEMENT and page.input_value("#title") == TITLE
    assert page.evaluate("document.activeElement.id") == "evidence"

    # Two files each within the limit, together over it: the total is said.
    page.set_input_files("#evidence", [_pdf(tmp_path / "a.pdf", 600 * 1024), _pdf(tmp_path / "b.pdf", 600 * 1024)])
    assert "1.2 MB" in error.inner_text() and "一次最多" in error.inner_text()
    page.click("button.primary")
    page.wait_for_timeout(300)

    # A type the server does not take.
    (tmp_path / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    page.set_input_files("#evidence", str(tmp_path / "photo.heic"))
    assert "photo.heic" in error.inner_text() and "PDF、JPG或PNG" in error.inner_text()
    page.click("button.primary")
    page.wait_for_timeout(300)
    assert len(server.posts) == posts and _stored(committed_app) == before
    assert page.input_value("#statement") == STATEMENT

    # A good file clears the message, and the form goes.
    page.set_input_files("#evidence", _pdf(tmp_path / "ok.pdf", 2048))
    assert page.locator("#evidence-upload-error").count() == 0
    page.click("button.primary")
    page.wait_for_url("**/cases/*")
    assert len(server.posts) == posts + 1 and _stored(committed_app) == (before[0] + 1, before[1] + 1)


def test_a_refusal_by_the_server_keeps_the_statement_and_the_files(committed_app, server, objection, browser,  # noqa: F811
                                                                   tmp_path):
    username, path = objection
    page = browser.new_page(locale="zh-CN")
    _sign_in(page, server.url, username)
    _fill(page, server, path)
    before = _stored(committed_app)

    # The server takes less than the page said (a proxy's limit, a changed setting): its 413.
    committed_app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    page.set_input_files("#evidence", _pdf(tmp_path / "决定书.pdf", 200 * 1024))
    page.click("button.primary")
    alert = page.locator(".upload-alert .errors")
    alert.wait_for()
    said = alert.inner_text()
    assert "上传文件过大" in said and "64 KB" in said and "未保存" in said and "仍保留在表单中" in said
    assert page.evaluate("document.activeElement.closest('.upload-alert') !== null")
    assert page.url.endswith(path) and _stored(committed_app) == before
    assert page.input_value("#title") == TITLE and page.input_value("#statement") == STATEMENT
    assert _chosen(page) == ["决定书.pdf"]
    assert page.is_enabled("button.primary")

    # A file that is not what its name says: the form comes back with the server's message
    # beside it, what was typed, and the chosen file still chosen.
    committed_app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024
    (tmp_path / "假的.pdf").write_bytes(b"MZ\x90\x00 not really a pdf")
    page.set_input_files("#evidence", str(tmp_path / "假的.pdf"))
    page.click("button.primary")
    page.wait_for_selector(".errors >> text=不是PDF、JPG或PNG格式")
    assert page.url.endswith(path) and _stored(committed_app) == before
    assert page.input_value("#title") == TITLE and page.input_value("#statement") == STATEMENT
    assert _chosen(page) == ["假的.pdf"]

    # The kept form sends as it stands, with a file that is right.
    page.set_input_files("#evidence", _pdf(tmp_path / "决定书.pdf", 200 * 1024))
    page.click("button.primary")
    page.wait_for_url("**/cases/*")
    assert "决定书.pdf" in page.content() and _stored(committed_app) == (before[0] + 1, before[1] + 1)


def test_an_upload_shows_its_progress_and_ends_on_the_case(committed_app, server, objection, browser,  # noqa: F811
                                                           tmp_path):
    username, path = objection
    page = browser.new_page(locale="zh-CN")
    _sign_in(page, server.url, username)
    _fill(page, server, path)
    page.set_input_files("#evidence", _pdf(tmp_path / "复议决定书.pdf", 3 * 1024 * 1024))
    posts = len(server.posts)
    server.delay = 1.5
    page.click("button.primary")
    bar = page.get_by_label("上传进度")  # the progress bar has its label
    bar.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('form[data-upload] progress').value === 100")
    assert page.inner_text(".upload-live") == "已发送，等待处理结果……"
    assert page.get_attribute(".upload-live", "aria-live") == "polite"
    assert page.is_disabled("button.primary")  # no second submission while the first is on its way
    page.wait_for_url("**/cases/*")
    server.delay = 0
    assert len(server.posts) == posts + 1
    assert "已提交" in page.inner_text(".flash") and "复议决定书.pdf" in page.content()
    assert _stored(committed_app)[1] == 1

    # The case page the upload ended on works as if opened: a step with a file is sent once,
    # after one confirmation, with the pressed button's trigger.
    page.fill("#reason", "已与部门沟通，撤回申请。")
    page.set_input_files("#files", _pdf(tmp_path / "撤回说明.pdf", 4096))
    page.click("button[value=withdraw]")
    page.wait_for_selector("text=已撤回")
    assert len(page.dialogs) == 1 and len(server.posts) == posts + 2
    assert "撤回说明.pdf" in page.content() and _stored(committed_app)[1] == 2


def test_without_the_script_a_too_large_upload_says_the_limit(committed_app, server, objection, browser,  # noqa: F811
                                                              tmp_path):
    username, path = objection
    page = browser.new_page(locale="zh-CN", java_script_enabled=False)
    _sign_in(page, server.url, username)
    page.wait_for_url("**/portal/**")
    _fill(page, server, path)
    committed_app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    page.set_input_files("#evidence", _pdf(tmp_path / "决定书.pdf", 200 * 1024))
    page.click("button.primary")
    page.wait_for_selector("text=上传文件过大")
    assert "64 KB" in page.inner_text("main") and _stored(committed_app) == (0, 0)
    assert page.get_attribute("text=返回表单", "href") == path  # the page the form was sent from
    page.go_back()
    assert page.input_value("#statement") == STATEMENT  # the browser's Back keeps what was typed


def test_the_records_import_checks_the_type_shows_its_report_and_imports(committed_app, server, browser,  # noqa: F811
                                                                         tmp_path):
    """The other kind of upload form: CSV or XLSX; a refused file's report comes back on the page
    with the file still chosen; asked for as a download, the browser saves it (not the script)."""
    with committed_app.app_context():
        make_user(Role.DEPARTMENT, username="dept-import")
        db.session.commit()
        db.session.remove()
    header = "identifier,subject_name,category,severity,decision_number,decision_date,facts,sanction\n"
    bad, good, wrong = tmp_path / "有误.csv", tmp_path / "记录.csv", tmp_path / "记录.pdf"
    bad.write_text(header + "91350100M000100Y44,坏行公司,行政处罚信息,一般,沪页罚2号,2026-06-01,事实,罚款\n")
    good.write_text(header + f"{uscc()},页面导入公司,行政处罚信息,一般,沪页罚1号,2026-06-01,事实,罚款\n")
    wrong.write_bytes(PDF)
    page = browser.new_page(locale="zh-CN")
    _sign_in(page, server.url, "dept-import")
    page.wait_for_url("**/dept/**")
    page.goto(f"{server.url}/dept/records/import")
    assert "CSV或XLSX格式，不超过20 MB" in page.inner_text("#file-hint")
    posts = len(server.posts)

    page.set_input_files("#file", str(wrong))
    assert "不是CSV或XLSX文件" in page.inner_text("#file-upload-error")
    page.click("button.primary")
    page.wait_for_timeout(300)
    assert len(server.posts) == posts

    page.set_input_files("#file", str(bad))
    page.click("button.primary")
    page.wait_for_selector("text=未导入任何数据")
    assert _chosen(page, "#file") == ["有误.csv"] and len(server.posts) == posts + 1

    page.check("#report")
    with page.expect_download() as download:
        page.click("button.primary")
    assert download.value.suggested_filename == "import-errors.csv"
    assert "统一社会信用代码" in Path(download.value.path()).read_text(encoding="utf-8-sig")
    page.wait_for_selector(".upload-live >> text=import-errors.csv")
    assert page.is_enabled("button.primary") and _chosen(page, "#file") == ["有误.csv"]
    page.uncheck("#report")

    page.set_input_files("#file", str(good))
    page.click("button.primary")
    page.wait_for_selector("text=已导入1条失信信息")
    assert page.url.endswith("/dept/")


def test_without_the_script_a_refused_imports_report_is_a_page_with_the_file_to_save(
        committed_app, server, browser, tmp_path):  # noqa: F811
    """Asked for as a download, a report sent with a 422 would be Chromium's error page: without
    the script the page comes back instead, and its link saves the same report."""
    with committed_app.app_context():
        make_user(Role.DEPARTMENT, username="dept-noscript")
        db.session.commit()
        db.session.remove()
    bad = tmp_path / "有误.csv"
    bad.write_text("identifier,subject_name,category,severity,decision_number,decision_date,facts,sanction\n"
                   "91350100M000100Y44,坏行公司,行政处罚信息,一般,沪页罚2号,2026-06-01,事实,罚款\n")
    page = browser.new_page(locale="zh-CN", java_script_enabled=False)
    _sign_in(page, server.url, "dept-noscript")
    page.goto(f"{server.url}/dept/records/import")
    page.set_input_files("#file", str(bad))
    page.check("#report")
    page.click("button.primary")
    page.wait_for_selector("text=未导入任何数据")
    with page.expect_download() as download:
        page.click("text=保存此报告（CSV）")
    assert download.value.suggested_filename == "import-errors.csv"
    assert "统一社会信用代码" in Path(download.value.path()).read_text(encoding="utf-8-sig")
    page.close()


def test_a_form_token_that_expired_while_the_form_stood_open_is_renewed_and_the_files_sent(
        committed_app, server, objection, browser, tmp_path):  # noqa: F811
    """The refusal carries a new token: the script sends the form again with it, once, and the
    chosen files go with it (a reload, which the message asks for without script, loses them)."""
    username, path = objection
    page = browser.new_page(locale="zh-CN")
    _sign_in(page, server.url, username)
    _fill(page, server, path)
    page.set_input_files("#evidence", _pdf(tmp_path / "复议决定书.pdf", 4096))
    limit = committed_app.config["WTF_CSRF_TIME_LIMIT"]
    posts = len(server.posts)
    try:
        committed_app.config["WTF_CSRF_TIME_LIMIT"] = -1  # every token has expired: refused twice
        page.click("button.primary")
        page.wait_for_selector(".upload-alert >> text=表单已过期")
        assert len(server.posts) == posts + 2  # sent again once, then the refusal is shown
        assert _chosen(page) == ["复议决定书.pdf"] and _stored(committed_app) == (0, 0)

        committed_app.config["WTF_CSRF_TIME_LIMIT"] = 2
        time.sleep(3)  # the page's token is older than the limit; a new one is not
        page.click("button.primary")
        page.wait_for_url("**/cases/*")
    finally:
        committed_app.config["WTF_CSRF_TIME_LIMIT"] = limit
    assert len(server.posts) == posts + 4
    assert "复议决定书.pdf" in page.content() and _stored(committed_app) == (1, 1)
    page.close()
