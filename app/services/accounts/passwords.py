"""The password rule where accounts set a password: sign-up, a reset link, a change, an admin's
new account (issue 13). The rule itself is ``app.passwords`` (a pure helper, so that the forms
apply the same one); here it gets the account's names, and a refusal is an ``InvalidInput``.

The forms check first, with the names they hold; this check is the one no path can skip (the
API, the CLI, a form that forgot its validator), and it knows the names a form does not: the
account's user name, address, display name and its subject's name.
"""
from __future__ import annotations

from collections.abc import Iterable

from app.errors import InvalidInput
from app.extensions import db
from app.models import Subject, User
from app.passwords import password_problems

__all__ = ["account_names", "password_problems", "require_acceptable_password"]


def account_names(user: User) -> list[str]:
    """The names a password of this account must not contain."""
    names = [user.username, user.email or "", user.display_name or ""]
    if user.subject_id is not None:
        subject = db.session.get(Subject, user.subject_id)
        if subject is not None:
            names.append(subject.name)
    return names


def require_acceptable_password(password: str, *, names: Iterable[str] = (), user: User | None = None) -> None:
    """Raise ``InvalidInput`` with every reason when the password is refused."""
    all_names = list(names) + (account_names(user) if user is not None else [])
    problems = password_problems(password, names=all_names)
    if problems:
        raise InvalidInput(" ".join(problems))
