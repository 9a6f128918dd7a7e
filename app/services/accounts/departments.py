"""Admins manage the originating departments: their details, webhook subscriptions and API keys.

Every change is audited with the object before and after, in the transaction of the change; a
department's own changes to its webhooks through the API are audited with its key.
Secrets (webhook signing secrets, API keys) are returned once to be shown, never audited.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import ApiKey, Department, User, WebhookSubscription
from app.models.enums import Role
from app.services import webhook_url
from app.services.accounts.sessions import end_department_sessions
from app.services.audit import audit_admin_change
from app.services.transaction import use_case


@dataclass(frozen=True)
class DepartmentRow:
    department: Department
    users: int
    active_keys: int
    webhooks: int


def list_departments_with_counts() -> list[DepartmentRow]:
    """Every department with its counts, in three grouped queries (not one per row)."""
    users = dict(db.session.execute(select(User.department_id, func.count()).where(User.department_id.is_not(None))
                                    .group_by(User.department_id)).all())
    keys = dict(db.session.execute(select(ApiKey.department_id, func.count()).where(ApiKey.revoked_at.is_(None))
                                   .group_by(ApiKey.department_id)).all())
    hooks = dict(db.session.execute(select(WebhookSubscription.department_id, func.count())
                                    .where(WebhookSubscription.is_active.is_(True))
                                    .group_by(WebhookSubscription.department_id)).all())
    return [DepartmentRow(d, users.get(d.id, 0), keys.get(d.id, 0), hooks.get(d.id, 0))
            for d in db.session.scalars(select(Department).order_by(Department.code))]


def get_department(department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None:
        raise NotFound()
    return department


def find_department_by_code(code: str) -> Department | None:
    return db.session.scalar(select(Department).where(Department.code == code))


def _snapshot(d: Department) -> dict:
    return {"code": d.code, "name": d.name, "contact_email": d.contact_email, "is_active": d.is_active}


@dataclass(frozen=True)
class DepartmentDetails:
    code: str
    name: str
    contact_email: str | None
    is_active: bool = True


def _check_code(code: str, department_id: int | None) -> str:
    code = code.strip().upper()
    taken = db.session.scalar(select(Department.id).where(func.upper(Department.code) == code))
    if taken is not None and taken != department_id:
        raise InvalidInput(_l("The department code %(code)s is taken.", code=code))
    return code


@use_case
def create_department(actor: User, details: DepartmentDetails) -> Department:
    department = Department(code=_check_code(details.code, None), name=details.name.strip(),
                            contact_email=details.contact_email or None, is_active=details.is_active)
    db.session.add(department)
    db.session.flush()
    audit_admin_change(actor, "department.create", "department", department.id, None, _snapshot(department))
    db.session.commit()
    return department


@use_case
def update_department(actor: User, department_id: int, details: DepartmentDetails) -> Department:
    department = get_department(department_id)
    before = _snapshot(department)
    department.code = _check_code(details.code, department.id)
    department.name = details.name.strip()
    department.contact_email = details.contact_email or None
    department.is_active = details.is_active
    if before["is_active"] and not department.is_active:  # its users are signed out (issue 13)
        end_department_sessions(department.id)
    after = _snapshot(department)
    if after != before:
        audit_admin_change(actor, "department.update", "department", department.id, before, after)
    db.session.commit()
    return department


def list_keys(department_id: int) -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).where(ApiKey.department_id == department_id)
                                   .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())))


# ---------------------------------------------------------------------------------------
# Webhook subscriptions
# ---------------------------------------------------------------------------------------

def list_webhooks(department_id: int) -> list[WebhookSubscription]:
    return list(db.session.scalars(select(WebhookSubscription).where(WebhookSubscription.department_id == department_id)
                                   .order_by(WebhookSubscription.is_active.desc(), WebhookSubscription.id)))


def _webhook_snapshot(w: WebhookSubscription) -> dict:
    return {"name": w.name, "url": w.url, "events": w.events, "is_active": w.is_active,
            "department_id": w.department_id}


def check_webhook_url(url: str) -> str:
    """The one rule for webhook addresses (``app.services.webhook_url``): the admin form and the
    API both come here; raises ``InvalidInput`` with the reason, in the user's language."""
    return webhook_url.check(url).url


def _check_room(department_id: int) -> None:
    """At most ``WEBHOOK_MAX_PER_DEPARTMENT`` active subscriptions per department: each one is
    a signed POST per notice. The department's row is locked first (PostgreSQL), so two
    subscriptions made at once cannot both take the last place."""
    db.session.get(Department, department_id, with_for_update=True)
    cap = current_app.config["WEBHOOK_MAX_PER_DEPARTMENT"]
    active = db.session.scalar(select(func.count()).select_from(WebhookSubscription).where(
        WebhookSubscription.department_id == department_id, WebhookSubscription.is_active.is_(True)))
    if active >= cap:
        raise InvalidInput(_l("A department may have at most %(count)d active webhook subscriptions; "
                              "end or pause one first.", count=cap))


def _new_subscription(department_id: int, name: str, url: str, events: list[str]) -> tuple[WebhookSubscription, str]:
    _check_room(department_id)
    secret = secrets.token_urlsafe(32)
    subscription = WebhookSubscription(department_id=department_id, name=name, url=url, secret=secret, events=events)
    db.session.add(subscription)
    db.session.flush()
    return subscription, secret


@use_case
def add_webhook(actor: User, department_id: int, name: str, url: str, events: list[str]) -> tuple[WebhookSubscription, str]:
    """An admin subscribes an address; returns the subscription and its signing secret (shown once)."""
    department = get_department(department_id)
    subscription, secret = _new_subscription(department.id, name.strip()[:100] or "webhook", check_webhook_url(url),
                                             events or ["*"])
    audit_admin_change(actor, "webhook.create", "webhook", subscription.id, None, _webhook_snapshot(subscription))
    db.session.commit()
    return subscription, secret


@use_case
def subscribe_webhook(key: ApiKey, name: str, url: str, events: list[str]) -> tuple[WebhookSubscription, str]:
    """A department subscribes through the API with its key, audited with that key; returns the
    subscription and its signing secret (shown once)."""
    subscription, secret = _new_subscription(key.department_id, name.strip()[:100] or "api", check_webhook_url(url),
                                             events)
    audit_admin_change(None, "webhook.create", "webhook", subscription.id, None, _webhook_snapshot(subscription),
                       api_key=key)
    db.session.commit()
    return subscription, secret


@use_case
def unsubscribe_webhook(key: ApiKey, subscription_id: int) -> WebhookSubscription:
    """A department ends one of its own subscriptions (audited with its key); another
    department's is as good as absent. Ending an ended one changes nothing."""
    subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.department_id != key.department_id:
        raise NotFound()
    if subscription.is_active:
        before = _webhook_snapshot(subscription)
        subscription.is_active = False
        audit_admin_change(None, "webhook.deactivate", "webhook", subscription.id, before,
                           _webhook_snapshot(subscription), api_key=key)
    db.session.commit()
    return subscription


@use_case
def set_webhook_active(actor: User, department_id: int, webhook_id: int, active: bool) -> WebhookSubscription:
    """An admin pauses or resumes a subscription; a resumed one must pass today's address rule
    and fit under the cap."""
    subscription = db.session.get(WebhookSubscription, webhook_id)
    if subscription is None or subscription.department_id != department_id:
        raise NotFound()
    before = _webhook_snapshot(subscription)
    if active and not subscription.is_active:
        check_webhook_url(subscription.url)
        _check_room(department_id)
    subscription.is_active = active
    if before["is_active"] != active:
        audit_admin_change(actor, "webhook.activate" if active else "webhook.deactivate", "webhook",
                           subscription.id, before, _webhook_snapshot(subscription))
    db.session.commit()
    return subscription


def get_department_actor(department_id: int) -> User | None:
    """The department's own account, which acts for its API key (events need a user); None if it has none."""
    return db.session.scalar(select(User).where(User.department_id == department_id, User.role == Role.DEPARTMENT,
                                                User.is_active.is_(True)).order_by(User.id))
