"""Admin: the audit log, one timeline of admin changes, case events and record events."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest

from app import clock
from app.models.enums import CaseKind, Role, SubjectKind
from app.services.admin.audit_log import AuditFilter, parse_object, search_audit
from app.services.audit import audit_admin_change
from tests.factories import act, id_number, make_department, make_record, make_subject, make_user, submit
from tests.web.helpers import sign_in, text


@pytest.fixture
def trail(db):
    """Five entries from three sources, on three days (times in Shanghai)."""
    admin, officer = make_user(Role.ADMIN, username="root-admin"), make_user(Role.OFFICER, username="officer-li")
    subject, department = make_subject(), make_department()
    applicant = make_user(Role.APPLICANT, subject=subject)
    record = make_record(subject=subject, department=department)
    person = id_number()
    with clock.frozen_clock(datetime(2026, 10, 7, 10, 0)) as frozen:
        audit_admin_change(admin, "user.create", "user", applicant.id, None, {"username": applicant.username,
                                                                               "identifier": person})
        db.session.commit()
        frozen.set(datetime(2026, 10, 8, 9, 0))
        case = submit(applicant, CaseKind.OBJECTION, record)  # case "submit" and record "mark_objection" (on receipt)
        frozen.set(datetime(2026, 10, 9, 9, 0))
        act(case, "accept", officer, reason=f"核对了 {person} 的材料")  # case "accept"
        # 07:00 on the 10th in Shanghai is still the 9th in UTC: the day filter must use Shanghai days.
        frozen.set(datetime(2026, 10, 10, 7, 0))
        audit_admin_change(admin, "department.update", "department", department.id, {"name": "旧名"}, {"name": "新名"})
        db.session.commit()
    return {"admin": admin, "officer": officer, "applicant": applicant, "case": case, "record": record,
            "department": department, "person": person}


def _found(**filters) -> list[tuple[str, str]]:
    if "object" in filters:
        filters["object"] = parse_object(filters["object"])
    entries, _next = search_audit(AuditFilter(**filters))
    return [(e.kind, e.action) for e in entries]


def test_search_by_actor_object_time_and_source_finds_exactly_the_right_entries(trail):
    everything = [("admin", "department.update"), ("case", "accept"), ("record", "mark_objection"),
                  ("case", "submit"), ("admin", "user.create")]
    assert _found() == everything
    assert _found(actor="officer-li") == [("case", "accept")]
    assert _found(actor="ROOT-ADMIN") == [("admin", "department.update"), ("admin", "user.create")]
    assert _found(actor=trail["applicant"].username) == [("record", "mark_objection"), ("case", "submit")]
    assert _found(actor="nobody") == []
    case_number = trail["case"].number
    assert _found(object=case_number) == [("case", "accept"), ("case", "submit")]
    assert _found(object=f"case:{case_number.lower()}") == [("case", "accept"), ("case", "submit")]
    assert _found(object=f"case:{trail['case'].id}") == [("case", "accept"), ("case", "submit")]
    assert _found(object=f"record:{trail['record'].id}") == [("record", "mark_objection")]
    assert _found(object=f"user:{trail['applicant'].id}") == [("admin", "user.create")]
    assert _found(object=f"department:{trail['department'].id}") == [("admin", "department.update")]
    assert _found(object="depart") == [("admin", "department.update")]  # free text in the type
    assert _found(object="CASE:YY-2099-000001") == []
    assert _found(day_from=date(2026, 10, 9), day_to=date(2026, 10, 9)) == [("case", "accept")]
    assert _found(day_from=date(2026, 10, 10)) == [("admin", "department.update")]
    assert _found(day_to=date(2026, 10, 7)) == [("admin", "user.create")]
    assert _found(kind="record") == [("record", "mark_objection")]
    assert _found(actor="officer-li", kind="case", object=case_number) == [("case", "accept")]
    assert _found(day_from=date(2026, 10, 8), day_to=date(2026, 10, 8)) == [("record", "mark_objection"),
                                                                            ("case", "submit")]


def test_pages_walk_the_whole_timeline_once(trail):
    seen, after = [], None
    while True:
        entries, after = search_audit(AuditFilter(), after, limit=2)
        seen += [(e.kind, e.id) for e in entries]
        if after is None:
            break
    whole, _next = search_audit(AuditFilter())
    assert seen == [(e.kind, e.id) for e in whole] and len(seen) == 5


def test_the_page_shows_names_links_and_masked_identifiers(client, trail):
    sign_in(client, trail["admin"].username)
    response = client.get("/admin/audit")
    page = text(response)
    assert response.status_code == 200
    assert f'href="/cases/{trail["case"].id}"' in page and trail["case"].number in page
    assert trail["officer"].display_name in page and "officer-li" in page
    assert "department.update" in page and "新名" in page
    person = trail["person"]
    assert person not in page and f"{person[:6]}********{person[-4:]}" in page
    narrowed = text(client.get("/admin/audit?actor=officer-li&kind=case"))
    assert "核对了" in narrowed and "department.update" not in narrowed
    assert "/admin/audit.csv?actor=officer-li&amp;kind=case" in narrowed


def test_the_csv_export_has_the_header_and_the_filtered_rows_masked(client, trail):
    sign_in(client, trail["admin"].username)
    response = client.get("/admin/audit.csv?day_from=2026-10-07&day_to=2026-10-09")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    # In the reader's language: headings, kinds, actions (an admin's by name) and states.
    assert [(r["类型"], r["操作"], r["账户"]) for r in rows] == [
        ("案件", "受理", "officer-li"), ("失信信息", "标注异议处理中", trail["applicant"].username),
        ("案件", "提交", trail["applicant"].username), ("管理员", "创建账户", "root-admin")]
    assert rows[0]["对象"] == trail["case"].number and rows[0]["时间"] == "2026-10-09 09:00:00"
    assert (rows[0]["起始状态"], rows[0]["目标状态"]) == ("已提交", "已受理")
    person = trail["person"]
    assert person not in body.decode("utf-8-sig")
    assert f"{person[:6]}********{person[-4:]}" in rows[0]["理由"] and "********" in rows[3]["变更后"]


@pytest.mark.parametrize("query", [
    "day_from=2026-13-01", "day_to=yesterday", "kind=everything", "day_from=2026-10-09&day_to=2026-10-08",
    "object=record:abc", "after=not-a-cursor", "actor=" + "x" * 65,
])
def test_bad_filters_are_a_422_with_a_message(client, db, query):
    sign_in(client, make_user(Role.ADMIN).username)
    page = client.get(f"/admin/audit?{query}")
    assert page.status_code == 422
    assert 'class="field-errors"' in text(page) or 'class="errors" role="alert"' in text(page)
    if not query.startswith("after="):
        assert client.get(f"/admin/audit.csv?{query}").status_code == 422


def test_only_admins_read_the_audit_log(app, db):
    for role in (Role.OFFICER, Role.SUPERVISOR, Role.DEPARTMENT, Role.APPLICANT):
        client = app.test_client()
        sign_in(client, make_user(role).username)
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/admin/audit.csv").status_code == 403


def test_a_natural_person_subject_never_shows_unmasked(client, db):
    """Identity numbers in an event's data are masked as well as those in reasons."""
    admin = make_user(Role.ADMIN)
    person = make_subject(SubjectKind.NATURAL)
    audit_admin_change(admin, "subject.merge", "subject", person.id, {"identifier": person.identifier}, None)
    db.session.commit()
    sign_in(client, admin.username)
    assert person.identifier not in text(client.get("/admin/audit"))
    assert person.identifier not in client.get("/admin/audit.csv").get_data(as_text=True)
