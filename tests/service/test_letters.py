"""Letters (issue 15, item 1): each step that calls for a written notice issues a numbered PDF in
the transaction of the step, with the words the rules ask for, numbered per kind and year without
gaps, stored once with its SHA-256, and attached to the e-mail notice of the step."""
from __future__ import annotations

import hashlib
import io
import threading
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.policy import default

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app import clock, create_app
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import CaseEvent, Letter, LetterNumberCounter, Notification
from app.models.enums import CaseKind, Channel, Role, SubjectKind
from app.services import letters
from app.services.letters.numbering import next_seq
from app.services.notices.dispatch import dispatch_pending
from tests import smtp as smtp_server
from tests.conftest import MIGRATIONS
from tests.factories import (
    act,
    id_number,
    make_department,
    make_record,
    make_subject,
    make_user,
    repair_uploads,
    submit,
)
from workflows import CASE_WORKFLOWS, LetterKind

NOW = datetime(2026, 11, 10, 10, 0)  # a Tuesday


def pdf_text(data: bytes) -> str:
    """The letter's text without its line breaks and spaces (a line may break anywhere)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return "".join(text.split())


def letters_of(case) -> list[Letter]:
    return list(db.session.scalars(select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)))


@pytest.fixture
def w(db):
    with clock.frozen_clock(NOW) as frozen:
        department = make_department(name="上海市文书测试监督管理局")
        subject = make_subject(name="上海文书测试有限公司")
        yield type("World", (), {
            "frozen": frozen, "department": department, "subject": subject,
            "applicant": make_user(Role.APPLICANT, subject=subject),
            "officer": make_user(Role.OFFICER),
            "dept_user": make_user(Role.DEPARTMENT, department=department),
            "record": make_record(subject=subject, department=department, decision_date=date(2026, 6, 1),
                                  decision_number="沪文测罚〔2026〕00015号", sanction="罚款人民币五千元",
                                  sanction_kinds=["fine"]),
        })


def _replied(w, **reply):
    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    act(case, "accept", w.officer)
    act(case, "refer", w.officer)
    act(case, "reply", w.dept_user, "经核查", **reply)
    return case


def test_every_letter_a_workflow_declares_has_its_template_and_title(app):
    kinds = {t.letter.kind for w in CASE_WORKFLOWS.values() for t in w.transitions if t.letter}
    assert kinds == set(LetterKind)
    for kind in LetterKind:
        assert app.jinja_env.get_template(f"letters/{kind}.html")
        assert kind in letters.TITLES


def test_acceptance_letter_says_who_what_and_where_to_check_it(w):
    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    assert letters_of(case) == []  # a submission issues none
    act(case, "accept", w.officer, "材料齐全")
    [letter] = letters_of(case)
    assert (letter.kind, letter.number, letter.year, letter.seq) == ("acceptance", "信受〔2026〕第000001号", 2026, 1)
    assert letter.trigger == "accept" and letter.outcome is None and letter.case_version == case.version
    assert letter.issued_at == clock.now()
    text = pdf_text(letter.pdf)
    for expected in (
        "公共信用信息平台", "受理通知书", "信受〔2026〕第000001号",
        f"上海文书测试有限公司（统一社会信用代码：{w.subject.identifier}）",
        f"你（单位）于2026年11月10日提交的异议申请（案件编号：{case.number}），经审查，符合受理条件，本平台决定予以受理。",
        "沪文测罚〔2026〕00015号", "行政处罚信息", "上海市文书测试监督管理局", "2026年6月1日",
        "《征信业管理条例》第二十五条", "六十日内依法申请行政复议", "六个月内依法向人民法院提起行政诉讼",
        "2026年11月10日", "http://casedesk.test/letters/verify",
    ):
        assert expected in text, expected


def test_the_code_on_the_letter_is_the_one_whose_hash_is_kept(w):
    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    act(case, "accept", w.officer)
    [letter] = letters_of(case)
    text = pdf_text(letter.pdf)
    printed = text.split("http://casedesk.test/letters/verify并输入核验码")[1][:19]
    assert printed.count("-") == 3
    verified = letters.verify_code(printed)
    assert (verified.number, verified.issued_at, verified.result) == (letter.number, letter.issued_at, "Accepted")
    assert verified.title == "受理通知书"
    assert letters.verify_code(printed.lower().replace("-", " ")).number == letter.number  # however typed
    assert printed.replace("-", "") not in str(letter.code_hash)  # only its hash is stored
    tampered = printed[:-1] + ("A" if printed[-1] != "A" else "B")
    for wrong in (tampered, "", "not a code", printed + "A"):
        with pytest.raises(NotFound):
            letters.verify_code(wrong)


def test_a_natural_persons_number_is_masked_on_the_letter(w):
    number = id_number(birth="19800101")
    person = make_subject(SubjectKind.NATURAL, identifier=number, name="王测试")
    applicant = make_user(Role.APPLICANT, subject=person)
    record = make_record(subject=person, department=w.department)
    case = submit(applicant, CaseKind.OBJECTION, record)
    act(case, "accept", w.officer)
    text = pdf_text(letters_of(case)[0].pdf)
    assert f"王测试（居民身份证号码：{number[:6]}********{number[-4:]}）" in text
    assert number not in text


def test_non_acceptance_states_the_grounds(w):
    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    act(case, "not_accept", w.officer, "同一事项已经处理完毕，未提供新的事实和证据。")
    [letter] = letters_of(case)
    assert (letter.kind, letter.number) == ("non_acceptance", "信不受〔2026〕第000001号")
    text = pdf_text(letter.pdf)
    assert "不予受理告知书" in text and "不符合受理条件，本平台决定不予受理。" in text
    assert "不予受理的理由同一事项已经处理完毕，未提供新的事实和证据。" in text


def test_supplement_request_says_what_is_missing_and_by_when(w):
    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    act(case, "request_supplement", w.officer, "请补充提交处罚决定书复印件。")
    [letter] = letters_of(case)
    assert (letter.kind, letter.number) == ("supplement_request", "信补〔2026〕第000001号")
    text = pdf_text(letter.pdf)
    assert "补正材料通知书" in text and "请补充提交处罚决定书复印件。" in text
    # 10 working days from Tuesday 10 November 2026: Tuesday the 24th.
    assert "请于2026年11月24日前登录本平台提交补正材料。" in text


def test_a_correction_decision_carries_the_outcome_and_the_corrected_content(w):
    case = _replied(w, verification="corrected",
                    corrections={"sanction": "罚款人民币五万元", "sanction_kinds": ["fine", "confiscation"]})
    w.frozen.set(datetime(2026, 11, 12, 9, 0))
    act(case, "decide_correct", w.officer, "依认定单位核查意见更正处罚内容。")
    decision = letters_of(case)[-1]
    assert (decision.kind, decision.number, decision.outcome) == (
        "objection_decision", "信异决〔2026〕第000001号", "correct")
    text = pdf_text(decision.pdf)
    for expected in ("异议处理决定书", "现决定如下：异议成立，更正该条失信信息。", "依认定单位核查意见更正处罚内容。",
                     "更正后的内容惩戒措施罚款人民币五万元处罚种类罚款、没收违法所得", "2026年11月12日"):
        assert expected in text, expected
    assert "罚款人民币五千元" not in text  # the old content is not what the letter decides
    assert [lt.kind for lt in letters_of(case)] == ["acceptance", "objection_decision"]


@pytest.mark.parametrize(("trigger", "verification", "wording"), [
    ("decide_revoke", "revoke", "现决定如下：异议成立，撤销该条失信信息。"),
    ("decide_maintain", "correct", "现决定如下：异议不成立，维持该条失信信息。"),
    ("decide_unresolved", "correct", "现决定如下：事实无法查清，异议情况与该条失信信息一并记载。"),
])
def test_each_objection_outcome_has_its_wording(w, trigger, verification, wording):
    case = _replied(w, verification=verification)
    act(case, trigger, w.officer, "理由如下")
    decision = letters_of(case)[-1]
    assert decision.kind == "objection_decision" and decision.outcome == CASE_WORKFLOWS["objection"].find(
        "replied", trigger).outcome
    text = pdf_text(decision.pdf)
    assert wording in text and "更正后的内容" not in text


def test_repair_decisions_approved_and_refused(w):
    w.frozen.set(datetime(2026, 11, 10, 10, 0))
    old = make_record(subject=w.subject, department=w.department, decision_date=date(2025, 3, 1))
    case = submit(w.applicant, CaseKind.REPAIR, old, uploads=repair_uploads())
    act(case, "accept", w.officer)
    act(case, "approve", w.officer, "已履行义务并作出信用承诺。")
    approval = letters_of(case)[-1]
    assert (approval.kind, approval.number) == ("repair_approval", "信修决〔2026〕第000001号")
    text = pdf_text(approval.pdf)
    assert "信用修复决定书" in text and "符合信用修复条件，本平台决定予以信用修复。" in text
    assert "《信用修复管理办法》（国家发展和改革委员会令2025年第36号）" in text

    other = make_record(subject=w.subject, department=w.department, decision_date=date(2025, 3, 2))
    denied_case = submit(w.applicant, CaseKind.REPAIR, other, uploads=repair_uploads())
    act(denied_case, "accept", w.officer)
    act(denied_case, "deny", w.officer, "罚款尚未缴清。")
    refusal = letters_of(denied_case)[-1]
    assert (refusal.kind, refusal.number) == ("repair_refusal", "信不修〔2026〕第000001号")
    assert "不予修复决定书" in pdf_text(refusal.pdf) and "本平台决定不予修复。" in pdf_text(refusal.pdf)
    # Both acceptances draw from one sequence: the kind counts, not the workflow.
    assert [lt.number for lt in (letters_of(case)[0], letters_of(denied_case)[0])] == [
        "信受〔2026〕第000001号", "信受〔2026〕第000002号"]


def test_complaint_reply(w):
    case = submit(w.applicant, CaseKind.COMPLAINT, None, department_id=w.department.id)
    act(case, "accept", w.officer)
    act(case, "assign", w.officer, assignee_id=w.officer.id)
    act(case, "respond", w.officer, "已督促认定单位于3个工作日内答复。")
    reply = letters_of(case)[-1]
    assert (reply.kind, reply.number) == ("complaint_reply", "信投复〔2026〕第000001号")
    text = pdf_text(reply.pdf)
    assert "投诉答复书" in text and "已督促认定单位于3个工作日内答复。" in text
    assert "（投诉对象：上海市文书测试监督管理局）" in text
    assert "《市场监督管理投诉举报处理暂行办法》第十四条、第十五条" in text


def test_steps_without_a_letter_issue_none(w):
    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    act(case, "claim", w.officer, None)
    act(case, "accept", w.officer)
    act(case, "refer", w.officer)
    act(case, "reply", w.dept_user, "经核查无误", verification="correct")
    assert [lt.trigger for lt in letters_of(case)] == ["accept"]


def test_the_policy_may_give_its_own_legal_basis(w):
    from app.services.policy import get_policy

    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    policy = get_policy(case.policy_version)
    policy.body = {**policy.body, "letters": {"legal_basis": {"objection": "《某市社会信用条例》第二十条"}}}
    db.session.flush()
    act(case, "accept", w.officer)
    text = pdf_text(letters_of(case)[0].pdf)
    assert "《某市社会信用条例》第二十条" in text and "《征信业管理条例》第二十五条" not in text


def test_numbers_run_per_kind_and_restart_each_year(w):
    numbers = []
    # 16:30 UTC on 31 December is already 2027 in Shanghai: the platform's day decides the year.
    for day in (datetime(2026, 12, 31, 15, 0), datetime(2026, 12, 31, 15, 30),
                datetime(2026, 12, 31, 16, 30, tzinfo=UTC), datetime(2027, 1, 4, 9, 0)):
        w.frozen.set(day)
        record = make_record(subject=w.subject, department=w.department)
        case = submit(w.applicant, CaseKind.OBJECTION, record)
        act(case, "accept", w.officer)
        numbers.append(letters_of(case)[0].number)
    assert numbers == ["信受〔2026〕第000001号", "信受〔2026〕第000002号", "信受〔2027〕第000001号",
                       "信受〔2027〕第000002号"]
    counters = db.session.scalars(select(LetterNumberCounter).order_by(LetterNumberCounter.year)).all()
    assert [(c.kind, c.year, c.last) for c in counters] == [("acceptance", 2026, 2), ("acceptance", 2027, 2)]


def test_a_refused_step_issues_no_letter_and_uses_no_number(w):
    case = _replied(w, verification="correct")
    with pytest.raises(InvalidInput):
        act(case, "decide_correct", w.officer, "更正")  # nothing to correct: refused, rolled back
    assert [lt.kind for lt in letters_of(case)] == ["acceptance"]
    act(case, "decide_maintain", w.officer, "维持")
    assert letters_of(case)[-1].number == "信异决〔2026〕第000001号"


def test_the_stored_hash_is_the_hash_of_the_stored_bytes(w):
    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    act(case, "accept", w.officer)
    [letter] = letters_of(case)
    assert letter.pdf.startswith(b"%PDF-") and letter.size_bytes == len(letter.pdf)
    assert letter.sha256 == hashlib.sha256(letter.pdf).hexdigest()


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


def test_the_email_notice_of_the_step_attaches_its_letter(app, w):
    w.applicant.email = "applicant@example.test"
    with smtp_server.serving(app, _Inbox()) as inbox:
        case = submit(w.applicant, CaseKind.OBJECTION, w.record)
        act(case, "accept", w.officer)
        [letter] = letters_of(case)
        email = db.session.scalars(select(Notification).where(
            Notification.channel == Channel.EMAIL, Notification.template == "case_changed")).one()
        assert email.payload["letter"] == letter.id
        dispatch_pending()
    [message] = [m for m in inbox.messages if str(m["Subject"]).startswith("案件进展")]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "信受〔2026〕第000001号.pdf"
    assert attachment.get_payload(decode=True) == letter.pdf


# -- numbering under concurrency: real transactions, several connections ---------------------

@pytest.fixture
def numbering_app(throwaway_database, tmp_path):
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": throwaway_database, "UPLOAD_DIR": str(tmp_path)})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _in_thread(app, work, results, *, commit=True, started=None, release=None):
    def run():
        with app.app_context():
            try:
                results.append(work())
                if started is not None:
                    started.set()
                if release is not None:
                    release.wait(30)
                db.session.commit() if commit else db.session.rollback()
            finally:
                db.session.remove()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_concurrent_letters_get_distinct_numbers_without_gaps(numbering_app, is_postgres):
    if not is_postgres:
        pytest.skip("the claim is about concurrent PostgreSQL transactions; SQLite has one writer")
    results: list[int] = []
    threads = [_in_thread(numbering_app, lambda: next_seq(LetterKind.OBJECTION_DECISION, 2026), results)
               for _ in range(6)]
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [1, 2, 3, 4, 5, 6]


def test_a_second_transaction_waits_for_the_first_and_a_rollback_leaves_no_gap(numbering_app, is_postgres):
    if not is_postgres:
        pytest.skip("the claim is about concurrent PostgreSQL transactions; SQLite has one writer")
    first, second = [], []
    started, release = threading.Event(), threading.Event()
    holder = _in_thread(numbering_app, lambda: next_seq(LetterKind.ACCEPTANCE, 2026), first,
                        commit=False, started=started, release=release)
    assert started.wait(30)
    waiter = _in_thread(numbering_app, lambda: next_seq(LetterKind.ACCEPTANCE, 2026), second)
    waiter.join(1)
    assert waiter.is_alive() and second == []  # held by the first transaction's counter row
    release.set()  # the first rolls back: its number is given back
    holder.join(30)
    waiter.join(30)
    assert (first, second) == ([1], [1])
    with numbering_app.app_context():
        assert db.session.get(LetterNumberCounter, ("acceptance", 2026)).last == 1
        db.session.remove()


def test_the_event_reason_is_the_letters_reason(w):
    case = submit(w.applicant, CaseKind.OBJECTION, w.record)
    act(case, "not_accept", w.officer, "不属于异议受理范围。")
    event = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                       CaseEvent.trigger == "not_accept")).one()
    assert event.reason in pdf_text(letters_of(case)[0].pdf)
