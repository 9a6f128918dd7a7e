"""The policy: the rules in force (periods, clocks, repair) and their versions as admins manage them."""
from app.services.policy.rules import (
    ClockRule,
    NoPolicy,
    RecordDates,
    clock_rule,
    compute_record_dates,
    get_policy,
    get_policy_in_force,
)

__all__ = ["ClockRule", "NoPolicy", "RecordDates", "clock_rule", "compute_record_dates", "get_policy", "get_policy_in_force"]
