"""Closed vocabularies of the domain. Stored as short strings, checked by the database."""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint

# A record's states are its workflow's, named there; re-exported beside the other vocabularies.
from workflows.record import IN_PUBLICITY as IN_PUBLICITY
from workflows.record import RecordState as RecordState


class SubjectKind(StrEnum):
    LEGAL = "legal"  # legal entity, identified by its unified social credit code
    NATURAL = "natural"  # natural person, identified by the resident identity number


class Role(StrEnum):
    APPLICANT = "applicant"
    OFFICER = "officer"
    DEPARTMENT = "department"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class BindingCapacity(StrEnum):
    """In which capacity an account acts for its subject."""

    SELF = "self"  # the natural person itself
    LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代表人 of a company
    AGENT = "agent"  # 经办人 with an authorisation letter (授权委托书)


class BindingMethod(StrEnum):
    OFFICER = "officer"  # an officer checked the documents
    OIDC = "oidc"  # verified claims of the identity service
    MIGRATION = "migration"  # bound before verification existed (migration 0013)
    DEMO = "demo"  # the demo data's accounts


class SubjectNameSource(StrEnum):
    """Where the platform's name for a subject comes from (issue 12): an unverified account's word
    is never the public's name for it."""

    DEPARTMENT = "department"  # a department's record
    VERIFIED = "verified"  # documents an officer checked, or the identity service's verified claims
    CLAIMED = "claimed"  # typed at sign-up; replaced by the first department or verified name


class NameMismatchOrigin(StrEnum):
    """Who gave the name that differs from the platform's."""

    DEPARTMENT = "department"  # a record entered, imported or sent by the API
    OFFICER = "officer"  # the documents an officer verified
    OIDC = "oidc"  # the identity service's verified claims


class BindingDocumentKind(StrEnum):
    BUSINESS_LICENCE = "business_licence"  # 营业执照
    IDENTITY_CARD = "identity_card"  # 居民身份证
    AUTHORISATION_LETTER = "authorisation_letter"  # 授权委托书


class RecordCategory(StrEnum):
    ADMINISTRATIVE_PENALTY = "administrative_penalty"
    SERIOUS_DISHONESTY_LIST = "serious_dishonesty_list"
    ABNORMAL_OPERATION_LIST = "abnormal_operation_list"
    OTHER = "other"


class RecordClass(StrEnum):
    MINOR = "minor"
    GENERAL = "general"
    SERIOUS = "serious"


class CaseKind(StrEnum):
    OBJECTION = "objection"
    COMPLAINT = "complaint"
    REPAIR = "repair"


CASE_NUMBER_PREFIX = {
    CaseKind.OBJECTION: "YY",  # 异议
    CaseKind.COMPLAINT: "TS",  # 投诉
    CaseKind.REPAIR: "XF",  # 修复
}


class AttachmentPurpose(StrEnum):
    EVIDENCE = "evidence"
    OBLIGATION_PROOF = "obligation_proof"
    CREDIT_COMMITMENT = "credit_commitment"
    SUPPLEMENT = "supplement"
    DEPARTMENT_REPLY = "department_reply"
    DECISION = "decision"


class TimerUnit(StrEnum):
    WORKING_DAYS = "wd"
    CALENDAR_DAYS = "cd"


class TimerStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class Channel(StrEnum):
    INBOX = "inbox"
    EMAIL = "email"
    WEBHOOK = "webhook"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher; the claim lapses at next_attempt_at
    SENT = "sent"
    DEAD = "dead"  # gave up after the retry limit; admins can retry


class OverrideKind(StrEnum):
    HOLIDAY = "holiday"  # a day off that would otherwise be a working day
    WORKDAY = "workday"  # a working day that would otherwise be off (调休上班)


def check_in(column: str, values: type[StrEnum] | tuple[str, ...], name: str | None = None) -> CheckConstraint:
    """A CHECK constraint that keeps a string column inside its vocabulary."""
    allowed = ", ".join(f"'{v}'" for v in (values if isinstance(values, tuple) else [m.value for m in values]))
    return CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_allowed")
