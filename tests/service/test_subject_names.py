"""Whose word a subject's name is (issue 12): a name claimed at sign-up gives way to a
department's or a verified one and never reaches the public; a department's or a verified name
that differs from one the platform holds on good authority is kept beside it, flagged once for
an officer, who decides (audited)."""
from __future__ import annotations

import csv
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app import clock, identifiers
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db as _db
from app.models import AdminAudit, CreditRecord, Notification, SubjectNameMismatch
from app.models.enums import (
    BindingCapacity,
    BindingDocumentKind,
    NameMismatchOrigin,
    Role,
    SubjectKind,
    SubjectNameSource,
)
from app.services.accounts.subjects import public_name
from app.services.binding import (
    Upload,
    decide_binding,
    list_open_name_mismatches,
    remind_identity_checks,
    resolve_name_mismatch,
    send_documents,
)
from app.services.policy import create_version, get_policy_in_force
from app.services.records import NewRecord, enter_record, import_records, push_records
from tests.factories import PDF, make_department, make_subject, make_user, uscc
from workflows import BindingTrigger

LICENCE = Upload(BindingDocumentKind.BUSINESS_LICENCE, "licence.pdf", PDF)
ID_CARD = Upload(BindingDocumentKind.IDENTITY_CARD, "id.pdf", PDF)
_numbers = iter(range(1, 10_000))


def _claimed(name: str = "抢注的名称", **kw):
    return make_subject(name=name, name_source=SubjectNameSource.CLAIMED, **kw)


def _enter(subject, name: str, department=None):
    department = department or make_department()
    entry = NewRecord(identifier=identifiers.validate(subject.identifier), subject_name=name,
                      category="administrative_penalty", severity="general",
                      decision_number=f"名罚〔2026〕{next(_numbers)}号", decision_date=date(2026, 6, 1),
                      facts="事实", sanction="罚款", sanction_kinds=("fine",))
    return enter_record(department, entry, make_user(Role.DEPARTMENT, department=department))


def _open_flags(db, subject) -> list[SubjectNameMismatch]:
    return list(db.session.scalars(select(SubjectNameMismatch).where(
        SubjectNameMismatch.subject_id == subject.id, SubjectNameMismatch.resolved_at.is_(None))
        .order_by(SubjectNameMismatch.id)))


# --- a record entered by hand --------------------------------------------------------------

def test_a_department_record_renames_a_subject_only_claimed(db, frozen):
    subject = _claimed()
    assert public_name(subject) is None  # a claim never reaches the public
    _enter(subject, " 真实有限公司 ")
    assert (subject.name, subject.name_source) == ("真实有限公司", SubjectNameSource.DEPARTMENT)
    assert public_name(subject) == "真实有限公司"
    assert _open_flags(db, subject) == []


def test_a_department_named_subject_keeps_its_name_and_one_flag_per_other_name(db, frozen):
    subject = make_subject(name="原有名称有限公司")
    department = make_department()
    first = _enter(subject, "另一名称有限公司", department)
    assert subject.name == "原有名称有限公司" and subject.name_source == SubjectNameSource.DEPARTMENT
    [flag] = _open_flags(db, subject)
    assert (flag.known_name, flag.given_name, flag.origin) == ("原有名称有限公司", "另一名称有限公司",
                                                              NameMismatchOrigin.DEPARTMENT)
    assert (flag.department_id, flag.record_id) == (department.id, first.id)
    _enter(subject, "另一名称有限公司")  # the same other name again: no second open flag
    _enter(subject, "原有名称有限公司")  # the platform's own name: nothing to flag
    assert len(_open_flags(db, subject)) == 1
    _enter(subject, "第三个名称有限公司")
    assert [f.given_name for f in _open_flags(db, subject)] == ["另一名称有限公司", "第三个名称有限公司"]


# --- the import file and the API push (one set-based path) ----------------------------------

HEADER = ["identifier", "subject_name", "category", "severity", "decision_number", "decision_date", "facts",
          "sanction", "sanction_kinds", "sector"]


def _csv(tmp_path, rows, name="records.csv"):
    path = tmp_path / name
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for identifier, subject_name in rows:
            writer.writerow([identifier, subject_name, "行政处罚信息", "一般", f"导名罚〔2026〕{next(_numbers)}号",
                             "2026-06-01", "事实", "罚款", "fine", ""])
    return path


def test_an_import_renames_a_claimed_subject_and_flags_another_name_once(db, tmp_path, frozen):
    claimed = _claimed()
    known = make_subject(name="部门登记名称公司")
    department = make_department()
    rows = [(claimed.identifier, "导入的真实名称"), (known.identifier, "导入的另一名称"),
            (known.identifier, "导入的另一名称"), (known.identifier, "部门登记名称公司")]
    report = import_records(_csv(tmp_path, rows), department)
    assert report.ok and report.imported == 4
    db.session.refresh(claimed)
    db.session.refresh(known)
    assert (claimed.name, claimed.name_source) == ("导入的真实名称", SubjectNameSource.DEPARTMENT)
    assert public_name(claimed) == "导入的真实名称" and _open_flags(db, claimed) == []
    assert known.name == "部门登记名称公司"
    [flag] = _open_flags(db, known)
    assert (flag.known_name, flag.given_name, flag.department_id) == ("部门登记名称公司", "导入的另一名称",
                                                                     department.id)
    record = db.session.get(CreditRecord, flag.record_id)
    assert record.subject_id == known.id and record.department_id == department.id

    again = import_records(_csv(tmp_path, [(known.identifier, "导入的另一名称")], "again.csv"), department)
    assert again.ok and len(_open_flags(db, known)) == 1  # still open: not raised twice


def test_the_api_push_takes_the_same_path(db, frozen):
    claimed = _claimed()
    known = make_subject(name="接口登记名称公司")
    department = make_department()

    def item(identifier, name):
        return {"identifier": identifier, "subject_name": name, "category": "administrative_penalty",
                "severity": "general", "decision_number": f"接名罚{next(_numbers)}号", "decision_date": "2026-06-01",
                "facts": "事实", "sanction": "罚款"}

    result = push_records(department, [item(claimed.identifier, "接口真实名称"), item(known.identifier, "接口另一名称")])
    assert result.created == 2
    db.session.refresh(claimed)
    assert (claimed.name, claimed.name_source) == ("接口真实名称", SubjectNameSource.DEPARTMENT)
    assert [(f.given_name, f.origin) for f in _open_flags(db, known)] == [("接口另一名称", NameMismatchOrigin.DEPARTMENT)]


def test_a_new_subject_from_a_record_is_named_by_the_department(db, frozen):
    department = make_department()
    identifier = uscc()
    report = push_records(department, [{
        "identifier": identifier, "subject_name": "全新公司", "category": "administrative_penalty",
        "severity": "general", "decision_number": "新主体罚1号", "decision_date": "2026-06-01", "facts": "事实",
        "sanction": "罚款"}])
    assert report.created == 1
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.decision_number == "新主体罚1号"))
    assert record.subject.name_source == SubjectNameSource.DEPARTMENT and public_name(record.subject) == "全新公司"


# --- the officer's verification ------------------------------------------------------------

def _waiting_binding(subject, claimed_name=None):
    account = make_user(Role.APPLICANT, subject=subject, verified=False)
    binding = send_documents(account, BindingCapacity.LEGAL_REPRESENTATIVE, [LICENCE, ID_CARD])
    if claimed_name is not None:  # what the account holder typed at sign-up
        binding.claimed_name = claimed_name
        _db.session.commit()
    return binding


def test_verifying_a_claimed_subject_makes_the_claimed_name_the_checked_one(db):
    subject = _claimed("核验通过有限公司")
    binding = _waiting_binding(subject)
    assert public_name(subject) is None
    decide_binding(make_user(Role.OFFICER), binding.id, BindingTrigger.VERIFY, None, binding.version)
    assert (subject.name, subject.name_source) == ("核验通过有限公司", SubjectNameSource.VERIFIED)
    assert public_name(subject) == "核验通过有限公司" and _open_flags(db, subject) == []


def test_verifying_a_different_name_keeps_the_departments_and_flags_it(db):
    subject = make_subject(name="部门的名称有限公司")
    binding = _waiting_binding(subject, claimed_name="账户给的名称有限公司")
    officer = make_user(Role.OFFICER)
    decide_binding(officer, binding.id, BindingTrigger.VERIFY, None, binding.version)
    assert (subject.name, subject.name_source) == ("部门的名称有限公司", SubjectNameSource.DEPARTMENT)
    [flag] = _open_flags(db, subject)
    assert (flag.given_name, flag.origin, flag.record_id) == ("账户给的名称有限公司", NameMismatchOrigin.OFFICER, None)


def test_a_refusal_touches_no_name(db):
    subject = _claimed("被拒绝的名称")
    binding = _waiting_binding(subject)
    decide_binding(make_user(Role.OFFICER), binding.id, BindingTrigger.REFUSE, "证照不清晰", binding.version)
    assert subject.name_source == SubjectNameSource.CLAIMED and public_name(subject) is None


# --- the officer decides -------------------------------------------------------------------

def _flagged(name="平台名称有限公司", given="另给名称有限公司"):
    subject = make_subject(name=name)
    _enter(subject, given)
    return subject, list_open_name_mismatches()[-1].mismatch


def test_keeping_the_known_name_verifies_it_and_is_audited(db, frozen):
    subject, flag = _flagged()
    officer = make_user(Role.OFFICER)
    resolve_name_mismatch(officer, flag.id, "known", "营业执照载明的名称", expected_name="平台名称有限公司")
    assert (subject.name, subject.name_source) == ("平台名称有限公司", SubjectNameSource.VERIFIED)
    assert flag.resolved_at is not None and flag.resolved_by_id == officer.id
    assert (flag.kept_name, flag.resolution) == ("平台名称有限公司", "营业执照载明的名称")
    audit = db.session.scalars(select(AdminAudit).where(AdminAudit.object_type == "subject")).one()
    assert (audit.actor_id, audit.object_id, audit.action) == (officer.id, subject.id, "subject.name_resolve")
    assert audit.before == {"name": "平台名称有限公司", "name_source": "department"}
    assert audit.after["name"] == "平台名称有限公司" and audit.after["kept"] == "known"


def test_taking_the_given_name_resolves_every_open_flag_with_that_name(db, frozen):
    subject, flag = _flagged()
    binding = _waiting_binding(subject, claimed_name="另给名称有限公司")  # the same name, from a verification
    decide_binding(make_user(Role.OFFICER), binding.id, BindingTrigger.VERIFY, None, binding.version)
    _enter(subject, "第三名称有限公司")  # another name stays open
    assert len(_open_flags(db, subject)) == 3
    resolve_name_mismatch(make_user(Role.SUPERVISOR), flag.id, "given", "以营业执照为准")
    assert (subject.name, subject.name_source) == ("另给名称有限公司", SubjectNameSource.VERIFIED)
    assert [f.given_name for f in _open_flags(db, subject)] == ["第三名称有限公司"]
    audit = db.session.scalars(select(AdminAudit).where(AdminAudit.object_type == "subject")).one()
    assert audit.before["name"] == "平台名称有限公司" and audit.after["name"] == "另给名称有限公司"
    assert len(audit.after["mismatches"]) == 2


def test_a_resolution_needs_an_officer_a_choice_and_a_reason_and_happens_once(db, frozen):
    subject, flag = _flagged()
    officer, department_user = make_user(Role.OFFICER), make_user(Role.DEPARTMENT)
    db.session.commit()  # a refusal rolls the use case back, not the test's data
    with pytest.raises(Forbidden):
        resolve_name_mismatch(department_user, flag.id, "given", "理由")
    with pytest.raises(InvalidInput):
        resolve_name_mismatch(officer, flag.id, "given", "   ")
    with pytest.raises(InvalidInput):
        resolve_name_mismatch(officer, flag.id, "both", "理由")
    with pytest.raises(NotFound):
        resolve_name_mismatch(officer, 987654, "given", "理由")
    with pytest.raises(Conflict):  # the officer saw another platform name
        resolve_name_mismatch(officer, flag.id, "given", "理由", expected_name="旧的名称")
    assert subject.name == "平台名称有限公司" and flag.resolved_at is None
    resolve_name_mismatch(officer, flag.id, "given", "理由")
    with pytest.raises(Conflict):
        resolve_name_mismatch(officer, flag.id, "known", "改主意了")
    assert subject.name == "另给名称有限公司"
    assert db.session.scalar(select(func.count()).select_from(AdminAudit)) == 1


def test_the_list_is_oldest_first_and_leaves_out_resolved_ones(db):
    with clock.frozen_clock(datetime(2026, 11, 20, 10, 0)):
        older, older_flag = _flagged("较早平台名称", "较早另给名称")
    with clock.frozen_clock(datetime(2026, 11, 24, 10, 0)):
        newer, newer_flag = _flagged("较晚平台名称", "较晚另给名称")
    ids = [row.mismatch.id for row in list_open_name_mismatches()]
    assert ids.index(older_flag.id) < ids.index(newer_flag.id)
    row = next(r for r in list_open_name_mismatches() if r.mismatch.id == newer_flag.id)
    assert row.record is not None and row.record.id == newer_flag.record_id and row.subject is newer
    with clock.frozen_clock(datetime(2026, 11, 25, 10, 0)):
        resolve_name_mismatch(make_user(Role.OFFICER), older_flag.id, "known", "理由")
    assert older_flag.id not in [row.mismatch.id for row in list_open_name_mismatches()]


# --- escalation of an overdue identity check --------------------------------------------------

def _to(db, template):
    return list(db.session.execute(select(Notification.recipient_user_id, Notification.key).where(
        Notification.template == template)))


def test_an_overdue_identity_check_is_escalated_once_per_deadline_to_active_supervisors(db):
    supervisor = make_user(Role.SUPERVISOR)
    make_user(Role.SUPERVISOR, is_active=False)
    make_user(Role.OFFICER)
    person = make_user(Role.APPLICANT, subject=make_subject(SubjectKind.NATURAL), verified=False)
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):  # a Tuesday: due by the end of Thursday 12th
        binding = send_documents(person, BindingCapacity.SELF, [ID_CARD])
    with clock.frozen_clock(datetime(2026, 11, 12, 23, 0)):  # not yet past: the last hour of the day
        remind_identity_checks()
        assert _to(db, "binding_overdue") == []
    with clock.frozen_clock(datetime(2026, 11, 13, 9, 0)):
        remind_identity_checks()
        remind_identity_checks()  # a second run writes nothing new
    escalations = _to(db, "binding_overdue")
    assert [user_id for user_id, _key in escalations] == [supervisor.id]
    assert binding.due_at.isoformat() in escalations[0][1]

    # Refused and sent again: a new deadline, escalated anew when it passes.
    with clock.frozen_clock(datetime(2026, 11, 13, 10, 0)):
        decide_binding(make_user(Role.OFFICER), binding.id, BindingTrigger.REFUSE, "看不清", binding.version)
        send_documents(person, BindingCapacity.SELF, [])
    with clock.frozen_clock(datetime(2026, 11, 20, 9, 0)):
        remind_identity_checks()
    assert len(_to(db, "binding_overdue")) == 2


def test_a_checked_binding_is_not_escalated(db):
    make_user(Role.SUPERVISOR)
    person = make_user(Role.APPLICANT, subject=make_subject(SubjectKind.NATURAL), verified=False)
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):
        binding = send_documents(person, BindingCapacity.SELF, [ID_CARD])
        decide_binding(make_user(Role.OFFICER), binding.id, BindingTrigger.VERIFY, None, binding.version)
    with clock.frozen_clock(datetime(2026, 11, 20, 9, 0)):
        remind_identity_checks()
    assert _to(db, "binding_overdue") == []


def test_the_policy_sets_the_identity_checks_length(db):
    person = make_user(Role.APPLICANT, subject=make_subject(SubjectKind.NATURAL), verified=False)
    with clock.frozen_clock(datetime(2026, 11, 9, 10, 0)):  # a Monday
        body = get_policy_in_force().body
        create_version(make_user(Role.ADMIN), {**body, "sla": {**body["sla"], "binding": {"identity_check": {"wd": 5}}}},
                       clock.today(), "身份核验五个工作日")
        binding = send_documents(person, BindingCapacity.SELF, [ID_CARD])
    assert clock.local(binding.due_at).date() == date(2026, 11, 16)  # five working days, not the default two
