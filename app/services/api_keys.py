"""API keys: ``cdk_<prefix>_<secret>``, 256 random bits, only the SHA-256 stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from app.models import ApiKey, Department
from app.services import clock


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(department: Department, name: str) -> tuple[ApiKey, str]:
    """A new key for the department; the token is returned once and never stored."""
    prefix = secrets.token_hex(6)
    token = f"cdk_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(department=department, name=name.strip()[:100] or "key", prefix=prefix, key_hash=_hash(token))
    db.session.add(key)
    db.session.commit()
    return key, token


def authenticate(token: str | None) -> ApiKey | None:
    """The active key for a bearer token, or None; every failure looks the same to the caller."""
    if not token or not token.startswith("cdk_") or token.count("_") < 2:
        return None
    prefix = token.split("_", 2)[1]
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, _hash(token)):
        return None
    key.last_used_at = clock.now()
    db.session.commit()
    return key


def revoke_key(prefix: str) -> ApiKey:
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise NotFound()
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        db.session.commit()
    return key
