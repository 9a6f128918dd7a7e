"""Personal data that really goes (issue 13, item 7).

After the purge no name, identity number, phone number, e-mail address, statement or file of a
subject whose retention ended is left anywhere: every text and JSON column of every table is
read back, and the stored files are looked for on disk. The trail stays: the same events, with
the same triggers, states, actors and times, replay through the workflows, and the audit tables
still refuse every UPDATE.
"""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from app import clock, create_app
from app.extensions import db as _db
from app.models import (
    AdminAudit,
    Attachment,
    BindingDocument,
    BindingEvent,
    Case,
    CaseEvent,
    Notification,
    PersonalData,
    RecordEvent,
    SignInAttempt,
    Subject,
    SubjectBinding,
    SubjectNameMismatch,
    User,
)
from app.models.base import UTCDateTime
from app.models.enums import (
    AttachmentPurpose,
    BindingCapacity,
    BindingDocumentKind,
    CaseKind,
    Channel,
    NameMismatchOrigin,
    Role,
    SubjectKind,
)
from app.models.personal import ERASED
from app.services.accounts import set_active
from app.services.admin.audit_log import AuditFilter, ObjectRef, export_audit_csv, search_audit
from app.services.admin.jobs import run_job
from app.services.binding import (
    decide_binding,
    end_binding,
    remind_identity_checks,
    resolve_name_mismatch,
    send_documents,
)
from app.services.cases import get_case_page
from app.services.cases.files import Upload, blob_path
from app.services.notices.outbox import enqueue
from app.services.records.retention import purge_expired_personal_data
from tests.conftest import MIGRATIONS
from tests.factories import act, id_number, make_department, make_record, make_subject, make_user, submit
from tests.web.helpers import csrf_token, sign_in, text
from workflows import BINDING, CASE_WORKFLOWS, BindingTrigger

NAME = "欧阳清扬"
PHONE = "13912345678"
EMAIL = "ouyang.qingyang@example.cn"
STATEMENT = f"我叫{NAME}，电话{PHONE}，该处罚记录的当事人不是我。"
START = datetime(2026, 5, 11, 10, 0)  # a Monday
PURGE_DAY = datetime(2032, 6, 1, 3, 0)  # more than five years after everything below ended


def _pdf(marker: str) -> bytes:
    """A PDF of its own (identical files share storage): the marker makes the bytes unique."""
    return f"%PDF-1.4\n% {marker}\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".encode()


def _jpeg(marker: str) -> bytes:
    return b"\xff\xd8\xff\xe0" + marker.encode() + b"\xff\xd9"


def _cells(value) -> list[str]:
    """A cell as the texts to look in: as stored, and JSON with its \\u escapes read."""
    if value is None:
        return []
    if isinstance(value, bytes | memoryview):
        return [bytes(value).decode("utf-8", "replace")]
    if isinstance(value, dict | list):
        return [json.dumps(value, ensure_ascii=False, default=str)]
    text = str(value)
    try:
        return [text, json.dumps(json.loads(text), ensure_ascii=False)]
    except ValueError:
        return [text]


def _found_in_database(needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every needle in any column of any row of any table."""
    connection = _db.session.connection()
    found = []
    for table in sa.inspect(connection).get_table_names():
        result = connection.exec_driver_sql(f'SELECT * FROM "{table}"')
        columns = list(result.keys())
        for row in result:
            for column, value in zip(columns, row, strict=True):
                for cell in _cells(value):
                    found += [(table, column, n) for n in needles if n in cell]
    return sorted(set(found))


def _trail(case: Case, record, binding) -> dict:
    """What the trail must keep: each event's who, when, what and states; each audit row."""
    def events(model, key, value):
        return [(e.seq, e.trigger, e.from_state, e.to_state, e.actor_id, e.at) for e in _db.session.scalars(
            select(model).where(key == value).order_by(model.seq))]
    return {
        "case": events(CaseEvent, CaseEvent.case_id, case.id),
        "record": events(RecordEvent, RecordEvent.record_id, record.id),
        "binding": events(BindingEvent, BindingEvent.binding_id, binding.id),
        "audit": [(a.id, a.at, a.actor_id, a.action, a.object_type, a.object_id)
                  for a in _db.session.scalars(select(AdminAudit).order_by(AdminAudit.id))],
    }


def _replays(case: Case) -> bool:
    """The case's events walked through its workflow land on the case's state."""
    workflow, state = CASE_WORKFLOWS[case.kind], None
    for event in _db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)):
        if event.trigger == "submit":
            state = workflow.initial
        else:
            taken = workflow.find(state, event.trigger)
            assert taken is not None, (state, event.trigger)
            state = taken.dest if taken.dest != "=" else state
        assert event.to_state == state
    return state == case.state


@pytest.fixture
def story(db):
    """A natural person with a record, a verified binding with an identity card, an objection
    with a statement, evidence and a supplement, a department's correction, a decided name
    difference and a deactivated account; the record retired in 2027."""
    with clock.frozen_clock(START) as frozen:
        identifier = id_number()
        department = make_department()
        subject = make_subject(SubjectKind.NATURAL, identifier=identifier, name=NAME)
        officer, admin = make_user(Role.OFFICER), make_user(Role.ADMIN)
        dept_user = make_user(Role.DEPARTMENT, department=department)
        applicant = make_user(Role.APPLICANT, subject=subject, verified=False, username=EMAIL, email=EMAIL,
                              display_name=NAME)
        facts = f"当事人{NAME}（公民身份号码{identifier}，联系电话{PHONE}）未按规定办理备案。"
        record = make_record(subject=subject, department=department, decision_date=date(2026, 4, 15), facts=facts)

        binding = send_documents(applicant, BindingCapacity.SELF, [
            Upload(BindingDocumentKind.IDENTITY_CARD, f"{NAME}身份证.jpg", _jpeg(f"id card {identifier}"))])
        frozen.set(datetime(2026, 5, 12, 10, 0))
        assert remind_identity_checks() == 1  # the officers are told of the check, by the subject's name
        decide_binding(officer, binding.id, BindingTrigger.VERIFY, None, binding.version)
        frozen.set(datetime(2026, 5, 13, 10, 0))

        case = submit(applicant, CaseKind.OBJECTION, record, title=f"{NAME}的异议", statement=STATEMENT,
                      uploads=[Upload(AttachmentPurpose.EVIDENCE, f"{NAME}的证据.pdf", _pdf(f"evidence {PHONE}"))])
        act(case, "request_supplement", officer, f"请{NAME}补充材料，可致电{PHONE}")
        act(case, "supplement", applicant, f"已补充，手机{PHONE}",
            uploads=[Upload(AttachmentPurpose.SUPPLEMENT, f"补充-{NAME}.pdf", _pdf(f"supplement {NAME}"))])
        act(case, "accept", officer, f"{NAME}的材料齐全")
        act(case, "refer", officer, None)
        act(case, "reply", dept_user, f"经核查，{NAME}的联系电话登记有误", verification="corrected",
            corrections={"facts": f"当事人{NAME}（公民身份号码{identifier}）未按规定办理备案。"})
        act(case, "decide_correct", officer, f"依核查结果更正，已电话{PHONE}告知")
        act(case, "close", officer, None)

        mismatch = SubjectNameMismatch(subject_id=subject.id, known_name=NAME, given_name="欧阳清阳",
                                       origin=NameMismatchOrigin.OFFICER)
        _db.session.add(mismatch)
        _db.session.flush()
        resolve_name_mismatch(officer, mismatch.id, "known", f"与身份证一致，{NAME}本人电话{PHONE}确认")
        # What the account received: an inbox notice, and an e-mail to its address (a recovery link).
        enqueue(f"test-notice:{applicant.id}", "password_changed", {"display_name": NAME}, user_id=applicant.id)
        _db.session.add(Notification(key="test-mail:1", channel=Channel.EMAIL, recipient_address=EMAIL,
                                     template="password_reset", payload={"greeting": f"{NAME}您好"}))
        _db.session.add(SignInAttempt(username=EMAIL, address="192.0.2.0", succeeded=True))
        set_active(admin, applicant.id, False)
    with clock.frozen_clock(datetime(2027, 4, 17, 3, 0)):  # publicity ended on 2027-04-15
        assert run_job("expire").ran
    _db.session.expire_all()
    return type("Story", (), {
        "subject": subject, "record": record, "case": case, "binding": binding, "applicant": applicant,
        "officer": officer, "identifier": identifier, "admin": admin, "dept_user": dept_user,
        "needles": [NAME, identifier, PHONE, EMAIL, STATEMENT],
    })


def _stored_files(story) -> list:
    return [blob_path(a.sha256) for a in _db.session.scalars(
        select(Attachment).where(Attachment.case_id == story.case.id))] + [
        blob_path(d.sha256) for d in _db.session.scalars(
            select(BindingDocument).where(BindingDocument.binding_id == story.binding.id))]


def test_the_purge_leaves_no_personal_data_and_the_trail_still_replays(story, app):
    files = _stored_files(story)
    assert len(files) == 3 and all(f.exists() for f in files)
    before = _trail(story.case, story.record, story.binding)
    page_before = [(e.trigger, e.to_state, e.actor_id, e.at) for e in get_case_page(story.officer, story.case.id).events]
    audit_before = search_audit(AuditFilter(object=ObjectRef(object_type="case", object_id=story.case.id)))[0]
    # The audit log shows the reasons and data as written, until they are erased.
    assert [e.reason for e in audit_before if e.action == "accept"] == [f"{NAME}的材料齐全"]
    assert NAME in next(e.after for e in audit_before if e.action == "reply")
    # The check finds what it looks for: before the purge, every needle is in the database.
    found = {n for _, _, n in _found_in_database(story.needles)}
    assert found == set(story.needles)
    # ... and none in the append-only tables, whose rows the purge may not change.
    tables = {t for t, _, _ in _found_in_database(story.needles)}
    assert "personal_data" in tables and not tables & {"case_event", "record_event", "binding_event", "admin_audit"}

    with clock.frozen_clock(PURGE_DAY):
        outcome = run_job("purge")
    assert outcome.ran
    assert (outcome.result.purged, outcome.result.cases_erased, outcome.result.subjects_erased) == (1, 1, 1)
    _db.session.expire_all()

    assert _found_in_database(story.needles) == []
    assert not any(f.exists() for f in files)
    assert _db.session.scalar(select(sa.func.count()).select_from(Attachment)) == 0
    assert all(p.body is None and p.erased_at for p in _db.session.scalars(select(PersonalData)))

    # The trail: the same events and audit rows, one purge event more on the record.
    after = _trail(story.case, story.record, story.binding)
    assert after["case"] == before["case"] and after["binding"] == before["binding"]
    assert after["record"][:-1] == before["record"] and after["record"][-1][1] == "purge"
    assert after["audit"][:len(before["audit"])] == before["audit"]
    assert _replays(story.case)
    page = get_case_page(story.officer, story.case.id)
    assert [(e.trigger, e.to_state, e.actor_id, e.at) for e in page.events] == page_before
    assert [e.reason for e in page.events if e.trigger == "accept"] == [ERASED]
    reply = next(e for e in page.events if e.trigger == "reply")
    assert reply.data["verification"] == "corrected" and reply.data["corrections"] == {"facts": ERASED}
    audit_after = search_audit(AuditFilter(object=ObjectRef(object_type="case", object_id=story.case.id)))[0]
    assert [(e.id, e.action, e.actor_id, e.at) for e in audit_after] == [
        (e.id, e.action, e.actor_id, e.at) for e in audit_before]
    assert [e.reason for e in audit_after if e.action == "accept"] == [ERASED]
    exported = "".join(export_audit_csv(AuditFilter()))
    assert not any(n in exported for n in story.needles)
    with clock.frozen_clock(PURGE_DAY):  # a second run finds nothing more to do
        again = purge_expired_personal_data()
    assert (again.purged, again.cases_erased, again.subjects_erased, again.files_deleted) == (0, 0, 0, 0)

    subject, applicant = _db.session.get(Subject, story.subject.id), _db.session.get(User, story.applicant.id)
    assert (subject.name, subject.identifier, subject.birth_date) == (ERASED, f"{ERASED}{subject.id}", None)
    assert subject.kind == SubjectKind.NATURAL and subject.erased_at is not None
    assert (applicant.username, applicant.email, applicant.is_active) == (f"{ERASED}{applicant.id}", None, False)
    assert _db.session.get(SubjectBinding, story.binding.id).state == BINDING.dest(BindingTrigger.VERIFY)


def test_the_pages_show_the_trail_without_the_personal_data(story, client):
    """The case page, the identity check, the department's record page and the audit log (and its
    CSV) after the purge: the same steps, ``[已清除]`` where the texts were, none of the needles."""
    with clock.frozen_clock(PURGE_DAY):
        purge_expired_personal_data()
    pages = {
        story.officer.username: [f"/cases/{story.case.id}", f"/desk/bindings/{story.binding.id}"],
        story.dept_user.username: [f"/dept/records/{story.record.id}"],
        story.admin.username: ["/admin/audit", "/admin/audit.csv"],
    }
    for username, paths in pages.items():
        assert sign_in(client, username).status_code == 302
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            body = text(response)
            assert not [n for n in story.needles if n in body], path
            if path.startswith("/cases/"):
                assert ERASED in body and body.count('class="statement"') >= 4
        client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, paths[0])})


def test_the_purge_keeps_what_is_within_retention(story):
    """The day before five years have passed since the record's retirement: the record, the
    subject and its name stay; the case, closed in 2026, has gone."""
    with clock.frozen_clock(datetime(2032, 4, 16, 12, 0)):
        purge_expired_personal_data()
    _db.session.expire_all()
    assert _db.session.get(Case, story.case.id).statement == ERASED
    assert _db.session.get(Subject, story.subject.id).name == NAME
    assert NAME in _db.session.get(type(story.record), story.record.id).facts


@pytest.fixture
def applicant_world(db):
    with clock.frozen_clock(START):
        department = make_department()
        subject = make_subject(SubjectKind.NATURAL, name=NAME)
        world = {"department": department, "subject": subject, "officer": make_user(Role.OFFICER),
                 "applicant": make_user(Role.APPLICANT, subject=subject, email=EMAIL, display_name=NAME)}
        _db.session.commit()  # as the use cases that make them would (the purge rolls back what is not)
        return world


def test_a_case_past_retention_goes_with_its_files_though_its_subject_stays(applicant_world):
    w = applicant_world
    with clock.frozen_clock(START):
        kept = make_record(subject=w["subject"], department=w["department"], decision_date=date(2026, 4, 15),
                           facts=f"{NAME}的事实")
        case = submit(w["applicant"], CaseKind.COMPLAINT, None, department_id=w["department"].id,
                      statement=STATEMENT, uploads=[Upload(AttachmentPurpose.EVIDENCE, f"{NAME}.pdf", _pdf(PHONE))])
        shared = submit(w["applicant"], CaseKind.COMPLAINT, None, department_id=w["department"].id, confirmed=True,
                        uploads=[Upload(AttachmentPurpose.EVIDENCE, "copy.pdf", _pdf("shared"))])
        act(case, "not_accept", w["officer"], f"超出受理范围，已电话{PHONE}告知")
        act(shared, "not_accept", w["officer"], "重复投诉")
        file = blob_path(_db.session.scalar(select(Attachment.sha256).where(Attachment.case_id == case.id)))
    with clock.frozen_clock(datetime(2031, 5, 12, 10, 0)):
        later = submit(w["applicant"], CaseKind.COMPLAINT, None, department_id=w["department"].id, confirmed=True,
                       uploads=[Upload(AttachmentPurpose.EVIDENCE, "again.pdf", _pdf("shared"))])
    with clock.frozen_clock(datetime(2031, 5, 13, 3, 0)):
        result = purge_expired_personal_data()
    _db.session.expire_all()
    erased = _db.session.get(Case, case.id)
    assert (erased.statement, erased.title) == (ERASED, ERASED) and erased.erased_at is not None
    assert result.cases_erased == 2 and result.subjects_erased == 0 and result.files_deleted == 1
    assert not file.exists() and _db.session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all() == []
    reasons = [e.reason for e in _db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert reasons == [None, ERASED]
    assert _db.session.get(Subject, w["subject"].id).name == NAME  # the subject stays, with its record
    assert _db.session.get(type(kept), kept.id).facts == f"{NAME}的事实"
    # A file that a case still open uses stays on disk, whichever case it came with.
    assert _db.session.get(Case, later.id).erased_at is None
    assert blob_path(_db.session.scalar(select(Attachment.sha256).where(Attachment.case_id == later.id))).exists()


@pytest.mark.parametrize("keeper", ["record", "open_case", "active_account"])
def test_a_subject_stays_while_something_keeps_it_and_goes_after(applicant_world, keeper):
    """A record not purged, a case not erased or an account acting for it keeps a subject past
    its retention; once that ends (the record purged, the case erased five years after it
    closed, the binding ended), the subject goes at the next purge."""
    w = applicant_world
    applicant, officer = w["applicant"], w["officer"]
    binding = _db.session.scalar(select(SubjectBinding).where(SubjectBinding.user_id == applicant.id))
    with clock.frozen_clock(datetime(2026, 5, 12, 10, 0)):
        record = make_record(subject=w["subject"], department=w["department"], decision_date=date(2026, 5, 1))
        case = submit(applicant, CaseKind.COMPLAINT, None, department_id=w["department"].id)
        if keeper != "open_case":
            act(case, "not_accept", officer, "超出受理范围")
        if keeper != "active_account":
            end_binding(applicant, binding.id, f"不再使用，联系{PHONE}")
    if keeper != "record":
        with clock.frozen_clock(datetime(2027, 5, 3, 3, 0)):
            run_job("expire")
    with clock.frozen_clock(PURGE_DAY):
        purge_expired_personal_data()
    _db.session.expire_all()
    assert _db.session.get(Subject, w["subject"].id).name == NAME

    with clock.frozen_clock(datetime(2032, 6, 2, 10, 0)):  # what kept it ends
        if keeper == "record":
            run_job("expire")
        if keeper == "open_case":
            act(_db.session.get(Case, case.id), "not_accept", officer, "超出受理范围")
        if keeper == "active_account":
            end_binding(applicant, binding.id, f"不再使用，联系{PHONE}")
    with clock.frozen_clock(datetime(2032, 6, 3, 3, 0)):
        purge_expired_personal_data()
    _db.session.expire_all()
    assert _db.session.get(Subject, w["subject"].id).name == (NAME if keeper != "active_account" else ERASED)
    with clock.frozen_clock(datetime(2037, 6, 3, 3, 0)):  # five years later: the record and the case too
        purge_expired_personal_data()
    _db.session.expire_all()
    subject, account = _db.session.get(Subject, w["subject"].id), _db.session.get(User, applicant.id)
    assert subject.name == ERASED and subject.erased_at is not None
    assert (account.display_name, account.email, account.is_active) == (ERASED, None, False)
    assert _db.session.get(type(record), record.id).state == "purged"
    ended = _db.session.scalars(select(BindingEvent).where(BindingEvent.binding_id == binding.id)
                                .order_by(BindingEvent.seq)).all()[-1]
    assert (ended.trigger, ended.actor_id, ended.reason) == (BindingTrigger.END_BINDING, applicant.id, ERASED)


def test_a_subject_with_nothing_goes_unless_it_is_younger_than_the_retention_period(db):
    with clock.frozen_clock(datetime(2026, 5, 11, 10, 0)):
        old = make_subject(name=NAME)
    with clock.frozen_clock(datetime(2031, 6, 1, 10, 0)):
        young = make_subject(name=NAME)
        _db.session.commit()
    with clock.frozen_clock(PURGE_DAY):
        purge_expired_personal_data()
    _db.session.expire_all()
    assert (_db.session.get(Subject, old.id).name, _db.session.get(Subject, young.id).name) == (ERASED, NAME)


def test_the_events_keep_no_personal_value_of_their_own(story):
    """Written through the models, a reason and the personal values of an event's data are in
    ``personal_data``; the event row holds the placeholder."""
    connection = _db.session.connection()
    reply_id = _db.session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == story.case.id,
                                                             CaseEvent.trigger == "reply"))
    reason, data = connection.execute(sa.text("SELECT reason, data FROM case_event WHERE id = :id"),
                                      {"id": reply_id}).one()
    data = json.loads(data) if isinstance(data, str) else data
    assert reason == ERASED and data["corrections"] == {"facts": ERASED} and data["verification"] == "corrected"
    reply = _db.session.get(CaseEvent, reply_id)
    assert reply.reason == f"经核查，{NAME}的联系电话登记有误" and NAME in reply.data["corrections"]["facts"]


AUDIT_TABLES = ("case_event", "record_event", "binding_event", "admin_audit")
AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def _insert(conn, table: str, **values) -> None:
    """A row written as the application before 0028 would have (the models are 0028's)."""
    types = {k: UTCDateTime() if isinstance(v, datetime) else sa.JSON() if isinstance(v, dict | list) else None
             for k, v in values.items()}
    conn.execute(sa.text(f'INSERT INTO "{table}" ({", ".join(values)}) VALUES ({", ".join(":" + k for k in values)})')
                 .bindparams(*(sa.bindparam(k, type_=t) for k, t in types.items() if t is not None)), values)


def _guards() -> set[tuple[str, bool]]:
    """(table, whether its append-only triggers are there and enabled) of each guarded table."""
    with _db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(sa.text("SELECT c.relname, t.tgenabled FROM pg_trigger t JOIN pg_class c "
                                        "ON c.oid = t.tgrelid WHERE t.tgname LIKE '%append_only'")).all()
            return {(table, enabled == "O") for table, enabled in rows}
        names = set(conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        return {(t, True) for t in AUDIT_TABLES if {f"{t}_no_update", f"{t}_no_delete"} <= names}


def test_the_migration_moves_personal_data_out_of_existing_rows_and_back(throwaway_database, tmp_path):
    """Rows written before 0028 keep their who, when and what; their personal values move to
    ``personal_data`` (the guard lifted once, and back), and return on a downgrade."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": throwaway_database, "UPLOAD_DIR": str(tmp_path / "u")})
    snapshot = {"username": EMAIL, "email": EMAIL, "role": "applicant", "is_active": True}
    try:
        with app.app_context():
            upgrade(directory=str(MIGRATIONS), revision="0027")
            with _db.engine.begin() as conn:
                _insert(conn, "admin_audit", at=AT, action="user.create", object_type="user", object_id=7,
                        after=snapshot)
                _insert(conn, "department", id=1, code="D1", name="部门", is_active=True, created_at=AT)
                _insert(conn, "subject", id=1, kind="legal", identifier="91310000000000001X", name=NAME,
                        name_source="department", created_at=AT)
                _insert(conn, "user_account", id=1, username="officer1", display_name="officer", role="officer",
                        password_hash="!", is_active=True, created_at=AT)
                _insert(conn, "credit_record", id=1, subject_id=1, department_id=1, category="administrative_penalty",
                        severity="general", decision_number="D-1", decision_date=date(2026, 1, 5), facts="f",
                        sanction="s", sanction_kinds=["fine"], is_public=True, publicity_start=date(2026, 1, 5),
                        shortest_publicity_end=date(2026, 4, 5), publicity_end=date(2027, 1, 5), policy_version=1,
                        state="corrected", under_objection=False, published_at=AT, published_late=False, version=2,
                        created_at=AT, updated_at=AT)
                _insert(conn, "record_event", record_id=1, seq=1, at=AT, trigger="publish", to_state="published",
                        reason="publicity period ended")  # the system's words: they stay
                _insert(conn, "record_event", record_id=1, seq=2, at=AT, trigger="correct", from_state="published",
                        to_state="corrected", actor_id=1, reason=f"{NAME}来电{PHONE}",
                        data={"source": "department", "before": {"facts": NAME, "severity": "general"},
                              "after": {"facts": "f", "severity": "general"}})
            upgrade(directory=str(MIGRATIONS))
            with _db.engine.begin() as conn:
                rows = conn.execute(sa.text("SELECT reason, data, personal_data_id FROM record_event ORDER BY seq")
                                    .columns(data=sa.JSON())).all()
            assert rows[0] == ("publicity period ended", None, None)
            assert rows[1][0] == ERASED and rows[1][2] is not None
            assert rows[1][1] == {"source": "department", "before": {"facts": ERASED, "severity": "general"},
                                  "after": {"facts": ERASED, "severity": "general"}}
            correct = _db.session.scalar(select(RecordEvent).where(RecordEvent.seq == 2))
            assert (correct.reason, correct.data["before"]["facts"], correct.actor_id) == (f"{NAME}来电{PHONE}", NAME, 1)
            _db.session.remove()
            with _db.engine.begin() as conn:
                stored = conn.execute(sa.text("SELECT after, personal_data_id FROM admin_audit")).one()
                after = json.loads(stored[0]) if isinstance(stored[0], str) else stored[0]
                assert after == {**snapshot, "username": ERASED, "email": ERASED} and stored[1] is not None
            for change in ("UPDATE admin_audit SET action = 'x'", "DELETE FROM admin_audit"):
                with pytest.raises(sa.exc.DBAPIError, match="append-only"), _db.engine.begin() as conn:
                    conn.execute(sa.text(change))
            assert _guards() == {(t, True) for t in AUDIT_TABLES}  # every table's guard is back, enabled
            entry = _db.session.scalar(select(AdminAudit))
            assert entry.after == snapshot and entry.action == "user.create" and entry.object_id == 7
            _db.session.remove()
            downgrade(directory=str(MIGRATIONS), revision="0027")
            with _db.engine.begin() as conn:
                restored = conn.execute(sa.text("SELECT after FROM admin_audit")).scalar_one()
                assert (json.loads(restored) if isinstance(restored, str) else restored) == snapshot
                assert conn.execute(sa.text("SELECT reason FROM record_event WHERE seq = 2")).scalar_one() == \
                    f"{NAME}来电{PHONE}"
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), _db.engine.begin() as conn:
                conn.execute(sa.text("DELETE FROM admin_audit"))
            assert _guards() == {(t, True) for t in AUDIT_TABLES}
    finally:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
