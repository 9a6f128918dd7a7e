"""A job's last result, said in words: each field of each job's result has its phrase, and the
admin home's sentence is the one expected, in Chinese and in English, never JSON."""
from __future__ import annotations

import json
import typing
from dataclasses import fields, is_dataclass

import pytest
from flask_babel import force_locale

from app.labels import LABELS
from app.services.admin.jobs import JOBS
from app.web.admin.job_results import ResultText, describe_result


def _result_types() -> dict[str, type]:
    return {name: typing.get_type_hints(job.run)["return"] for name, job in JOBS.items()}


def test_every_job_has_a_title_and_every_title_a_job():
    assert set(LABELS["job"]) == set(JOBS)


def test_every_field_of_every_job_result_has_a_phrase_and_every_phrase_a_field():
    """A field added to a result (say ``PurgeResult.letters``) fails here until it has its phrase."""
    types = _result_types()
    assert all(is_dataclass(kind) for kind in types.values()), types
    named = {f"{name}.{f.name}" for name, kind in types.items() for f in fields(kind)}
    assert {"expire.retired", "sla.due_soon", "dispatch.sent", "purge.import_reports"} <= named  # the four, read
    assert sorted(named - set(LABELS["job_result"])) == []
    assert sorted(set(LABELS["job_result"]) - named) == []


def test_every_phrase_takes_the_value_once(app):
    with app.test_request_context(), force_locale("zh_CN"):
        for field, phrase in LABELS["job_result"].items():
            assert str(phrase).count("%(n)s") == 1, field


def test_each_job_returns_the_result_its_phrases_are_for(app, db):
    """The return annotations the phrases are checked against are the types the jobs return."""
    for name, kind in _result_types().items():
        assert type(JOBS[name].run()) is kind, name


EXPIRY = {"retired": 1234, "batches": 2, "departments_told": 0, "cases_closed": 3, "subjects_told": 12,
          "run_id": 4521, "record_ids": []}
PURGE = {"purged": 0, "batches": 0, "cases_erased": 0, "subjects_erased": 0, "files_deleted": 7,
         "orphan_files_deleted": 0, "sign_up_requests": 1, "sessions": 15000, "two_factor_challenges": 0,
         "sign_in_attempts": 0, "import_reports": 0}


@pytest.mark.parametrize(("locale", "job", "stored", "expected"), [
    ("zh_CN", "expire", EXPIRY,
     "已退出公示 1,234 条；分 2 批处理；已关闭案件 3 件；已提前告知主体即将退出公示 12 条；退出公示运行编号 4521"),
    ("en", "expire", EXPIRY,
     "Records retired: 1,234; Batches: 2; Cases closed: 3; Subjects told their record leaves soon: 12; "
     "Expiry run: no. 4521"),
    ("zh_CN", "sla", {"due_soon": 4, "breached": 1, "escalations": 1, "auto_transitions": 0},
     "期限临近提醒 4 条；已超期 1 个；升级督办 1 次"),
    ("zh_CN", "dispatch", {"claimed": 30, "sent": 28, "retrying": 1, "dead": 1, "messages": 20, "postponed": 0},
     "已领取通知 30 条；已发送通知 28 条；待重试 1 条；无法送达 1 条；共发出消息 20 封"),
    ("zh_CN", "purge", PURGE, "已删除文件 7 个；已删除注册申请 1 条；已删除过期会话 15,000 条"),
    ("en", "purge", PURGE, "Files deleted: 7; Sign-up requests removed: 1; Old sessions removed: 15,000"),
    ("zh_CN", "sla", {"due_soon": 0, "breached": 0}, "无需处理"),
    ("en", "sla", {"due_soon": 0, "breached": 0}, "Nothing to do"),
    # Fields no phrase knows (a result stored by another version, another job's field): their
    # name, made readable.
    ("zh_CN", "dispatch", {"sent": 2, "letters_issued": 5}, "已发送通知 2 条；Letters issued：5"),
    ("en", "sla", {"retired": 5}, "Retired: 5"),
    ("en", "import", {"rows": 1200}, "Rows: 1,200"),
    # Nested values by their size: a list by its items, counts by their total, other objects by entries.
    ("zh_CN", "expire", {"record_ids": [7, 8, 9]}, "保留记录编号 3 个"),
    ("en", "expire", {"queue": [1, 2]}, "Queue: 2 item(s)"),
    ("en", "dispatch", {"sent": {"email": 1200, "inbox": 34}}, "Notices sent: 1,234"),
    ("zh_CN", "dispatch", {"hosts": {"a.example": "open", "b.example": "shut"}}, "Hosts：2 条"),
    ("en", "purge", {"note": "x" * 100}, "Note: " + "x" * 79 + "…"),
    ("en", "purge", {"renamed": True, "dropped": False, "nothing": None}, "Renamed: yes"),
    ("zh_CN", "purge", 17, "17"),  # a job returning a bare count
])
def test_a_stored_result_reads_as_a_sentence(app, locale, job, stored, expected):
    with app.test_request_context(), force_locale(locale):
        assert describe_result(job, json.dumps(stored)) == ResultText(expected)


@pytest.mark.parametrize("stored", ['{"retired": 12, "batches": 1, "record_ids": [1, 2, 3, 4', "retired=12", "[1, 2"])
def test_a_stored_value_that_is_no_json_is_shown_as_it_is(app, stored):
    """The store cuts a result at 2,000 characters; what cannot be read is shown, not guessed at."""
    with app.test_request_context(), force_locale("zh_CN"):
        assert describe_result("expire", stored) == ResultText(stored, stored_as_is=True)


def test_a_job_that_never_finished_has_no_result(app):
    with app.test_request_context():
        assert describe_result("expire", None) is None and describe_result("expire", "") is None
