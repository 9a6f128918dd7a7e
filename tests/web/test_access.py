"""Deny by default: every endpoint declares who may call it, and each role gets what it should."""
from __future__ import annotations

import pytest

from app.models.enums import Role
from app.web.access import PUBLIC
from tests.factories import make_user
from tests.web.helpers import sign_in, text


def test_every_endpoint_declares_an_access_rule(app):
    undeclared = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and getattr(app.view_functions[rule.endpoint], "access_rule", None) is None
    ]
    assert undeclared == []


def test_public_endpoints_are_the_expected_few(app):
    public = sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "access_rule", None) == PUBLIC
    )
    assert public == [
        "api.docs",
        "api.index",
        "api.openapi",
        "auth.finish_sign_up",
        "auth.set_language",
        "auth.sign_in",
        "auth.sign_up",
        "health.healthz",  # probes (issue 17): no data, no session
        "health.readyz",
        "letters.verify",  # a letter's public check (issue 15): number, date, kind and result only
        "metrics.metrics",  # its own check: allowed networks or the token, else 404
        "oidc.callback",
        "oidc.login",
        "password.forgot",
        "password.open_link",
        "password.set_new",
        "public.index",
        "public.query",
        "public.statistics",  # counts only, small cells suppressed (issue 18)
        "public.statistics_csv",
        "public.statistics_json",
        "two_factor.code",  # the second step of a sign-in: the pending challenge is its authorisation
        "two_factor.enrol",
    ]


def test_an_undeclared_endpoint_is_refused(app, client):
    # A view registered without a decorator: the hook must refuse it.
    app.view_functions["public.index"].__dict__.pop("access_rule")
    try:
        assert client.get("/").status_code == 403
    finally:
        app.view_functions["public.index"].access_rule = PUBLIC


ANON = "anonymous"
PAGES = {
    # path: who gets 200 (501 for pages not built yet); others get 403, anonymous visitors a redirect.
    "/portal/": {Role.APPLICANT},
    "/desk/": {Role.OFFICER, Role.SUPERVISOR},
    "/desk/dashboard": {Role.SUPERVISOR},
    "/dept/": {Role.DEPARTMENT},
    "/admin/": {Role.ADMIN},
    "/portal/complaints/new": {Role.APPLICANT},
    "/desk/queues": {Role.OFFICER, Role.SUPERVISOR},
    "/dept/referrals": {Role.DEPARTMENT},
    "/admin/users": {Role.ADMIN},
    "/admin/calendar": {Role.ADMIN},
    "/admin/departments": {Role.ADMIN},
    "/admin/policy": {Role.ADMIN},
    "/admin/policy/new": {Role.ADMIN},
    "/desk/workflows": {Role.OFFICER, Role.SUPERVISOR, Role.ADMIN},
    "/desk/workflows/record": {Role.OFFICER, Role.SUPERVISOR, Role.ADMIN},
    "/admin/outbox/dead": {Role.ADMIN},
    "/admin/audit": {Role.ADMIN},
    "/admin/audit.csv": {Role.ADMIN},
    "/admin/outbox": {Role.ADMIN},
    "/desk/dashboard/sla": {Role.SUPERVISOR},
    "/desk/dashboard/sla.csv": {Role.SUPERVISOR},
    "/query": "public",
    "/portal/binding": {Role.APPLICANT},
    "/desk/bindings": {Role.OFFICER, Role.SUPERVISOR},
}
NOT_BUILT: set[str] = set()  # pages that answer 501 until they are built


@pytest.mark.parametrize("who", [ANON, *Role])
@pytest.mark.parametrize("path", sorted(PAGES))
def test_route_by_role_matrix(client, who, path):
    if who != ANON:
        sign_in(client, make_user(who).username)
    response = client.get(path)
    if PAGES[path] == "public":
        assert response.status_code == 200
    elif who == ANON:
        assert response.status_code == 302
        assert "/auth/sign-in" in response.headers["Location"]
    elif who in PAGES[path]:
        assert response.status_code == (501 if path in NOT_BUILT else 200)
    else:
        assert response.status_code == 403
        assert "无权" in text(response) or "没有" in text(response)


def test_unknown_url_gets_a_404_page_in_chinese(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "<html lang=\"zh-CN\"" in text(response)
    assert "不存在" in text(response) or "未找到" in text(response)


def test_the_api_refuses_a_call_without_a_key_as_problem_json(client):
    response = client.get("/api/v1/records")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401


def test_security_headers_are_set(client):
    response = client.get("/auth/sign-in")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"




def test_admins_see_dead_letters_and_send_them_again(client, db):
    from app.models import Notification
    from app.models.enums import NotificationStatus
    from app.services.notices.outbox import enqueue
    from tests.web.helpers import csrf_token

    admin = make_user(Role.ADMIN)
    enqueue("k:dead", "case_submitted", {"case": "X"}, user_id=admin.id)
    notice = db.session.scalars(db.select(Notification)).one()
    notice.status, notice.attempts, notice.last_error = NotificationStatus.DEAD, 8, "SMTP: refused"
    db.session.commit()
    sign_in(client, admin.username)
    page = client.get("/admin/outbox/dead")
    assert page.status_code == 200 and "SMTP: refused" in text(page)
    assert client.post("/admin/outbox/dead", data={"id": str(notice.id)}).status_code == 400  # no token
    token = csrf_token(client, "/admin/outbox/dead")
    assert client.post("/admin/outbox/dead", data={"csrf_token": token, "id": "x"}).status_code == 422
    done = client.post("/admin/outbox/dead", data={"csrf_token": token, "id": str(notice.id)})
    assert done.status_code == 302
    db.session.refresh(notice)
    assert notice.status == NotificationStatus.PENDING and notice.attempts == 0
    home = text(client.get("/admin/"))
    assert "expire" in home and "dispatch" in home


def _parameterless_get_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.arguments or "GET" not in rule.methods:
            continue
        yield rule


@pytest.mark.parametrize("who", [ANON, *Role])
def test_every_page_answers_each_role_as_its_rule_says(app, client, who):
    """Walks the whole URL map: a role outside a page's rule gets 403, a visitor the sign-in page."""
    if who != ANON:
        sign_in(client, make_user(who).username)
    for rule in _parameterless_get_rules(app):
        declared = app.view_functions[rule.endpoint].access_rule
        status = client.get(rule.rule).status_code
        if declared == PUBLIC:
            assert status in (200, 302, 501), (rule.rule, status)
        elif declared == "api_key":
            assert status == 401, (rule.rule, status)  # keys, not sessions, open the API
        elif who == ANON:
            assert status == 302, (rule.rule, status)
        elif declared == "signed_in" or who in declared:
            assert status in (200, 501), (rule.rule, who, status)
        else:
            assert status == 403, (rule.rule, who, status)


def _retired_run(department) -> int:
    from datetime import date, datetime

    from app import clock
    from app.services.records import retire_expired_records
    from tests.factories import make_record

    make_record(department=department, decision_date=date(2026, 4, 10))  # its publicity ends 2027-04-10
    with clock.frozen_clock(datetime(2027, 6, 1, 3, 0)):
        return retire_expired_records().run_id


def _import_run(department) -> int:
    from app import clock
    from app.extensions import db
    from app.models import ImportRun, ImportState

    run = ImportRun(department_id=department.id, file_name="big.csv", state=ImportState.REFUSED,
                    requested_at=clock.now(), errors=[[2, "severity", "x"]], error_count=1)
    db.session.add(run)
    db.session.flush()
    return run.id


def _letter(case) -> int:
    """The letter of the case's acceptance (issue 15)."""
    from app.extensions import db
    from app.models import Letter
    from tests.factories import act

    act(case, "accept", make_user(Role.OFFICER))
    return db.session.scalars(db.select(Letter.id).where(Letter.case_id == case.id)).one()


def test_objects_of_others_are_404_on_every_object_route(app, client, db):
    """A subject never reaches another subject's case, record or file; a department never
    another department's case. Every parameterised GET route is listed here or fails."""
    from datetime import date

    from app.models import Attachment
    from app.models.enums import CaseKind
    from tests.factories import make_department, make_record, make_subject, repair_uploads, submit

    owner_subject, department = make_subject(), make_department()
    owner = make_user(Role.APPLICANT, subject=owner_subject)
    record = make_record(subject=owner_subject, department=department, decision_date=date(2025, 1, 1))
    case = submit(owner, CaseKind.REPAIR, record, repair_uploads())
    attachment = db.session.scalars(db.select(Attachment).where(Attachment.case_id == case.id)).first()
    binding, document = _binding_with_document(owner_subject)
    object_routes = {
        "binding.show": f"/desk/bindings/{binding.id}",
        "binding.document": f"/desk/bindings/{binding.id}/documents/{document.id}",
        "cases.show": f"/cases/{case.id}",
        "cases.download": f"/cases/{case.id}/files/{attachment.id}",
        "letters.download": f"/cases/{case.id}/letters/{_letter(case)}.pdf",
        "portal.new_objection": f"/portal/records/{record.id}/objection",
        "portal.new_repair": f"/portal/records/{record.id}/repair",
        "admin.department": f"/admin/departments/{department.id}",
        "admin.policy_version": "/admin/policy/1",
        "dept.record": f"/dept/records/{record.id}",  # another department's record is absent
        # A run of the expiry job that retired one of the department's records: its page and CSV.
        "dept.retired": f"/dept/retired/{_retired_run(department)}",
        # A background import of the department's (issue 13): its page and its report.
        "dept.import_run": f"/dept/imports/{_import_run(department)}",
        "two_factor.admin_reset": f"/admin/users/{owner.id}/two-factor",  # admins only
    }
    object_routes["dept.retired_csv"] = object_routes["dept.retired"] + ".csv"
    object_routes["dept.import_run_errors"] = object_routes["dept.import_run"] + "/errors.csv"
    parameterised = {r.endpoint for r in app.url_map.iter_rules() if r.arguments and "GET" in r.methods}
    # The API's object routes answer keys, not sessions: tests/web/test_api.py covers them.
    parameterised = {e for e in parameterised if not e.startswith("api.")}
    # The password and sign-up links are their own authorisation (tests/web/test_password_reset.py,
    # tests/web/test_sign_up.py).
    unowned = {"static", "desk.workflows", "auth.set_language", "password.open_link", "auth.finish_sign_up",
               "public.statistics_csv"}  # a table of the public statistics: no one's object
    assert parameterised - unowned == set(object_routes), "list the new route here"
    for who in (make_user(Role.APPLICANT), make_user(Role.DEPARTMENT)):
        own_client = app.test_client()  # a browser of their own
        sign_in(own_client, who.username)
        for endpoint, path in object_routes.items():
            if endpoint.startswith(("admin.", "binding.", "two_factor.")):
                expected = 403
            elif endpoint.startswith("dept."):
                expected = 404 if who.role == Role.DEPARTMENT else 403
            else:
                expected = 404 if endpoint.startswith(("cases.", "letters.")) or who.role == Role.APPLICANT else 403
            assert own_client.get(path).status_code == expected, (who.role, path)


def test_a_nul_character_is_a_400_on_every_input_path(client):
    assert client.get("/query?identifier=a%00b").status_code == 400
    assert client.post("/auth/sign-in", data={"username": "a\x00b", "password": "x"}).status_code == 400
    assert client.post("/api/v1/records", data=b'{"records": [{"facts": "a\\u0000b"}]}',
                       content_type="application/json").status_code == 400


def _binding_with_document(subject):
    from app.models import BindingDocument
    from app.models.enums import BindingCapacity, BindingDocumentKind
    from app.services.binding import Upload, send_documents
    from tests.factories import PDF

    waiting = make_user(Role.APPLICANT, subject=subject, verified=False)
    binding = send_documents(waiting, BindingCapacity.LEGAL_REPRESENTATIVE, [
        Upload(BindingDocumentKind.BUSINESS_LICENCE, "licence.pdf", PDF),
        Upload(BindingDocumentKind.IDENTITY_CARD, "id.pdf", PDF)])
    return binding, _db_first(BindingDocument, binding_id=binding.id)


def _db_first(model, **where):
    from app.extensions import db

    return db.session.scalars(db.select(model).filter_by(**where)).first()


def test_an_unverified_account_and_another_subjects_verified_agent_reach_nothing(app, client, db):
    """The matrix's two strangers: an account signed up for the subject but not verified, and an
    agent verified for another subject. A second verified agent of the subject is the control."""
    from datetime import date

    from app.models import Attachment
    from app.models.enums import BindingCapacity, CaseKind
    from tests.factories import make_record, make_subject, repair_uploads, submit
    from tests.web.helpers import csrf_token

    subject = make_subject()
    owner = make_user(Role.APPLICANT, subject=subject)
    record = make_record(subject=subject, decision_date=date(2025, 1, 1))
    case = submit(owner, CaseKind.REPAIR, record, repair_uploads())
    attachment = _db_first(Attachment, case_id=case.id)
    unverified = make_user(Role.APPLICANT, subject=subject, verified=False)
    foreign_agent = make_user(Role.APPLICANT, capacity=BindingCapacity.AGENT)
    colleague = make_user(Role.APPLICANT, subject=subject, capacity=BindingCapacity.AGENT)
    db.session.commit()
    routes = [f"/cases/{case.id}", f"/cases/{case.id}/files/{attachment.id}",
              f"/portal/records/{record.id}/objection", f"/portal/records/{record.id}/repair"]

    def statuses(browser):
        found = []
        for path in routes:
            response = browser.get(path)
            found.append(response.status_code)
            response.close()  # a file download holds its file open until closed
        return found

    browser = app.test_client()
    sign_in(browser, colleague.username)
    assert statuses(browser) == [200, 200, 200, 200]
    assert record.decision_number in text(browser.get("/portal/"))

    browser = app.test_client()
    sign_in(browser, unverified.username)
    home = browser.get("/portal/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/portal/binding")
    assert statuses(browser) == [404, 404, 302, 302]
    page = text(browser.get("/portal/binding"))
    assert record.decision_number not in page and case.number not in page
    token = csrf_token(browser, "/portal/binding")
    withdraw = browser.post(f"/cases/{case.id}/act", data={"csrf_token": token, "trigger": "withdraw",
                                                           "version": case.version, "reason": "x"})
    assert withdraw.status_code == 404

    browser = app.test_client()
    sign_in(browser, foreign_agent.username)
    assert statuses(browser) == [404, 404, 404, 404]
    assert record.decision_number not in text(browser.get("/portal/"))
