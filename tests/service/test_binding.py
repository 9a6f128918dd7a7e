"""Subject binding (issue 12): only a verified account acts for its subject.

Each refused account differs from an allowed one in one property: not verified, verified for
another subject, or its binding ended.
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.errors import Conflict, Forbidden, InvalidInput
from app.models import BindingEvent, Notification
from app.models.enums import BindingCapacity, BindingDocumentKind, BindingMethod, CaseKind, Role, SubjectKind
from app.services.binding import (
    Upload,
    decide_binding,
    end_binding,
    get_current_binding,
    is_verified_for,
    list_bindings_waiting,
    send_documents,
)
from app.services.cases import can_view
from tests.factories import PDF, make_record, make_subject, make_user, repair_uploads, submit
from workflows import BindingState, BindingTrigger

LICENCE = Upload(BindingDocumentKind.BUSINESS_LICENCE, "licence.pdf", PDF)
ID_CARD = Upload(BindingDocumentKind.IDENTITY_CARD, "id.pdf", PDF)
LETTER = Upload(BindingDocumentKind.AUTHORISATION_LETTER, "letter.pdf", PDF)


def _templates_to(db, user) -> list[str]:
    return list(db.session.scalars(select(Notification.template).where(Notification.recipient_user_id == user.id)))


def test_an_unverified_account_sees_no_case_and_files_nothing(db):
    company = make_subject()
    owner = make_user(Role.APPLICANT, subject=company)
    stranger = make_user(Role.APPLICANT, subject=company, verified=False)
    case = submit(owner, CaseKind.REPAIR, make_record(subject=company, decision_date=date(2025, 1, 1)),
                  repair_uploads())
    assert can_view(owner, case) and not can_view(stranger, case)
    assert not is_verified_for(stranger, company.id)
    with pytest.raises(Forbidden):
        submit(stranger, CaseKind.OBJECTION, make_record(subject=company))


def test_officer_verification_from_upload_to_access(db):
    company = make_subject()
    first = make_user(Role.APPLICANT, subject=company)
    agent = make_user(Role.APPLICANT, subject=company, verified=False)
    officer = make_user(Role.OFFICER)
    case = submit(first, CaseKind.OBJECTION, make_record(subject=company))  # commits the setup

    with pytest.raises(Forbidden):  # an agent without its authorisation letter
        send_documents(agent, BindingCapacity.AGENT, [LICENCE, ID_CARD])
    binding = send_documents(agent, BindingCapacity.AGENT, [LICENCE, ID_CARD, LETTER])
    assert binding.state == BindingState.AWAITING_CHECK and binding.due_at is not None
    assert binding in list_bindings_waiting()
    assert not can_view(agent, case)  # waiting is not verified

    decide_binding(officer, binding.id, BindingTrigger.REFUSE, "授权委托书未签章", binding.version)
    assert binding.state == BindingState.UNVERIFIED and binding.due_at is None
    assert "binding_refused" in _templates_to(db, agent)
    send_documents(agent, BindingCapacity.AGENT, [LETTER])  # the other documents are kept
    with pytest.raises(Conflict):  # the page the officer saw is stale
        decide_binding(officer, binding.id, BindingTrigger.VERIFY, None, binding.version - 1)
    decide_binding(officer, binding.id, BindingTrigger.VERIFY, None, binding.version)

    assert binding.state == BindingState.VERIFIED and binding.method == BindingMethod.OFFICER
    assert can_view(agent, case)  # the subject's cases belong to its verified accounts
    assert "binding_added" in _templates_to(db, first)  # every bound account is told
    assert "binding_verified" in _templates_to(db, agent)
    triggers = db.session.scalars(select(BindingEvent.trigger).where(BindingEvent.binding_id == binding.id)
                                  .order_by(BindingEvent.seq)).all()
    assert triggers == ["send_documents", "refuse", "send_documents", "verify"]


def test_the_legal_representative_ends_an_agents_binding_and_access_ends_at_once(db):
    company = make_subject()
    lead = make_user(Role.APPLICANT, subject=company, capacity=BindingCapacity.LEGAL_REPRESENTATIVE)
    agent = make_user(Role.APPLICANT, subject=company, capacity=BindingCapacity.AGENT)
    other = make_user(Role.APPLICANT, subject=company, capacity=BindingCapacity.AGENT)
    case = submit(agent, CaseKind.OBJECTION, make_record(subject=company))  # commits the setup
    assert can_view(lead, case) and can_view(agent, case)

    with pytest.raises(Forbidden):  # an agent does not end another's binding
        end_binding(other, get_current_binding(lead).id, "不是我们的人")
    end_binding(lead, get_current_binding(agent).id, "已离职")

    assert not can_view(agent, case) and can_view(lead, case)
    assert not is_verified_for(agent, company.id)
    with pytest.raises(Forbidden):
        submit(agent, CaseKind.OBJECTION, make_record(subject=company))


def test_a_natural_person_acts_only_as_itself_with_the_identity_card(db):
    person = make_user(Role.APPLICANT, subject=make_subject(SubjectKind.NATURAL), verified=False)
    db.session.commit()  # a refusal rolls the use case back, not the test's data
    with pytest.raises(InvalidInput):
        send_documents(person, BindingCapacity.AGENT, [ID_CARD, LETTER])
    with pytest.raises(Forbidden):
        send_documents(person, BindingCapacity.SELF, [])
    assert send_documents(person, BindingCapacity.SELF, [ID_CARD]).state == BindingState.AWAITING_CHECK


def test_an_applicant_cannot_verify_itself(db):
    person = make_user(Role.APPLICANT, subject=make_subject(SubjectKind.NATURAL), verified=False)
    binding = send_documents(person, BindingCapacity.SELF, [ID_CARD])
    with pytest.raises(Forbidden):
        decide_binding(person, binding.id, BindingTrigger.VERIFY, None, binding.version)
    assert binding.state == BindingState.AWAITING_CHECK


def test_the_sla_job_reminds_the_officers_of_an_identity_check_once(db):
    from datetime import datetime

    from app import clock
    from app.services.binding import remind_identity_checks

    officer = make_user(Role.OFFICER)
    person = make_user(Role.APPLICANT, subject=make_subject(SubjectKind.NATURAL), verified=False)
    with clock.frozen_clock(datetime(2026, 11, 10, 10, 0)):  # a Tuesday: due Thursday the 12th
        binding = send_documents(person, BindingCapacity.SELF, [ID_CARD])
        assert remind_identity_checks() == 0  # two working days ahead: not yet
    with clock.frozen_clock(datetime(2026, 11, 11, 10, 0)):
        assert remind_identity_checks() == 1
        assert remind_identity_checks() == 0  # once per deadline
    assert binding.due_soon_at is not None
    assert _templates_to(db, officer) == ["binding_due"]
