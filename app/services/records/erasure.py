"""What the retention purge erases, and when (issue 13, item 7; DESIGN sections 6 and 9).

Steps in the purge's transaction (``retention.purge_expired_personal_data`` commits each batch);
each is a few set-based statements over a batch of ids, never a loop over rows.

**A record** past retention (5 years after it left publicity, ``retention_after_retirement``):
its facts and sanction are cleared (``retention``) and here the personal data of its events
(the reasons, the corrected texts) is erased.

**A case** closed more than the same period ago, whether or not its subject stays: its title,
statement and outcome reason become ``[已清除]``, its evidence files are deleted (rows, and the
stored files that no other row still uses), its letters' PDFs are deleted (their number, kind,
date and outcome stay, for the public verification page), and the personal data of its events
is erased.

**A subject** goes once nothing of it is kept and nobody acts for it: every record of it purged,
every case of it erased, no active account acting for it (an account that names the subject
and is active, unless every binding it had to the subject has ended), and the subject itself
older than the retention period (a subject created last week is not "nothing kept"). Then: its
name becomes ``[已清除]``, its identifier ``[已清除]<id>``, its birth date goes; its name
mismatches are deleted; its bindings' claimed names, reasons, documents and event data are
erased; the accounts that named it are anonymised and deactivated (user name ``[已清除]<id>``,
no e-mail, no display name, no password, no identity-provider link, their sessions ended, their
second factor deleted) with
their admin-audit snapshots, their inbox and their sign-in attempts; and the notices about its
bindings are deleted.

The identifier is not replaced by a keyed pseudonym (an HMAC of the number): whoever holds the
key could compute it again from a known number and find the subject's whole trail, which is
what erasure must prevent. ``[已清除]<id>`` keeps the column unique, can never be a valid code or
identity number (both are checked on every input path), and links to nothing.

What stays: every event and audit row, with its actor, time, object, trigger and states (the
trail replays); ids, case numbers, decision numbers, kinds, dates and outcomes.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, cast, delete, exists, func, literal, not_, or_, select, update

from app.extensions import db
from app.models import (
    AdminAudit,
    Attachment,
    BindingDocument,
    BindingEvent,
    Case,
    CaseEvent,
    CreditRecord,
    Letter,
    Notification,
    PersonalData,
    RecordEvent,
    SignInAttempt,
    SignUpRequest,
    Subject,
    SubjectBinding,
    SubjectNameMismatch,
    User,
)
from app.models.personal import ERASED
from app.services import uploads
from app.services.accounts.housekeeping import delete_two_factor
from app.services.accounts.sessions import end_all_sessions
from workflows import BINDING, RECORD, RecordTrigger

PURGED = RECORD.dest(RecordTrigger.PURGE)
BINDING_ENDED = tuple(s.name for s in BINDING.states if s.final)
# The notices about a binding name its subject; their keys start so, then the binding's id.
BINDING_NOTICE_KEYS = ("binding", "binding-added", "binding-due", "binding-overdue")
ERASED_SESSION = "erased"
KEYS_PER_STATEMENT = 200  # LIKE patterns per DELETE of binding notices


def _erase_personal_data(pointers, now: datetime) -> None:
    """Blank the personal data the rows selected by ``pointers`` (a select of ids) point to."""
    db.session.execute(
        update(PersonalData).where(PersonalData.id.in_(pointers), PersonalData.erased_at.is_(None))
        .values(body=None, erased_at=now)
    )


def erase_record_events(record_ids: list[int], now: datetime) -> None:
    """The personal data of the records' events (reasons, corrected texts)."""
    _erase_personal_data(select(RecordEvent.personal_data_id).where(RecordEvent.record_id.in_(record_ids)), now)


def cases_to_erase(cutoff: datetime, after_id: int, limit: int) -> list[int]:
    """The next cases (by id, after ``after_id``) closed before ``cutoff`` and not erased yet, locked."""
    return list(db.session.scalars(
        select(Case.id).where(Case.id > after_id, Case.erased_at.is_(None), Case.closed_at < cutoff)
        .order_by(Case.id).limit(limit).with_for_update(skip_locked=True)
    ))


def erase_cases(case_ids: list[int], now: datetime) -> int:
    """Erase the cases' texts, files and event data; returns how many stored files were deleted."""
    db.session.execute(
        update(Case).where(Case.id.in_(case_ids))
        .values(title=ERASED, statement=ERASED, erased_at=now, updated_at=now, version=Case.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Case).where(Case.id.in_(case_ids), Case.outcome_reason.isnot(None))
        .values(outcome_reason=ERASED).execution_options(synchronize_session=False)
    )
    _erase_personal_data(select(CaseEvent.personal_data_id).where(CaseEvent.case_id.in_(case_ids)), now)
    db.session.execute(  # a letter names the applicant and states the facts; its number and kind stay
        update(Letter).where(Letter.case_id.in_(case_ids), Letter.erased_at.is_(None))
        .values(pdf=None, erased_at=now).execution_options(synchronize_session=False)
    )
    digests = set(db.session.scalars(select(Attachment.sha256).where(Attachment.case_id.in_(case_ids))))
    db.session.execute(delete(Attachment).where(Attachment.case_id.in_(case_ids))
                       .execution_options(synchronize_session=False))
    return discard_unused_files(digests)


def subjects_to_erase(cutoff: datetime, after_id: int, limit: int) -> list[int]:
    """The next subjects (by id, after ``after_id``) that nothing keeps any more, locked."""
    s = Subject
    acting_account = exists().where(
        User.subject_id == s.id, User.is_active.is_(True),
        or_(
            exists().where(SubjectBinding.user_id == User.id, SubjectBinding.subject_id == s.id,
                           SubjectBinding.state.notin_(BINDING_ENDED)),
            not_(exists().where(SubjectBinding.user_id == User.id, SubjectBinding.subject_id == s.id)),
        ),
    )
    return list(db.session.scalars(
        select(s.id).where(
            s.id > after_id, s.erased_at.is_(None), s.created_at < cutoff,
            not_(exists().where(CreditRecord.subject_id == s.id, CreditRecord.state != PURGED)),
            not_(exists().where(Case.subject_id == s.id, Case.erased_at.is_(None))),
            not_(acting_account),
        ).order_by(s.id).limit(limit).with_for_update(skip_locked=True)
    ))


def erase_subjects(subject_ids: list[int], now: datetime) -> int:
    """Erase the subjects, their bindings and the accounts that named them; returns how many
    stored files were deleted."""
    db.session.execute(
        update(Subject).where(Subject.id.in_(subject_ids))
        .values(name=ERASED, identifier=literal(ERASED) + cast(Subject.id, String), birth_date=None, erased_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(SubjectNameMismatch).where(SubjectNameMismatch.subject_id.in_(subject_ids))
                       .execution_options(synchronize_session=False))
    _erase_personal_data(select(AdminAudit.personal_data_id).where(
        AdminAudit.object_type == "subject", AdminAudit.object_id.in_(subject_ids)), now)

    binding_ids = list(db.session.scalars(select(SubjectBinding.id).where(SubjectBinding.subject_id.in_(subject_ids))))
    digests: set[str] = set()
    if binding_ids:
        db.session.execute(
            update(SubjectBinding).where(SubjectBinding.id.in_(binding_ids))
            .values(claimed_name=ERASED, reason=None, version=SubjectBinding.version + 1)
            .execution_options(synchronize_session=False)
        )
        _erase_personal_data(select(BindingEvent.personal_data_id).where(BindingEvent.binding_id.in_(binding_ids)), now)
        digests = set(db.session.scalars(
            select(BindingDocument.sha256).where(BindingDocument.binding_id.in_(binding_ids))))
        db.session.execute(delete(BindingDocument).where(BindingDocument.binding_id.in_(binding_ids))
                           .execution_options(synchronize_session=False))
        _delete_binding_notices(binding_ids)

    accounts = db.session.execute(
        select(User.id, User.username, User.email).where(User.subject_id.in_(subject_ids))).all()
    if accounts:
        addresses = {a.username.lower() for a in accounts} | {a.email.lower() for a in accounts if a.email}
        _anonymise_accounts([a.id for a in accounts], sorted(addresses), now)
    return discard_unused_files(digests)


def _anonymise_accounts(user_ids: list[int], addresses: list[str], now: datetime) -> None:
    """``addresses``: the accounts' user names and e-mail addresses (lower case), which their
    sign-in attempts and the e-mails sent to an address (recovery links) name."""
    for user_id in user_ids:  # a few accounts per subject; the step is H1's, one user at a time
        end_all_sessions(user_id, ERASED_SESSION)
    db.session.execute(
        update(User).where(User.id.in_(user_ids))
        .values(username=literal(ERASED) + cast(User.id, String), display_name=ERASED, email=None,
                password_hash="!", is_active=False, oidc_issuer=None, oidc_subject=None)
        .execution_options(synchronize_session=False)
    )
    delete_two_factor(user_ids)  # the secret, the recovery codes, pending sign-ins
    _erase_personal_data(select(AdminAudit.personal_data_id).where(
        AdminAudit.object_type == "user", AdminAudit.object_id.in_(user_ids)), now)
    db.session.execute(delete(Notification).where(or_(Notification.recipient_user_id.in_(user_ids),
                                                      func.lower(Notification.recipient_address).in_(addresses)))
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(SignUpRequest).where(SignUpRequest.user_id.in_(user_ids))
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(SignInAttempt).where(SignInAttempt.username.in_(addresses))
                       .execution_options(synchronize_session=False))


def _delete_binding_notices(binding_ids: list[int]) -> None:
    patterns = [f"{prefix}:{binding_id}:%" for binding_id in binding_ids for prefix in BINDING_NOTICE_KEYS]
    for start in range(0, len(patterns), KEYS_PER_STATEMENT):
        chunk = patterns[start:start + KEYS_PER_STATEMENT]
        db.session.execute(delete(Notification).where(or_(*(Notification.key.like(p) for p in chunk)))
                           .execution_options(synchronize_session=False))


def discard_unused_files(digests: Iterable[str]) -> int:
    """Delete the stored files of ``digests`` that no evidence file or identity document still
    uses (identical files share storage); returns how many were deleted.

    Before the commit, on purpose: should the commit fail, the rows stay and the next run
    erases them again, whereas a file left behind by a crash after the commit would be personal
    data nothing points to any more."""
    digests = set(digests)
    if not digests:
        return 0
    used = set(db.session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(digests))))
    used |= set(db.session.scalars(select(BindingDocument.sha256).where(BindingDocument.sha256.in_(digests))))
    return sum(uploads.discard(digest) for digest in sorted(digests - used))

