"""The identity service's strength (issue 13), against the real provider: a staff account linked to
the provider signs in without a TOTP code when the ID token's ``amr`` says several factors
(``staff-mfa``: ["pwd", "otp"]), and is asked for its code (or enrolment) after a password-only
login there (``staff-pwd``: ["pwd"]); applicants are signed in with the provider's strength."""
from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from app import clock
from app.models import User, UserSession
from app.models.enums import Role
from app.services import accounts
from tests.factories import make_user
from tests.oidc.test_oidc_sign_in import sign_in_as
from tests.web.helpers import csrf_token, text


@pytest.fixture
def required(app):
    app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] = True
    try:
        yield
    finally:
        app.config["TWO_FACTOR_REQUIRED_FOR_STAFF"] = False


def linked_officer(oidc, login: str, enrol: bool = True) -> tuple[User, str | None]:
    officer = make_user(Role.OFFICER, oidc_issuer=oidc.issuer, oidc_subject=login)
    if not enrol:
        return officer, None
    secret = accounts.prepare_enrolment(officer.id).secret
    accounts.confirm_enrolment(officer.id, pyotp.TOTP(secret).at(clock.now(), counter_offset=-1))
    return officer, secret


def strengths(db, user) -> list[str]:
    return list(db.session.scalars(select(UserSession.strength).where(UserSession.user_id == user.id,
                                                                       UserSession.ended_at.is_(None))))


def test_staff_whose_provider_login_had_several_factors_are_not_asked_for_a_code(client, db, oidc, required):
    officer, _secret = linked_officer(oidc, "staff-mfa")
    response = sign_in_as(client, oidc, "staff-mfa")
    assert response.status_code == 302 and response.headers["Location"].endswith("/desk/")
    assert strengths(db, officer) == ["oidc_mfa"]
    assert client.get("/desk/").status_code == 200  # strong enough for the gate too


def test_staff_whose_provider_login_was_a_password_give_their_code(client, db, oidc, required):
    officer, secret = linked_officer(oidc, "staff-pwd")
    response = sign_in_as(client, oidc, "staff-pwd")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/two-factor/code")
    assert strengths(db, officer) == [] and client.get("/desk/").status_code == 302
    done = client.post("/auth/two-factor/code", data={
        "csrf_token": csrf_token(client, "/auth/two-factor/code"), "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302 and done.headers["Location"].endswith("/desk/")
    assert strengths(db, officer) == ["totp"]


def test_staff_without_a_second_factor_set_it_up_after_a_password_only_provider_login(client, db, oidc, required):
    officer, _ = linked_officer(oidc, "staff-pwd", enrol=False)
    response = sign_in_as(client, oidc, "staff-pwd")
    assert response.status_code == 302 and response.headers["Location"].endswith("/auth/two-factor/enrol")
    assert "otpauth" not in text(client.get("/auth/two-factor/enrol"))  # the secret is in the QR code, not a link
    assert strengths(db, officer) == []


def test_an_applicant_gets_the_providers_strength(client, db, oidc, required):
    assert sign_in_as(client, oidc, "person").status_code == 302
    applicant = db.session.scalar(select(User).where(User.oidc_subject == "person"))
    assert strengths(db, applicant) == ["oidc"]


def test_a_deactivated_linked_staff_account_is_refused(client, db, oidc):
    officer, _ = linked_officer(oidc, "staff-mfa", enrol=False)
    officer.is_active = False
    db.session.flush()
    response = sign_in_as(client, oidc, "staff-mfa")
    assert response.status_code == 403 and strengths(db, officer) == []
