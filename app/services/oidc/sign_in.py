"""Sign-in by an identity provider's verified claims (OpenID Connect, issue 12).

The government's unified identity service (统一身份认证) or the electronic business licence
(电子营业执照) has checked the person's real name; the ID token the web layer validated carries
what it found. ``OIDC_CLAIMS`` names the claims (our field -> the provider's claim):

* ``uscc`` present: the person acts for that company, named ``org_name``, in the capacity its
  ``role`` claim gives through ``OIDC_ROLES`` (a role the configuration does not accept is refused);
* otherwise ``id_number``: a natural person acting for itself, named ``name``;
* ``verified``: one of ``OIDC_VERIFIED_VALUES``, or nothing is signed in.

The account is the one linked to the provider's account (issuer and ``sub``), or a new applicant
account with no usable password; its binding to the subject is verified at once, with its event.
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.errors import Conflict, Forbidden
from app.extensions import db
from app.identifiers import Identifier, InvalidIdentifier, validate
from app.models import Subject, User
from app.models.enums import BindingCapacity, BindingMethod, NameMismatchOrigin, Role, SubjectKind, SubjectNameSource
from app.services.accounts.subjects import find_or_create_subject, note_subject_name
from app.services.binding.verification import bind_verified
from app.services.transaction import use_case

# Starts with neither "$argon2" nor anything a hasher reads: no password ever matches it.
UNUSABLE_PASSWORD = "!oidc"


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the claims say signs in, and for which subject in which capacity."""

    sub: str
    identifier: Identifier
    subject_name: str
    person_name: str
    capacity: str


def _text(claims: Mapping[str, Any], name: str | None, longest: int) -> str | None:
    value = claims.get(name) if name else None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > longest:
        return None
    return value.strip()


def _incomplete(missing: str) -> Forbidden:
    return Forbidden(_l("The identity service did not send everything the sign-in needs (missing: %(claims)s). "
                        "Nothing was stored.", claims=missing))


def read_claims(claims: Mapping[str, Any], config: Mapping[str, Any]) -> VerifiedIdentity:
    """The identity the claims give, or a refusal (403) that says what is wrong; stores nothing."""
    names = config["OIDC_CLAIMS"]
    if claims.get(names["verified"]) not in list(config["OIDC_VERIFIED_VALUES"]):
        raise Forbidden(_l("The identity service has not verified these details (real-name verification), so "
                           "they cannot sign you in. Please complete the verification with the identity service, "
                           "or sign up and send your documents. Nothing was stored."))
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise _incomplete("sub")
    person_name = _text(claims, names["name"], 200)
    uscc = _text(claims, names["uscc"], 40)
    if uscc is not None:
        identifier = _identifier(uscc, SubjectKind.LEGAL)
        subject_name = _text(claims, names["org_name"], 200)
        if subject_name is None:
            raise _incomplete(names["org_name"])
        role = claims.get(names["role"])
        capacity = config["OIDC_ROLES"].get(role) if isinstance(role, str) else None
        if capacity not in (BindingCapacity.LEGAL_REPRESENTATIVE, BindingCapacity.AGENT):
            raise Forbidden(_l("The identity service does not say that you are the company's legal representative "
                               "or its agent, so it cannot sign you in for the company. Nothing was stored."))
        return VerifiedIdentity(sub, identifier, subject_name, person_name or subject_name, capacity)
    id_number = _text(claims, names["id_number"], 40)
    if id_number is None:
        raise _incomplete(f'{names["uscc"]} / {names["id_number"]}')
    if person_name is None:
        raise _incomplete(names["name"])
    return VerifiedIdentity(sub, _identifier(id_number, SubjectKind.NATURAL), person_name, person_name,
                            BindingCapacity.SELF)


def _identifier(raw: str, kind: str) -> Identifier:
    try:
        return validate(raw, kind)
    except InvalidIdentifier as error:
        raise Forbidden(_l("The identity service sent an identifier that is not valid: %(error)s",
                           error=str(error))) from None


def find_linked_account(issuer: str, sub: str) -> User | None:
    return db.session.scalar(select(User).where(User.oidc_issuer == issuer, User.oidc_subject == sub))


@use_case
def sign_in_by_claims(issuer: str, claims: Mapping[str, Any]) -> User:
    """Sign in the account linked to the provider's account, or create it; verify its binding.

    ``claims`` are the ID token's, already validated (signature, issuer, audience, expiry,
    nonce). Unverified or incomplete claims, a disabled account and an account linked to
    another subject are refused, and nothing is stored. A staff account the platform linked to
    the provider's account signs in as itself (issue 13); whether it still owes a second factor
    is the sign-in view's question (the token's ``amr``).
    """
    staff = _linked_staff(issuer, claims)
    if staff is not None:
        return _sign_in_staff(staff)
    identity = read_claims(claims, current_app.config)
    subject = _find_or_create_subject(identity)
    user = find_linked_account(issuer, identity.sub)
    if user is None:
        user = _new_account(issuer, identity, subject)
    elif not user.is_active:
        raise Forbidden(_l("This account has been deactivated. Please contact the platform."))
    elif user.subject_id != subject.id:
        raise Conflict(_l("Your account with the identity service is linked to another subject on this platform. "
                          "Please contact the platform."))
    user.last_sign_in_at = clock.now()
    bind_verified(user, BindingMethod.OIDC, identity.capacity)
    db.session.commit()
    return user


def _linked_staff(issuer: str, claims: Mapping[str, Any]) -> User | None:
    """A staff account linked to the provider's account (issue 13): it acts for no subject, so the
    claims need not name one; the link itself, made by the platform, says who it is."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        return None
    user = find_linked_account(issuer, sub)
    return user if user is not None and user.role != Role.APPLICANT else None


def _sign_in_staff(user: User) -> User:
    if not user.is_active:
        raise Forbidden(_l("This account has been deactivated. Please contact the platform."))
    user.last_sign_in_at = clock.now()
    db.session.commit()
    return user


def _find_or_create_subject(identity: VerifiedIdentity) -> Subject:
    subject, new = find_or_create_subject(identity.identifier, identity.subject_name, SubjectNameSource.VERIFIED)
    if not new:
        _note_verified_name(subject, identity.subject_name)
    return subject


def _note_verified_name(subject: Subject, name: str) -> None:
    """The verified claims name a subject the platform already knows: a name only claimed at
    sign-up gives way to it, a department's that differs is kept and flagged for an officer."""
    note_subject_name(subject, name, NameMismatchOrigin.OIDC)


def _new_account(issuer: str, identity: VerifiedIdentity, subject: Subject) -> User:
    user = User(
        username=f"oidc-{secrets.token_hex(6)}",
        display_name=identity.person_name[:100],
        password_hash=UNUSABLE_PASSWORD,
        role=Role.APPLICANT,
        subject=subject,
        oidc_issuer=issuer,
        oidc_subject=identity.sub,
    )
    db.session.add(user)
    db.session.flush()
    return user
