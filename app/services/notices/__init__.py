"""Notices: the outbox written in the transaction of the change, the dispatcher, the texts.

Use cases (each commits, or raises and is rolled back): ``claim_due`` and ``dispatch_pending``
(the dispatch job: ``dispatch``, the messages it sends: ``delivery``), ``retry_notices``.
``list_inbox`` is a query.

``enqueue`` is a step, not exported: it writes a notice into the caller's transaction, for the
other service packages (``from app.services.notices.outbox import enqueue``).
"""
from app.services.notices.dispatch import DispatchResult, claim_due, dispatch_pending
from app.services.notices.inbox import list_inbox, retry_notices

__all__ = ["DispatchResult", "claim_due", "dispatch_pending", "list_inbox", "retry_notices"]
