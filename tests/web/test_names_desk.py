"""The officers' side of subject names (issue 12): the binding page puts the names side by side,
the names list lets an officer decide which stands, and the policy draft sets the identity
check's length."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from app import clock, identifiers
from app.models import AdminAudit, Policy, SubjectNameMismatch
from app.models.enums import BindingCapacity, BindingDocumentKind, Role, SubjectKind, SubjectNameSource
from app.services.binding import Upload, send_documents, with_identity_check
from app.services.policy import get_policy_in_force
from app.services.records import NewRecord, enter_record
from tests.factories import PDF, id_number, make_department, make_subject, make_user
from tests.web.helpers import csrf_token, sign_in, text

TODAY = datetime(2026, 11, 25, 10, 0)


def _flag(subject, given: str, number: str = "名页罚1号"):
    """A department's record naming ``subject`` otherwise: one open mismatch."""
    department = make_department(name="市场监管测试局")
    entry = NewRecord(identifier=identifiers.validate(subject.identifier), subject_name=given,
                      category="administrative_penalty", severity="general", decision_number=number,
                      decision_date=date(2026, 6, 1), facts="事实", sanction="罚款", sanction_kinds=("fine",))
    enter_record(department, entry, make_user(Role.DEPARTMENT, department=department))
    return subject, department


def _resolve(client, mismatch_id, **data):
    token = csrf_token(client, "/desk/names")
    return client.post(f"/desk/names/{mismatch_id}/resolve", data={"csrf_token": token, **data})


def test_the_names_list_shows_both_names_masked_and_in_chinese(client, db):
    with clock.frozen_clock(TODAY):
        person = make_subject(SubjectKind.NATURAL, identifier=id_number(birth="19800101"), name="张三")
        _flag(person, "张叁")
        sign_in(client, make_user(Role.OFFICER).username)
        assert "/desk/names" in text(client.get("/desk/"))  # in the desk's navigation
        page = client.get("/desk/names")
    assert page.status_code == 200
    body = text(page)
    assert "需确认的名称" in body
    assert "张三" in body and "张叁" in body
    assert person.identifier not in body and identifiers.mask(person.identifier, "natural") in body
    assert "部门失信信息" in body and "市场监管测试局" in body  # origin and the department
    assert "名页罚1号" in body  # the record that gave the name
    assert "部门提供的信息" in body  # the platform name's source


def test_an_officer_takes_the_given_name_once(client, db):
    with clock.frozen_clock(TODAY):
        subject, _dept = _flag(make_subject(name="平台上的名称公司"), "文书上的名称公司")
        flag = db.session.scalars(select(SubjectNameMismatch)).one()
        officer = make_user(Role.OFFICER)
        sign_in(client, officer.username)
        done = _resolve(client, flag.id, keep="given", reason="以营业执照为准", seen="平台上的名称公司")
        assert done.status_code == 302 and done.headers["Location"].endswith("/desk/names")
        db.session.refresh(subject)
        assert (subject.name, subject.name_source) == ("文书上的名称公司", SubjectNameSource.VERIFIED)
        assert db.session.scalars(select(AdminAudit.actor_id)).all() == [officer.id]
        assert "文书上的名称公司" not in text(client.get("/desk/names"))  # off the list
        again = _resolve(client, flag.id, keep="known", reason="改主意", seen="文书上的名称公司")
        assert again.status_code == 409
        db.session.refresh(subject)
        assert subject.name == "文书上的名称公司"


def test_bad_input_is_a_4xx_with_a_message_and_changes_nothing(client, db):
    with clock.frozen_clock(TODAY):
        subject, _dept = _flag(make_subject(name="原名公司"), "他名公司")
        flag = db.session.scalars(select(SubjectNameMismatch)).one()
        sign_in(client, make_user(Role.OFFICER).username)
        no_reason = _resolve(client, flag.id, keep="given", reason="", seen="原名公司")
        assert no_reason.status_code == 422 and "请填写理由" in text(no_reason)
        assert f'id="reason-{flag.id}-errors"' in text(no_reason)
        spaces = _resolve(client, flag.id, keep="given", reason="  ", seen="原名公司")
        assert spaces.status_code == 422 and "不能只填空格" in text(spaces)
        no_choice = _resolve(client, flag.id, reason="理由", seen="原名公司")
        assert no_choice.status_code == 422 and "请选择保留哪个名称" in text(no_choice)
        assert _resolve(client, flag.id, keep="both", reason="理由", seen="原名公司").status_code == 422
        assert _resolve(client, 987654, keep="given", reason="理由").status_code == 404
        stale = _resolve(client, flag.id, keep="given", reason="理由", seen="别人看到的旧名")
        assert stale.status_code == 409
        assert client.post(f"/desk/names/{flag.id}/resolve", data={"keep": "given", "reason": "理由"}).status_code == 400
    db.session.refresh(subject)
    db.session.refresh(flag)
    assert subject.name == "原名公司" and flag.resolved_at is None
    assert db.session.scalar(select(AdminAudit)) is None


def test_departments_and_applicants_neither_see_nor_decide_names(app, client, db):
    with clock.frozen_clock(TODAY):
        _flag(make_subject(name="甲公司"), "乙公司")
        flag = db.session.scalars(select(SubjectNameMismatch)).one()
        for role, home in ((Role.DEPARTMENT, "/dept/"), (Role.APPLICANT, "/portal/"), (Role.ADMIN, "/admin/")):
            own = app.test_client()
            sign_in(own, make_user(role).username)
            assert own.get("/desk/names").status_code == 403, role
            token = csrf_token(own, home)  # the sign-out form's
            assert own.post(f"/desk/names/{flag.id}/resolve",
                            data={"csrf_token": token, "keep": "given", "reason": "理由"}).status_code == 403, role
    db.session.refresh(flag)
    assert flag.resolved_at is None


# --- the officer's binding page ---------------------------------------------------------------

def _binding_page(client, db, subject, claimed_name):
    account = make_user(Role.APPLICANT, subject=subject, verified=False)
    binding = send_documents(account, BindingCapacity.LEGAL_REPRESENTATIVE, [
        Upload(BindingDocumentKind.BUSINESS_LICENCE, "licence.pdf", PDF),
        Upload(BindingDocumentKind.IDENTITY_CARD, "id.pdf", PDF)])
    binding.claimed_name = claimed_name  # what the account holder typed at sign-up
    db.session.commit()
    sign_in(client, make_user(Role.OFFICER).username)
    return text(client.get(f"/desk/bindings/{binding.id}"))


def test_the_binding_page_puts_the_names_side_by_side_and_warns_when_they_differ(client, db):
    page = _binding_page(client, db, make_subject(name="部门登记的公司"), "账户填写的公司")
    assert "部门登记的公司" in page and "账户填写的公司" in page and "部门提供的信息" in page
    assert 'id="name-warning"' in page and "与平台名称不一致" in page


def test_the_binding_page_does_not_warn_when_the_names_agree(client, db):
    page = _binding_page(client, db, make_subject(name="同名公司", name_source=SubjectNameSource.CLAIMED), "同名公司")
    assert 'id="name-warning"' not in page
    assert "注册时自行填写，未经核验" in page  # the claimed source is said plainly


# --- the identity check's length in the policy draft ----------------------------------------------

def _draft(client, **changes):
    body = with_identity_check(get_policy_in_force().body)
    data = {"csrf_token": csrf_token(client, "/admin/policy/new"), "effective_from": "2026-12-01", "note": "核验时限",
            "due_soon_wd": "1", "publication_wd": "7", "retention": "5y"}
    for name, rule in body["record_classes"].items():
        data.update({f"class.{name}.shortest_publicity": rule["shortest_publicity"],
                     f"class.{name}.publicity": rule["publicity"]})
        data.update({f"class.{name}.{flag}": "on" for flag in ("published", "repairable") if rule[flag]})
    for workflow, clocks in body["sla"].items():
        for name, spec in clocks.items():
            unit = "wd" if "wd" in spec else "cd"
            data[f"sla.{workflow}.{name}.length"] = str(spec[unit])
            data[f"sla.{workflow}.{name}.unit"] = unit
            if "extension" in spec:
                data[f"sla.{workflow}.{name}.extension"] = str(spec["extension"])
    return {**data, **changes}


def test_the_policy_draft_edits_the_identity_check(client, db):
    with clock.frozen_clock(TODAY):
        sign_in(client, make_user(Role.ADMIN).username)
        form = text(client.get("/admin/policy/new"))
        assert 'name="sla.binding.identity_check.length" value="2"' in form  # the default, written out
        assert "主体认证" in form and "身份核验" in form
        bad = client.post("/admin/policy/new", data=_draft(client, action="save", **{
            "sla.binding.identity_check.length": "0"}))
        assert bad.status_code == 422
        assert 'id="sla.binding.identity_check.length-errors"' in text(bad)
        assert "请填写 1 至 3650 之间的整数" in text(bad)
        assert client.post("/admin/policy/new", data=_draft(client, action="save", **{
            "sla.binding.identity_check.unit": "hours"})).status_code == 422
        assert db.session.scalar(select(Policy).where(Policy.version > 1)) is None
        saved = client.post("/admin/policy/new", data=_draft(client, action="save", **{
            "sla.binding.identity_check.length": "3", "sla.binding.identity_check.unit": "cd"}))
        assert saved.status_code == 302
    body = db.session.scalar(select(Policy).where(Policy.version == 2)).body
    assert body["sla"]["binding"]["identity_check"] == {"cd": 3}
    assert body["sla"]["repair"] == get_policy_in_force().body["sla"]["repair"]  # the others carried over
