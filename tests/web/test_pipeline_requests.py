"""What every request pays before its view, made cheaper without changing what it checks
(issue 16): WTForms' messages from a catalogue loaded once per language, and the session check's
SELECT built once. What the pipeline checks (ended sessions, the second factor, CSRF, the
throttles) is held by the tests of each: test_sessions, test_two_factor, test_auth..."""
from __future__ import annotations

from babel import support
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models.enums import Role
from app.web import i18n
from tests.factories import make_user
from tests.web.helpers import csrf_token, sign_in, text

REQUIRED_ZH = "该字段是必填字段。"  # WTForms' own "This field is required." in its zh catalogue


def _empty_sign_in(client):
    return client.post("/auth/sign-in", data={"username": "", "password": "", "csrf_token": csrf_token(client, "/auth/sign-in")})


def test_wtforms_messages_come_from_one_catalogue_per_language(app, client, db, monkeypatch):
    loads = []
    load = support.Translations.load

    def counting(dirname=None, locales=None, domain=None):
        if domain == "wtforms":
            loads.append([str(locale) for locale in locales])
        return load(dirname, locales, domain)

    monkeypatch.setattr(support.Translations, "load", counting)
    monkeypatch.setattr(i18n, "_wtforms_catalogues", {})
    for _ in range(3):
        response = _empty_sign_in(client)
        assert response.status_code == 422
        assert REQUIRED_ZH in text(response)  # still WTForms' message, still in Chinese
    assert loads == [["zh_Hans_CN"]]  # Flask-WTF alone reads it from disk on each request

    client.get("/auth/language/en?next=/auth/sign-in")
    for _ in range(2):
        response = _empty_sign_in(client)
        assert "This field is required." in text(response) and REQUIRED_ZH not in text(response)
    assert loads == [["zh_Hans_CN"], ["en"]]


def test_the_session_check_runs_one_statement_object_on_every_request(app, client, db):
    applicant = make_user(Role.APPLICANT)
    sign_in(client, applicant.username)
    seen = []

    def record(state):
        if state.is_select and "WHERE user_session.token_hash =" in str(state.statement):
            seen.append(state.statement)

    event.listen(Session, "do_orm_execute", record)
    try:
        for _ in range(3):
            assert client.get("/auth/sessions").status_code == 200
    finally:
        event.remove(Session, "do_orm_execute", record)
    assert len(seen) == 3  # checked on the server on each request, once
    assert all(statement is seen[0] for statement in seen)  # and not built again each time
