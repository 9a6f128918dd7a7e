"""The transaction rule, in one decorator: a use case commits once, or raises and is rolled back.

A use case is a function a package exports (``__all__``) that changes data: it calls its
package's steps (which flush, never commit), commits once at its end (a job at explicit batch
checkpoints), and returns. Whatever it raises, a refusal (``DomainError``) or a failure, leaves
the session rolled back, so the caller (a view that shows the form again, a CLI command, a job)
never sees half a change and never has to clean up. ``tests/unit/test_transaction_rule.py``
checks that every function that commits is exported and marked with this decorator.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from app.extensions import db

P = ParamSpec("P")
R = TypeVar("R")


def use_case(function: Callable[P, R]) -> Callable[P, R]:
    """Mark ``function`` as a use case: on any exception, roll the session back and re-raise."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise

    run.use_case = True  # type: ignore[attr-defined]
    return run
