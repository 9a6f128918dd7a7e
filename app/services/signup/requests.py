"""Sign-up requests: the form's one answer, the mail, and the link that makes the account.

The form answers the same whether the address, the user name or the subject is known, so it
is no oracle (issue 12). What happens then is told only to the address: a fresh one gets a
single-use link (24 hours; only the token's SHA-256 is kept), one that already has an account
gets at most one "an account exists" mail an hour. The password is hashed on both paths, so
the answer takes as long either way. Nothing is created until the link is used: then the
account (its user name is the address), the subject if the platform does not know it (under
the name typed, *claimed*: never shown to the public, replaced by the first department's or
verified name; a known subject is left as it is), and the account's unverified binding, which
keeps the name typed for the officer who checks the documents.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import clock, identifiers
from app.errors import Forbidden, Gone, NotFound
from app.extensions import db
from app.identifiers import Identifier
from app.models import SignUpRequest, User
from app.models.enums import BindingCapacity, Role, SubjectKind, SubjectNameSource
from app.services.accounts.passwords import require_acceptable_password
from app.services.accounts.signin import hash_password
from app.services.accounts.subjects import find_or_create_subject, find_subject
from app.services.binding.verification import new_binding
from app.services.notices.messages import render
from app.services.notices.outbox import enqueue_email, smtp_configured
from app.services.transaction import use_case

LIFETIME = timedelta(hours=24)
_GONE = _l("This sign-up link has expired or was already used. Please sign up again, or sign in.")
_UNKNOWN = _l("This sign-up link is not valid. Please check that you copied all of it.")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _address_key(email: str) -> str:
    """The address in an outbox key: hashed, since keys travel in mail headers."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SignUpDetails:
    email: str
    password: str
    display_name: str
    identifier: Identifier
    subject_name: str
    locale: str = "zh_CN"


@dataclass(frozen=True)
class SentMail:
    """What the mail says (for the demo's box when no mail service is configured)."""

    subject: str
    body: str
    link: str | None  # the sign-up link, when the mail carries one
    by_mail: bool  # a mail service is configured: the message goes out as e-mail


@dataclass(frozen=True)
class PendingSignUp:
    email: str
    identifier_masked: str
    subject_kind: str
    claimed_name: str
    expires_at: datetime


def sign_up_available() -> bool:
    """Sign-up needs a mail service to send the link, or the demo, which shows it on the page."""
    return smtp_configured() or bool(current_app.config.get("DEMO_MODE"))


def _account_exists(email: str) -> bool:
    """An account signs in with this address, or (an older account) has it as its e-mail."""
    return db.session.scalar(
        select(User.id).where(or_(User.username == email, func.lower(User.email) == email)).limit(1)
    ) is not None


def _mail(template: str, payload: dict, locale: str, link: str | None) -> SentMail:
    text = render(template, [payload], locale)
    return SentMail(text.subject, text.body, link, smtp_configured())


@use_case
def request_sign_up(details: SignUpDetails, link_for: Callable[[str], str], sign_in_link: str) -> SentMail:
    """Take a sign-up form; the caller answers the same whatever this finds.

    ``link_for(token)`` makes the absolute link the mail carries; ``sign_in_link`` is the
    sign-in page's, for an address that already has an account.
    """
    if not sign_up_available():
        raise Forbidden(_l("Sign-up is not available here."))
    email = details.email.strip().lower()
    # The form's own content only (no account's): a refusal tells nothing about who is known.
    require_acceptable_password(details.password, names=[email, details.display_name, details.subject_name])
    locale = "en" if (details.locale or "").startswith("en") else "zh_CN"
    password_hash = hash_password(details.password)  # on both paths: the same time either way
    now = clock.now()
    if _account_exists(email):
        payload = {"sign_in": sign_in_link, "locale": locale}
        enqueue_email(f"sign-up-exists:{_address_key(email)}:{now:%Y%m%d%H}", "sign_up_exists", payload, email)
        db.session.commit()
        return _mail("sign_up_exists", payload, locale, None)
    token = secrets.token_urlsafe(32)
    request = SignUpRequest(
        email=email, password_hash=password_hash, display_name=details.display_name.strip(),
        identifier_kind=details.identifier.kind, identifier=details.identifier.value,
        claimed_name=details.subject_name.strip(), token_hash=_hash(token), created_at=now, expires_at=now + LIFETIME,
    )
    db.session.add(request)
    db.session.flush()
    link = link_for(token)
    payload = {"link": link, "hours": int(LIFETIME.total_seconds() // 3600), "locale": locale}
    enqueue_email(f"sign-up:{request.id}", "sign_up_link", payload, email)
    db.session.commit()
    return _mail("sign_up_link", payload, locale, link)


def _find(token: str) -> SignUpRequest:
    request = db.session.scalar(select(SignUpRequest).where(SignUpRequest.token_hash == _hash(token or "")))
    if request is None:
        raise NotFound(_UNKNOWN)
    if request.used_at is not None or request.expires_at <= clock.now() or _account_exists(request.email):
        raise Gone(_GONE)
    return request


def find_sign_up(token: str) -> PendingSignUp:
    """The sign-up a link finishes; 404 when unknown, 410 when used, expired or the address taken since."""
    request = _find(token)
    return PendingSignUp(request.email, identifiers.mask(request.identifier, request.identifier_kind),
                         request.identifier_kind, request.claimed_name, request.expires_at)


def _subject_for(identifier: Identifier, claimed_name: str):
    """The subject, made under the claimed name if the platform does not know it; where another
    sign-up made it meanwhile (its commit wins the unique identifier), that one."""
    try:
        with db.session.begin_nested():
            subject, _new = find_or_create_subject(identifier, claimed_name, SubjectNameSource.CLAIMED)
    except IntegrityError:
        subject = find_subject(identifier)
    return subject


@use_case
def finish_sign_up(token: str) -> User:
    """The link's owner confirms: the account, the subject if new (its name claimed) and the
    account's unverified binding, once; a second use of the link, or a race, gets 410."""
    request = _find(token)
    now = clock.now()
    # Claim the row first, so that two submissions of the same link cannot both make an account.
    claimed = db.session.execute(
        update(SignUpRequest)
        .where(SignUpRequest.id == request.id, SignUpRequest.used_at.is_(None), SignUpRequest.expires_at > now)
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        raise Gone(_GONE)
    subject = _subject_for(identifiers.validate(request.identifier, request.identifier_kind), request.claimed_name)
    user = User(username=request.email, email=request.email, display_name=request.display_name or request.claimed_name,
                password_hash=request.password_hash, role=Role.APPLICANT, subject=subject)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # another link for the same address made its account meanwhile
        raise Gone(_GONE) from None
    db.session.execute(update(SignUpRequest).where(SignUpRequest.id == request.id).values(user_id=user.id))
    capacity = BindingCapacity.SELF if subject.kind == SubjectKind.NATURAL else BindingCapacity.LEGAL_REPRESENTATIVE
    new_binding(user, subject, capacity, request.claimed_name)  # the name typed, for the officer to check
    db.session.commit()
    return user


KEPT_AFTER = timedelta(days=30)  # a used or lapsed request, then gone: it holds a password hash and an identifier


@use_case
def purge_sign_up_requests() -> int:
    """Delete the sign-up requests used or expired more than ``KEPT_AFTER`` ago; how many.

    The account a used one made keeps what matters (its user name, its binding and events); the
    request's copy of the password hash and of the identifier is not kept for ever.
    """
    cutoff = clock.now() - KEPT_AFTER
    gone = db.session.execute(delete(SignUpRequest).where(
        or_(SignUpRequest.used_at < cutoff, and_(SignUpRequest.used_at.is_(None), SignUpRequest.expires_at < cutoff))
    )).rowcount
    db.session.commit()
    return gone
