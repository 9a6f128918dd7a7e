"""Notices: the outbox written in the transaction of the change, the dispatcher, the texts."""
from app.services.notices.dispatch import DispatchResult, dispatch_pending, list_inbox, retry_notices
from app.services.notices.outbox import enqueue

__all__ = ["DispatchResult", "dispatch_pending", "enqueue", "list_inbox", "retry_notices"]
