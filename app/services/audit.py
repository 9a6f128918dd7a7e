"""The admin audit trail: one row per change an admin makes, with the object before and after.

The row is added to the session of the change itself, so both commit or neither does. A change
made from the command line without an admin account is audited as the system (no actor); one
made with a department's API key (its webhooks, through the API) names the key instead.
"""
from __future__ import annotations

from app.extensions import db
from app.models import AdminAudit, ApiKey, User


def audit_admin_change(actor: User | None, action: str, object_type: str, object_id: int | None,
                       before: dict | None, after: dict | None, *, api_key: ApiKey | None = None) -> AdminAudit:
    """Record ``action`` (e.g. "department.update") on an object, in the caller's transaction."""
    entry = AdminAudit(actor_id=actor.id if actor is not None else None, action=action,
                       api_key_id=api_key.id if api_key is not None else None,
                       object_type=object_type, object_id=object_id, before=before, after=after)
    db.session.add(entry)
    return entry
