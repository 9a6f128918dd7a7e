"""The policy: the rules in force (periods, clocks, repair) and their versions as admins manage them.

Use cases (each commits once, or raises and is rolled back): ``create_version``,
``withdraw_version``. The rest are queries and the pure rules that compute under a body.
"""
from app.services.policy.rules import (
    ClockRule,
    NoPolicy,
    RecordDates,
    clock_rule,
    compute_record_dates,
    get_policy,
    get_policy_in_force,
)
from app.services.policy.versions import (
    Behind,
    Preview,
    count_behind,
    create_version,
    get_version,
    list_versions,
    preview_draft,
    withdraw_version,
)

__all__ = [
    "Behind", "ClockRule", "NoPolicy", "Preview", "RecordDates", "clock_rule", "compute_record_dates",
    "count_behind", "create_version", "get_policy", "get_policy_in_force", "get_version", "list_versions",
    "preview_draft", "withdraw_version",
]
