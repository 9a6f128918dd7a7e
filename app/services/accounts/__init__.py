"""Accounts: sign-in, users, password links, departments with their keys and webhooks.

Use cases (each commits once, or raises and is rolled back):
``authenticate``, ``create_user``, ``set_active``, ``change_role``, ``issue_reset``,
``complete_reset``, ``create_department``, ``update_department``, ``add_webhook``,
``set_webhook_active``, ``subscribe_webhook``, ``unsubscribe_webhook``, ``create_key``,
``revoke_key``, ``authenticate_key``. The rest are queries and the password hash.
"""
from app.services.accounts.api_keys import authenticate_key, create_key, revoke_key
from app.services.accounts.departments import (
    DepartmentDetails,
    DepartmentRow,
    add_webhook,
    create_department,
    find_department_by_code,
    get_department,
    get_department_actor,
    list_departments_with_counts,
    list_keys,
    list_webhooks,
    set_webhook_active,
    subscribe_webhook,
    unsubscribe_webhook,
    update_department,
)
from app.services.accounts.directory import list_departments, list_officers
from app.services.accounts.password_reset import IssuedReset, complete_reset, find_reset, issue_reset
from app.services.accounts.signin import (
    authenticate,
    check_password,
    get_active_user,
    get_user_by_username,
    hash_password,
)
from app.services.accounts.users import NewUser, change_role, create_user, search_users, set_active

__all__ = [
    "DepartmentDetails", "DepartmentRow", "IssuedReset", "NewUser", "add_webhook", "authenticate",
    "authenticate_key", "change_role", "check_password", "complete_reset", "create_department", "create_key",
    "create_user", "find_department_by_code", "find_reset", "get_active_user", "get_department", "get_department_actor",
    "get_user_by_username", "hash_password", "issue_reset", "list_departments", "list_departments_with_counts",
    "list_keys", "list_officers", "list_webhooks", "revoke_key", "search_users", "set_active",
    "set_webhook_active", "subscribe_webhook", "unsubscribe_webhook", "update_department",
]
