"""Typed SQLAlchemy models, one module per aggregate. Importing this package registers them all."""
from app.models.apikey import ApiKey
from app.models.audit import AdminAudit
from app.models.binding import BindingDocument, BindingEvent, SubjectBinding
from app.models.calendar import CalendarOverride
from app.models.case import Attachment, Case, CaseEvent, CaseNumberCounter, Timer
from app.models.jobs import JobRun
from app.models.notification import Notification
from app.models.org import Department, Subject, User
from app.models.policy import Policy
from app.models.record import CreditRecord, RecordEvent
from app.models.security import PasswordReset, SignInAttempt
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
    "CreditRecord",
    "Department",
    "JobRun",
    "Notification",
    "PasswordReset",
    "Policy",
    "RecordEvent",
    "SignInAttempt",
    "Subject",
    "SubjectBinding",
    "Timer",
    "User",
    "WebhookSubscription",
]
