"""Answers read once per transaction (app.services.memo): asked once, and asked again whenever
the transaction changed what they were read from, or ended (issue 16, item 5)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from app.models import CalendarOverride, SubjectBinding
from app.models.enums import BindingCapacity, BindingMethod, Role
from app.services.binding import is_verified_for
from app.services.binding.verification import bind_verified, end_binding
from app.services.calendar import get_working_calendar
from app.services.policy import get_policy, get_policy_in_force
from tests.factories import make_user
from tests.statements import recorded_statements as counting
from workflows import BindingState


def _binding_reads(statements: list[str]) -> int:
    return sum(s.startswith("SELECT subject_binding.id") for s in statements)


def test_the_binding_is_read_once_in_a_transaction(db):
    applicant = make_user(Role.APPLICANT)
    db.session.commit()
    with counting() as statements:
        assert is_verified_for(applicant, applicant.subject_id)
        assert is_verified_for(applicant, applicant.subject_id)
    assert _binding_reads(statements) == 1
    db.session.commit()  # the next transaction asks again
    with counting() as statements:
        assert is_verified_for(applicant, applicant.subject_id)
    assert _binding_reads(statements) == 1


def test_an_ended_binding_ends_access_at_the_next_question(db):
    applicant = make_user(Role.APPLICANT)
    binding = db.session.scalar(select(SubjectBinding).where(SubjectBinding.user_id == applicant.id))
    assert is_verified_for(applicant, applicant.subject_id)
    end_binding(applicant, binding.id, "不再代办")
    assert not is_verified_for(applicant, applicant.subject_id)


def test_a_binding_verified_in_the_transaction_is_seen_at_once(db):
    applicant = make_user(Role.APPLICANT, verified=False)
    assert not is_verified_for(applicant, applicant.subject_id)
    bind_verified(applicant, BindingMethod.MIGRATION)  # flushes, no commit
    assert is_verified_for(applicant, applicant.subject_id)


def test_a_binding_not_flushed_yet_is_seen_too(db):
    applicant = make_user(Role.APPLICANT, verified=False)
    assert not is_verified_for(applicant, applicant.subject_id)
    db.session.add(SubjectBinding(user_id=applicant.id, subject_id=applicant.subject_id, state=BindingState.VERIFIED,
                                  capacity=BindingCapacity.LEGAL_REPRESENTATIVE, claimed_name="主体"))
    assert is_verified_for(applicant, applicant.subject_id)  # the query flushes it, as without the memo


def test_a_statement_that_updates_the_bindings_and_a_savepoint_rolled_back_are_seen(db):
    applicant = make_user(Role.APPLICANT)
    assert is_verified_for(applicant, applicant.subject_id)
    nested = db.session.begin_nested()
    db.session.execute(update(SubjectBinding).where(SubjectBinding.user_id == applicant.id)
                       .values(state=BindingState.ENDED).execution_options(synchronize_session=False))
    assert not is_verified_for(applicant, applicant.subject_id)
    nested.rollback()
    assert is_verified_for(applicant, applicant.subject_id)


def test_the_policy_in_force_brings_its_version_and_the_calendar_fingerprint_along(db):
    get_working_calendar()  # built for the overrides as they are
    db.session.commit()
    with counting() as statements:
        policy = get_policy_in_force()
        assert get_policy(policy.version) is policy
        get_working_calendar()
    assert len(statements) == 1, statements


def test_an_override_written_in_the_transaction_changes_the_calendar_at_once(db):
    day = date(2031, 3, 3)  # a Monday
    assert get_working_calendar().is_working_day(day)
    db.session.add(CalendarOverride(day=day, kind="holiday", note="试"))
    db.session.flush()
    assert not get_working_calendar().is_working_day(day)
