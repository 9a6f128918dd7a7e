"""Typed SQLAlchemy models, one module per aggregate. Importing this package registers them all."""
from app.models.apikey import ApiKey
from app.models.audit import AdminAudit
from app.models.binding import BindingDocument, BindingEvent, SubjectBinding
from app.models.calendar import CalendarOverride
from app.models.case import Attachment, Case, CaseEvent, CaseNumberCounter, QueueCount, Timer
from app.models.import_run import ImportRun, ImportState
from app.models.jobs import JobRun, RecomputeRun, RecomputeState
from app.models.letter import Letter, LetterNumberCounter
from app.models.notification import Notification
from app.models.org import Department, Subject, SubjectNameMismatch, User
from app.models.personal import PersonalData
from app.models.policy import Policy
from app.models.record import CreditRecord, ExpiryRun, RecordEvent
from app.models.security import PasswordReset, SignInAttempt, SignUpRequest
from app.models.session import UserSession
from app.models.statistics import StatisticsSnapshot
from app.models.stored_blob import StoredBlob
from app.models.two_factor import RecoveryCode, TwoFactor, TwoFactorChallenge
from app.models.webhook import WebhookSubscription

__all__ = [
    "AdminAudit",
    "BindingDocument",
    "BindingEvent",
    "ApiKey",
    "Attachment",
    "CalendarOverride",
    "Case",
    "CaseEvent",
    "CaseNumberCounter",
    "QueueCount",
    "CreditRecord",
    "Department",
    "ExpiryRun",
    "ImportRun",
    "ImportState",
    "JobRun",
    "Letter",
    "LetterNumberCounter",
    "Notification",
    "PasswordReset",
    "PersonalData",
    "Policy",
    "RecomputeRun",
    "RecomputeState",
    "RecordEvent",
    "RecoveryCode",
    "SignInAttempt",
    "SignUpRequest",
    "StatisticsSnapshot",
    "StoredBlob",
    "Subject",
    "SubjectBinding",
    "SubjectNameMismatch",
    "Timer",
    "TwoFactor",
    "TwoFactorChallenge",
    "User",
    "UserSession",
    "WebhookSubscription",
]
