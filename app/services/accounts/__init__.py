"""Accounts: sign-in, users, password links, departments with their keys and webhooks.

Use cases (each commits once, or raises and is rolled back):
``authenticate``, ``create_user``, ``set_active``, ``change_role``, ``complete_reset``,
``change_password`` (links by mail: ``app.services.recovery``), ``create_department``, ``update_department``, ``add_webhook``,
``set_webhook_active``, ``subscribe_webhook``, ``unsubscribe_webhook``, ``create_key``,
``revoke_key``, ``authenticate_key``; sessions (``sessions``): ``start_session``, ``resume_session``,
``end_session``, ``end_own_session``, ``end_own_sessions``, ``admin_end_sessions``, and the step
``end_all_sessions`` every change calls that must sign a user out everywhere. Two factors
(``two_factor``): ``begin_second_factor``, ``prepare_enrolment``, ``confirm_enrolment``,
``confirm_pending_enrolment``, ``verify_second_factor``, ``renew_recovery_codes``, ``reset_two_factor``. The rest are queries and the password hash.
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
from app.services.accounts.password_reset import change_password, complete_reset, find_reset
from app.services.accounts.passwords import password_problems
from app.services.accounts.sessions import (
    EndReason,
    account_usable,
    admin_end_sessions,
    count_live_sessions,
    end_all_sessions,
    end_department_sessions,
    end_own_session,
    end_own_sessions,
    end_session,
    list_live_sessions,
    resume_session,
    start_session,
)
from app.services.accounts.signin import (
    authenticate,
    check_password,
    get_active_user,
    get_user_by_username,
    hash_password,
)
from app.services.accounts.two_factor import (
    STAFF_ROLES,
    STRONG,
    Enrolment,
    PendingSignIn,
    Strength,
    TwoFactorStatus,
    Verified,
    begin_second_factor,
    confirm_enrolment,
    confirm_pending_enrolment,
    is_staff,
    pending_user,
    prepare_enrolment,
    renew_recovery_codes,
    reset_two_factor,
    two_factor_status,
    verify_second_factor,
)
from app.services.accounts.users import NewUser, change_role, create_user, search_users, set_active

__all__ = [
    "DepartmentDetails", "DepartmentRow", "NewUser", "add_webhook", "authenticate",
    "authenticate_key", "change_role", "check_password", "complete_reset", "create_department", "create_key",
    "create_user", "find_department_by_code", "find_reset", "get_active_user", "get_department", "get_department_actor",
    "get_user_by_username", "hash_password", "list_departments", "list_departments_with_counts",
    "list_keys", "list_officers", "list_webhooks", "revoke_key", "search_users", "set_active",
    "set_webhook_active", "subscribe_webhook", "unsubscribe_webhook", "update_department",
    # Passwords (issue 13)
    "change_password", "password_problems",
    # Sessions (issue 13)
    "EndReason", "account_usable", "admin_end_sessions", "count_live_sessions", "end_all_sessions",
    "end_department_sessions", "end_own_session", "end_own_sessions", "end_session", "list_live_sessions",
    "resume_session", "start_session",
    # Two factors for staff (issue 13)
    "STAFF_ROLES", "STRONG", "Enrolment", "PendingSignIn", "Strength", "TwoFactorStatus", "Verified", "begin_second_factor",
    "confirm_enrolment", "confirm_pending_enrolment", "is_staff", "pending_user", "prepare_enrolment",
    "renew_recovery_codes", "reset_two_factor", "two_factor_status", "verify_second_factor",
]
