"""Sign-up by e-mail (issue 12): the form tells nothing; the link in the mail makes the account.

Its own small aggregate, above accounts (passwords, subjects), notices (the mail) and binding
(the new account's unverified binding). Use cases (each commits once, or raises and is rolled
back): ``request_sign_up``, ``finish_sign_up``, ``purge_sign_up_requests``. ``find_sign_up`` and ``sign_up_available`` are
queries.
"""
from app.services.signup.requests import (
    LIFETIME,
    PendingSignUp,
    SentMail,
    SignUpDetails,
    find_sign_up,
    finish_sign_up,
    purge_sign_up_requests,
    request_sign_up,
    sign_up_available,
)

__all__ = [
    "LIFETIME", "PendingSignUp", "SentMail", "SignUpDetails", "find_sign_up", "finish_sign_up",
    "purge_sign_up_requests", "request_sign_up", "sign_up_available",
]
