"""Plain factory functions with keyword defaults. Each flushes, none commits."""
from __future__ import annotations

import itertools
from datetime import date

from app.extensions import db
from app.identifiers import complete_id_number, complete_uscc
from app.models import CreditRecord, Department, Subject, User
from app.models.enums import RecordCategory, RecordClass, Role, SubjectKind
from app.services.accounts import hash_password
from app.services.records import build_record

_seq = itertools.count(1)
PASSWORD = "correct horse battery"
_HASH = None


def _password_hash(password: str) -> str:
    # Hashing with argon2 takes ~50 ms; tests reuse one hash for the common password.
    global _HASH
    if password != PASSWORD:
        return hash_password(password)
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    return _HASH


def make_department(**kw) -> Department:
    n = next(_seq)
    department = Department(**{"code": f"DEPT-{n}", "name": f"测试部门{n}", **kw})
    db.session.add(department)
    db.session.flush()
    return department


def uscc(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    return complete_uscc(f"913101{n:011d}")


def id_number(n: int | None = None, birth: str = "19800101") -> str:
    n = next(_seq) if n is None else n
    return complete_id_number(f"310101{birth}{n % 1000:03d}")


def make_subject(kind: str = SubjectKind.LEGAL, **kw) -> Subject:
    if "identifier" not in kw:
        kw["identifier"] = uscc() if kind == SubjectKind.LEGAL else id_number()
    if kind == SubjectKind.NATURAL and "birth_date" not in kw:
        ident = kw["identifier"]
        kw["birth_date"] = date(int(ident[6:10]), int(ident[10:12]), int(ident[12:14]))
    subject = Subject(kind=kind, **{"name": f"测试主体{next(_seq)}", **kw})
    db.session.add(subject)
    db.session.flush()
    return subject


def make_user(role: str = Role.OFFICER, password: str = PASSWORD, verified: bool = True, capacity: str | None = None,
              **kw) -> User:
    """An account; an applicant is verified for its subject (in ``capacity``) unless ``verified=False``."""
    n = next(_seq)
    if role == Role.APPLICANT and "subject" not in kw and "subject_id" not in kw:
        kw["subject"] = make_subject()
    if role == Role.DEPARTMENT and "department" not in kw and "department_id" not in kw:
        kw["department"] = make_department()
    user = User(
        role=role,
        password_hash=_password_hash(password),
        **{"username": f"{role}{n}", "display_name": f"{role} {n}", **kw},
    )
    db.session.add(user)
    db.session.flush()
    if role == Role.APPLICANT and verified:
        from app.models.enums import BindingMethod
        from app.services.binding.verification import bind_verified

        bind_verified(user, BindingMethod.MIGRATION, capacity)
    return user


def make_record(subject: Subject | None = None, department: Department | None = None, **kw) -> CreditRecord:
    record = build_record(
        subject or make_subject(),
        department or make_department(),
        **{
            "severity": RecordClass.GENERAL,
            "decision_date": date(2026, 6, 1),
            "category": RecordCategory.ADMINISTRATIVE_PENALTY,
            "decision_number": f"测罚〔2026〕{next(_seq)}号",
            "facts": "测试事实",
            "sanction": "罚款",
            "sanction_kinds": ["fine"],
            **kw,
        },
    )
    db.session.add(record)
    db.session.flush()
    return record


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def repair_uploads():
    from app.models.enums import AttachmentPurpose
    from app.services.cases.files import Upload

    return [
        Upload(AttachmentPurpose.OBLIGATION_PROOF, "proof.pdf", PDF),
        Upload(AttachmentPurpose.CREDIT_COMMITMENT, "commitment.pdf", PDF),
    ]


def submit(applicant, kind, record=None, uploads=None, **kw):
    from app.services.cases import Submission, submit_case

    return submit_case(
        applicant,
        Submission(
            kind=kind,
            title=kw.pop("title", "测试申请"),
            statement=kw.pop("statement", "测试陈述"),
            record_id=record.id if record else None,
            uploads=uploads or [],
            **kw,
        ),
    )


def act(case, trigger, actor, reason="理由", **kw):
    """Fire a trigger on the version of the case the actor sees now."""
    from app.services.cases import Action, transition_case

    return transition_case(case.id, Action(trigger, case.version, reason, **kw), actor)


def make_people(**department_fields) -> dict:
    """The cast most case tests need: a department, a subject with its verified applicant, an
    officer, a supervisor and a user of the department."""
    department = make_department(**department_fields)
    subject = make_subject()
    return {
        "department": department,
        "subject": subject,
        "applicant": make_user(Role.APPLICANT, subject=subject),
        "officer": make_user(Role.OFFICER),
        "supervisor": make_user(Role.SUPERVISOR),
        "dept_user": make_user(Role.DEPARTMENT, department=department),
    }
