"""The admin audit trail: one row per change an admin makes, with the object before and after.

The row is added to the session of the change itself, so both commit or neither does.
"""
from __future__ import annotations

from app.extensions import db
from app.models import AdminAudit, User


def audit_admin_change(actor: User, action: str, object_type: str, object_id: int | None,
                       before: dict | None, after: dict | None) -> AdminAudit:
    """Record ``action`` (e.g. "department.update") on an object, in the caller's transaction."""
    entry = AdminAudit(actor_id=actor.id, action=action,
                       object_type=object_type, object_id=object_id, before=before, after=after)
    db.session.add(entry)
    return entry
