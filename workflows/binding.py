"""Binding (主体认证): an account verified as acting for a subject (DESIGN sections 2, 5).

Not a credit case: a binding ties one account to one subject, and until it is verified the
account sees only what the public sees and files nothing in the subject's name. It is
verified at once by the identity service's verified claims (OpenID Connect), or by an officer
who checks the uploaded licence or identity card (and an agent's authorisation letter) within
the ``identity_check`` deadline. A verified binding ends when the account holder gives it up,
when the subject's legal representative ends an agent's binding, or when an officer ends it;
access ends with it, at once.

The deadline's length is ``policy["sla"]["binding"]["identity_check"]`` when the policy
version has one, else the default in ``app/services/accounts/binding.py`` (2 working days).
"""
from enum import StrEnum

from workflows.definition import (
    APPLICANT,
    N_,
    NO_SLA,
    STAFF,
    SYSTEM,
    Clock,
    State,
    Workflow,
    transition,
)


class BindingState(StrEnum):
    UNVERIFIED = "unverified"
    AWAITING_CHECK = "awaiting_check"
    VERIFIED = "verified"
    ENDED = "ended"


class BindingTrigger(StrEnum):
    """Like the record's, a binding is changed by named services, so its triggers have names in code."""

    SEND_DOCUMENTS = "send_documents"
    VERIFY = "verify"
    REFUSE = "refuse"
    VERIFY_BY_CLAIMS = "verify_by_claims"
    VERIFY_BY_MIGRATION = "verify_by_migration"
    END_BINDING = "end_binding"


S, T = BindingState, BindingTrigger

BINDING = Workflow(
    name="binding",
    label=N_("Subject binding"),
    initial=S.UNVERIFIED,
    clocks=(
        Clock("identity_check", N_("Identity check"), description="an officer checks the documents"),
    ),
    states=(
        # Signed up, or refused: the account holder uploads the documents (again).
        State(S.UNVERIFIED, N_("Not verified"), clocks=NO_SLA),
        State(S.AWAITING_CHECK, N_("Awaiting identity check"), clocks=("identity_check",)),
        # The account acts for the subject here: sees its records and cases, files in its name.
        State(S.VERIFIED, N_("Verified"), clocks=NO_SLA, done=True),
        State(S.ENDED, N_("Binding ended"), final=True),
    ),
    transitions=(
        transition(T.SEND_DOCUMENTS, S.UNVERIFIED, S.AWAITING_CHECK, APPLICANT,
                   guards=["is_account_holder", "documents_complete"], label=N_("Send for verification")),
        transition(T.VERIFY, S.AWAITING_CHECK, S.VERIFIED, STAFF, effects=["tell_bound_accounts"],
                   label=N_("Verify")),
        transition(T.REFUSE, S.AWAITING_CHECK, S.UNVERIFIED, STAFF, reason=True, label=N_("Refuse"),
                   templates=(N_("The document is unreadable."), N_("The name does not match the document."),
                              N_("The authorisation letter is missing or not signed."))),
        # The identity service's verified claims name this subject: verified at once.
        transition(T.VERIFY_BY_CLAIMS, S.UNVERIFIED, S.VERIFIED, SYSTEM, effects=["tell_bound_accounts"],
                   label=N_("Verified by the identity service")),
        # Accounts bound before verification existed (migration 0013).
        transition(T.VERIFY_BY_MIGRATION, S.UNVERIFIED, S.VERIFIED, SYSTEM, label=N_("Verified by migration")),
        transition(T.END_BINDING, S.VERIFIED, S.ENDED, (APPLICANT, *STAFF), guards=["may_end_binding"],
                   reason=True, label=N_("End the binding")),
    ),
)

# The states in which a binding lets its account act for the subject.
GRANTS_ACCESS = BINDING.states_where(lambda s: s.done and not s.final)
