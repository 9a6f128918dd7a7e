"""Password recovery by e-mail (issue 13): "Forgot password?" on the sign-in page, and the links
admins issue.

Its own small aggregate above accounts (the links, the password rule, the sessions) and notices
(the outbox and the dispatcher), which are siblings and may not use each other: the link's
token is minted here when its mail is sent, by the maker this package registers with the
dispatcher (``SEND_TIME_FIELDS``), so the outbox holds only the link's id. Use cases (each
commits once, or raises and is rolled back): ``request_recovery``, ``issue_reset``.
``recovery_available`` is a query.
"""
from app.services.recovery.links import IssuedReset, issue_reset, recovery_available, request_recovery

__all__ = ["IssuedReset", "issue_reset", "recovery_available", "request_recovery"]
