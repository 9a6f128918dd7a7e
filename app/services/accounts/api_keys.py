"""API keys: ``cdk_<prefix>_<secret>``, 256 random bits, only the SHA-256 stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from app import clock
from app.errors import NotFound
from app.extensions import db
from app.models import ApiKey, Department, User
from app.services.audit import audit_admin_change
from app.services.transaction import use_case


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _snapshot(key: ApiKey) -> dict:
    return {"name": key.name, "prefix": key.prefix, "department_id": key.department_id,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}


@use_case
def create_key(department: Department, name: str, actor: User | None = None) -> tuple[ApiKey, str]:
    """A new key for the department; the token is returned once and never stored.
    An admin's action (``actor``) is audited; the CLI's is not (it runs as the operator)."""
    prefix = secrets.token_hex(6)
    token = f"cdk_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(department=department, name=name.strip()[:100] or "key", prefix=prefix, key_hash=_hash(token))
    db.session.add(key)
    db.session.flush()
    if actor is not None:
        audit_admin_change(actor, "apikey.create", "api_key", key.id, None, _snapshot(key))
    db.session.commit()
    return key, token


@use_case
def authenticate_key(token: str | None) -> ApiKey | None:
    """The active key for a bearer token, or None; every failure looks the same to the caller.
    A key of a deactivated department is refused at once (issue 13), and works again if the
    department is reactivated (revoking is for good). Records when the key was last used (its
    own small transaction, before the API call's)."""
    if not token or not token.startswith("cdk_") or token.count("_") < 2:
        return None
    prefix = token.split("_", 2)[1]
    key = db.session.scalar(select(ApiKey).join(ApiKey.department).options(contains_eager(ApiKey.department))
                            .where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, _hash(token)):
        return None
    if not key.department.is_active:
        return None
    key.last_used_at = clock.now()
    db.session.commit()
    return key


@use_case
def revoke_key(prefix: str, actor: User | None = None, department_id: int | None = None) -> ApiKey:
    """Revoke a key at once; revoking twice changes nothing. ``department_id`` scopes the lookup."""
    stmt = select(ApiKey).where(ApiKey.prefix == prefix)
    if department_id is not None:
        stmt = stmt.where(ApiKey.department_id == department_id)
    key = db.session.scalar(stmt)
    if key is None:
        raise NotFound()
    if key.revoked_at is None:
        before = _snapshot(key)
        key.revoked_at = clock.now()
        if actor is not None:
            audit_admin_change(actor, "apikey.revoke", "api_key", key.id, before, _snapshot(key))
        db.session.commit()
    return key
