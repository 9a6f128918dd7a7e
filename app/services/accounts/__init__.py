"""Accounts: sign-up and sign-in, users, password links, departments with their keys and webhooks."""
from app.services.accounts.signin import (
    SignUp,
    authenticate,
    check_password,
    get_active_user,
    get_user_by_username,
    hash_password,
    sign_up_applicant,
)

__all__ = [
    "SignUp", "authenticate", "check_password", "get_active_user", "get_user_by_username", "hash_password",
    "sign_up_applicant",
]
