"""Notices: the outbox written in the transaction of the change, the dispatcher, the texts.

Use cases (each commits, or raises and is rolled back): ``claim_due`` and ``dispatch_pending``
(the dispatch job: ``dispatch``, the messages it sends: ``delivery``), ``retry_notices``.
``list_inbox`` and ``inbox_entries`` (the inbox as pages show it, digests together) are queries.

``enqueue`` is a step, not exported: it writes a notice into the caller's transaction, for the
other service packages (``from app.services.notices.outbox import enqueue``).
"""
from app.services.notices.dispatch import DispatchResult, claim_due, dispatch_pending
from app.services.notices.inbox import InboxEntry, inbox_entries, list_inbox, retry_notices

__all__ = ["DispatchResult", "InboxEntry", "claim_due", "dispatch_pending", "inbox_entries", "list_inbox",
           "retry_notices"]
