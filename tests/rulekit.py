"""Small helpers for the rule tests (tests/service/test_rules_*.py, test_workflow_walk.py).

Each rule test builds rows that differ from a passing one in exactly one property, so a test
can tell a rule present from a rule removed. These helpers make such twins, a policy version
that differs from the defaults in one value, and they watch what one use case commits.
"""
from __future__ import annotations

import copy
import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import event, select

from app.extensions import db
from app.models import Notification, Policy
from tests.factories import make_record

_versions = itertools.count(900)
_seq = itertools.count(1)


def record_like(**columns):
    """A record made by the factory, then with ``columns`` set as they are (the twin's one difference).

    Set after building, so the policy cannot recompute them: ``is_public``, ``state``,
    ``publicity_start``, ``publicity_end``, ``under_objection`` ... Factory keywords
    (``subject``, ``department``, ``decision_date`` ...) go to the factory.
    """
    factory_keys = {"subject", "department", "severity", "decision_date", "category", "decision_number",
                    "facts", "sanction", "sanction_kinds", "sector", "policy", "publish_minor"}
    factory_kw = {k: v for k, v in columns.items() if k in factory_keys}
    factory_kw.setdefault("decision_number", f"规则〔2026〕{next(_seq)}号")
    record = make_record(**factory_kw)
    for name, value in columns.items():
        if name not in factory_keys:
            setattr(record, name, value)
    db.session.flush()
    return record


def policy_like(change, base_version: int = 1) -> Policy:
    """A new policy version equal to ``base_version`` but for ``change(body)``.

    Effective in 2099, so it is never the policy in force: only records and cases built under
    it (``make_record(policy=...)``) read it.
    """
    base = db.session.scalar(select(Policy).where(Policy.version == base_version))
    body = copy.deepcopy(base.body)
    change(body)
    policy = Policy(version=next(_versions), effective_from=date(2099, 1, 1), body=body, note="rule test")
    db.session.add(policy)
    db.session.flush()
    return policy


@dataclass(frozen=True)
class Notice:
    template: str
    user_id: int | None
    department_id: int | None
    key: str
    channel: str = "inbox"


def notice_rows(after_id: int = 0, channel: str | None = "inbox") -> set[Notice]:
    stmt = select(Notification).where(Notification.id > after_id)
    if channel:
        stmt = stmt.where(Notification.channel == channel)
    return {
        Notice(n.template, n.recipient_user_id, n.recipient_department_id, n.key, n.channel)
        for n in db.session.scalars(stmt)
    }


def last_notice_id() -> int:
    return db.session.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1)) or 0


@contextmanager
def one_commit():
    """Fail unless the block commits exactly once, and keep only what that commit wrote.

    After the block the session is rolled back, so anything written but not committed (a
    notice enqueued after the commit, say) is gone before the test looks; one commit and the
    rows still there means the change and its notices went in the same transaction.
    """
    session = db.session()
    commits = []

    def count(committed):
        if not committed.in_nested_transaction():  # a SAVEPOINT released inside the use case is no commit
            commits.append(1)

    event.listen(session, "after_commit", count)
    try:
        yield
    finally:
        event.remove(session, "after_commit", count)
    assert len(commits) == 1, f"expected one commit, saw {len(commits)}"
    db.session.rollback()
