"""Sign-in with the identity provider, end to end against the real provider (``conftest.py``): our
app's redirect to it, its login and consent, the callback, the token exchange over HTTP, the ID
token's validation, the account, the subject and the binding verified by the claims."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import func, select

from app import clock
from app.models import BindingEvent, Notification, Subject, SubjectBinding, SubjectNameMismatch, User
from app.models.enums import BindingCapacity, BindingMethod, NameMismatchOrigin, SubjectKind, SubjectNameSource
from tests.factories import make_subject
from tests.oidc.conftest import ACCOUNTS, ID_TOKEN_TTL
from tests.web.helpers import csrf_token, text

REP, PERSON = ACCOUNTS["rep"], ACCOUNTS["person"]


def start(client, next_path: str | None = None) -> str:
    """Our login's redirect: the provider's authorization URL with PKCE, state and nonce."""
    response = client.get("/auth/oidc/login" + (f"?{urlencode({'next': next_path})}" if next_path else ""))
    assert response.status_code == 302, text(response)
    return response.headers["Location"]


def sign_in_as(client, provider, login: str, next_path: str | None = None, **callback_args):
    back = provider.follow(start(client, next_path), login)
    parts = urlsplit(back)
    assert parts.netloc == "casedesk.test" and parts.path == "/auth/oidc/callback", back
    query = {**dict(parse_qsl(parts.query)), **callback_args}
    return client.get(f"{parts.path}?{urlencode(query)}")


def linked(db, login: str) -> list[User]:
    return list(db.session.scalars(select(User).where(User.oidc_subject == login)))


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def sign_out(client):
    client.post("/auth/sign-out", data={"csrf_token": csrf_token(client, "/portal/")})


def test_the_authorization_request_carries_pkce_state_and_nonce(client, oidc):
    query = dict(parse_qsl(urlsplit(start(client)).query))
    assert query["response_type"] == "code" and query["client_id"] == "casedesk"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20
    assert query["redirect_uri"] == "http://casedesk.test/auth/oidc/callback"
    assert set(query["scope"].split()) == {"openid", "profile", "identity"}


def test_the_legal_representative_signs_in_and_its_binding_is_verified_by_the_claims(client, db, oidc):
    response = sign_in_as(client, oidc, "rep")
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")

    [user] = linked(db, "rep")
    assert user.oidc_issuer == oidc.issuer and user.role == "applicant"
    assert user.display_name == REP["name"] and user.password_hash == "!oidc"
    subject = user.subject
    assert (subject.kind, subject.identifier, subject.name) == (SubjectKind.LEGAL, REP["uscc"], REP["org_name"])
    assert subject.name_source == "verified" and subject.birth_date is None
    binding = db.session.scalar(select(SubjectBinding).where(SubjectBinding.user_id == user.id))
    assert (binding.state, binding.method, binding.capacity) == ("verified", BindingMethod.OIDC,
                                                                 BindingCapacity.LEGAL_REPRESENTATIVE)
    event = db.session.scalar(select(BindingEvent).where(BindingEvent.binding_id == binding.id))
    assert (event.trigger, event.to_state, event.actor_id) == ("verify_by_claims", "verified", None)
    assert count(db, Notification, Notification.recipient_user_id == user.id,
                 Notification.template == "binding_verified") == 1

    portal = client.get("/portal/")  # verified: its subject's portal, not the binding page
    assert portal.status_code == 200 and REP["org_name"] in text(portal)

    sign_out(client)
    assert client.get("/portal/").status_code == 302
    again = sign_in_as(client, oidc, "rep")
    assert again.status_code == 302
    assert [u.id for u in linked(db, "rep")] == [user.id]  # the same account, the same binding
    assert count(db, SubjectBinding, SubjectBinding.user_id == user.id) == 1
    assert client.get("/portal/").status_code == 200


def test_an_agent_acts_for_the_company_as_its_agent(client, db, oidc):
    assert sign_in_as(client, oidc, "agent").status_code == 302
    [user] = linked(db, "agent")
    binding = db.session.scalar(select(SubjectBinding).where(SubjectBinding.user_id == user.id))
    assert (binding.capacity, binding.state) == (BindingCapacity.AGENT, "verified")


def test_a_natural_person_signs_in_for_itself(client, db, oidc):
    assert sign_in_as(client, oidc, "person").status_code == 302
    [user] = linked(db, "person")
    subject = user.subject
    assert (subject.kind, subject.identifier, subject.name) == (SubjectKind.NATURAL, PERSON["id_number"],
                                                                PERSON["name"])
    assert subject.birth_date == date(1985, 6, 15)
    binding = db.session.scalar(select(SubjectBinding).where(SubjectBinding.user_id == user.id))
    assert (binding.capacity, binding.method, binding.state) == (BindingCapacity.SELF, BindingMethod.OIDC, "verified")


def test_a_known_subject_keeps_its_name_and_gets_the_account(client, db, oidc):
    known = make_subject(SubjectKind.LEGAL, identifier=REP["uscc"], name="上海测试科技股份有限公司")
    assert sign_in_as(client, oidc, "rep").status_code == 302
    [user] = linked(db, "rep")
    assert user.subject_id == known.id
    db.session.refresh(known)
    assert known.name == "上海测试科技股份有限公司"
    assert count(db, Subject, Subject.identifier == REP["uscc"]) == 1


def test_a_claimed_name_gives_way_to_the_verified_one(client, db, oidc):
    """Issue 12: a name typed at sign-up never outlives a verification."""
    squatted = make_subject(SubjectKind.LEGAL, identifier=REP["uscc"], name="抢注者起的名字",
                            name_source=SubjectNameSource.CLAIMED)
    assert sign_in_as(client, oidc, "rep").status_code == 302
    db.session.refresh(squatted)
    assert (squatted.name, squatted.name_source) == (REP["org_name"], SubjectNameSource.VERIFIED)
    assert count(db, SubjectNameMismatch) == 0


def test_a_department_name_that_differs_from_the_verified_one_is_kept_and_flagged(client, db, oidc):
    known = make_subject(SubjectKind.NATURAL, identifier=PERSON["id_number"], name="部门记载的姓名")
    assert sign_in_as(client, oidc, "person").status_code == 302
    db.session.refresh(known)
    assert (known.name, known.name_source) == ("部门记载的姓名", SubjectNameSource.DEPARTMENT)
    [flag] = db.session.scalars(select(SubjectNameMismatch)).all()
    assert (flag.subject_id, flag.given_name, flag.origin) == (known.id, PERSON["name"], NameMismatchOrigin.OIDC)


def test_unverified_claims_are_refused_and_nothing_is_stored(client, db, oidc):
    users, subjects = count(db, User), count(db, Subject)
    response = sign_in_as(client, oidc, "unverified")
    assert response.status_code == 403
    assert "尚未核验" in text(response) and "未保存任何信息" in text(response)
    assert linked(db, "unverified") == []
    assert count(db, Subject, Subject.identifier == ACCOUNTS["unverified"]["id_number"]) == 0
    assert (count(db, User), count(db, Subject)) == (users, subjects)
    assert client.get("/portal/").status_code == 302  # not signed in


def test_a_company_without_an_accepted_role_is_refused(client, db, oidc):
    response = sign_in_as(client, oidc, "norole")
    assert response.status_code == 403 and "法定代表人或经办人" in text(response)
    assert linked(db, "norole") == []
    assert count(db, Subject, Subject.identifier == ACCOUNTS["norole"]["uscc"]) == 0


def test_a_deactivated_linked_account_is_refused(client, db, oidc):
    sign_in_as(client, oidc, "person")
    sign_out(client)
    [user] = linked(db, "person")
    user.is_active = False
    db.session.flush()
    response = sign_in_as(client, oidc, "person")
    assert response.status_code == 403 and "已停用" in text(response)


def test_an_account_linked_to_another_subject_is_refused(client, db, oidc):
    sign_in_as(client, oidc, "person")
    sign_out(client)
    [user] = linked(db, "person")
    user.subject = make_subject(SubjectKind.LEGAL)
    db.session.flush()
    response = sign_in_as(client, oidc, "person")
    assert response.status_code == 409 and "另一信用主体" in text(response)


def test_next_is_followed_on_this_site_only(client, db, oidc):
    response = sign_in_as(client, oidc, "person", next_path="/portal/binding")
    assert response.headers["Location"].endswith("/portal/binding")
    sign_out(client)
    response = sign_in_as(client, oidc, "person", next_path="//evil.example/portal")
    assert response.headers["Location"] == "/portal/"


def test_the_session_is_new_after_the_sign_in(client, oidc):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    assert sign_in_as(client, oidc, "person").status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session and "oidc_flow" not in session


def test_a_state_that_is_not_ours_is_refused(client, db, oidc):
    response = sign_in_as(client, oidc, "person", state="forged")
    assert response.status_code == 400 and "并非从本平台发起" in text(response)
    assert linked(db, "person") == []


def test_a_callback_works_once_and_only_in_the_browser_that_started_it(client, app, db, oidc):
    parts = urlsplit(oidc.follow(start(client), "person"))
    callback = f"{parts.path}?{parts.query}"
    stranger = app.test_client()  # a login CSRF: another browser, whose session started nothing
    assert stranger.get(callback).status_code == 400
    assert linked(db, "person") == []
    assert client.get(callback).status_code == 302
    assert client.get(callback).status_code == 400  # replayed


def test_an_answer_from_another_issuer_is_refused(client, db, oidc):
    response = sign_in_as(client, oidc, "person", iss="http://127.0.0.1:1")
    assert response.status_code == 400 and "来自其他服务" in text(response)
    assert linked(db, "person") == []


def test_the_provider_s_error_is_shown_not_a_500(client, db, oidc):
    start(client)
    response = client.get("/auth/oidc/callback?error=access_denied&state=x")
    assert response.status_code == 400 and "access_denied" in text(response)
    odd = client.get("/auth/oidc/callback?" + urlencode({"error": "call 400-000 to unlock", "state": "x"}))
    assert odd.status_code == 400 and "400-000" not in text(odd)  # a link's words are not ours to show


def test_a_code_the_provider_does_not_know_is_refused(client, db, oidc):
    response = sign_in_as(client, oidc, "person", code="not-a-code")
    assert response.status_code == 400 and "拒绝完成本次登录" in text(response)
    assert linked(db, "person") == []


def test_an_expired_id_token_is_refused_through_the_callback(client, db, app, oidc):
    back = oidc.follow(start(client), "person")
    parts = urlsplit(back)
    later = datetime.now(UTC) + timedelta(seconds=ID_TOKEN_TTL + app.config["OIDC_LEEWAY"] + 5)
    with clock.frozen_clock(later):  # the token comes fresh from the provider and is read after its end
        response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 400 and "已过期" in text(response)
    assert linked(db, "person") == []


def test_the_button_shows_only_when_configured(client, app, oidc_provider):
    assert app.config["OIDC_ISSUER"] is None
    for page in ("/auth/sign-in", "/auth/sign-up"):
        assert "/auth/oidc/login" not in text(client.get(page))
    for path in ("/auth/oidc/login", "/auth/oidc/callback?code=x&state=y"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/auth/sign-in")
    app.config.update(OIDC_ISSUER=oidc_provider.issuer, OIDC_CLIENT_ID="casedesk", OIDC_CLIENT_SECRET="s",
                      OIDC_PROVIDER_LABEL="电子营业执照")
    try:
        for page in ("/auth/sign-in", "/auth/sign-up"):
            body = text(client.get(page))
            assert "/auth/oidc/login" in body and "使用电子营业执照登录" in body
    finally:
        app.config.update(OIDC_ISSUER=None, OIDC_CLIENT_ID=None, OIDC_CLIENT_SECRET=None)


def test_a_provider_that_cannot_be_reached_is_a_clear_502(client, app, oidc):
    app.config["OIDC_ISSUER"] = "http://127.0.0.1:9"  # discard: nothing listens
    response = client.get("/auth/oidc/login")
    assert response.status_code == 502 and "暂时无法连接身份认证服务" in text(response)


def test_a_discovery_document_for_another_issuer_is_not_trusted(client, app, oidc):
    app.config["OIDC_ISSUER"] = oidc.issuer + "/"  # the provider calls itself without the slash
    response = client.get("/auth/oidc/login")
    assert response.status_code == 502
