"""Issuing a letter: a step of the transition that calls for it, inside its transaction."""
from __future__ import annotations

import hashlib
import time
from datetime import date

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app import clock, labels
from app.extensions import db
from app.identifiers import mask
from app.models import Case, CaseEvent, Letter, Timer
from app.models.enums import SubjectKind, TimerStatus
from app.services.letters import codes
from app.services.letters.kinds import TITLES, document_number, policy_words
from app.services.letters.numbering import next_seq
from app.services.letters.render import qr_data_uri, render_pdf
from app.services.policy import get_policy
from app.site import site_address
from workflows import APPLICANT, CASE_WORKFLOWS, Transition

LETTER_LOCALE = "zh_CN"  # an official document: in Chinese, whoever took the step

# A corrected record's fields, as the letter names them (the case page's words).
_FIELDS = {"facts": "Facts", "sanction": "Sanction", "sanction_kinds": "Kinds of sanction",
           "severity": "Class", "decision_date": "Decision date"}


def issue_letter(case: Case, taken: Transition) -> Letter | None:
    """The letter ``taken`` calls for (``Transition.letter``), numbered, rendered and stored once;
    None if it calls for none. Run as the transition's last step (``notify_transition``): after
    its effects, timers and event, whose reason, corrections and deadline the letter states.
    The time it took to render is logged."""
    spec = taken.letter
    if spec is None:
        return None
    now = clock.now()
    today = clock.local(now).date()
    seq = next_seq(spec.kind, today.year)
    number = document_number(spec.kind, today.year, seq)
    code = codes.new_code()
    started = time.perf_counter()
    with force_locale(LETTER_LOCALE):
        pdf = render_pdf(spec.kind, _context(case, taken, number, today, code))
    current_app.logger.info("letter %s rendered in %d ms", number, round((time.perf_counter() - started) * 1000))
    letter = Letter(
        case_id=case.id, kind=spec.kind, trigger=taken.trigger, outcome=taken.outcome, case_version=case.version,
        year=today.year, seq=seq, number=number, issued_at=now, code_hash=codes.code_hash(code),
        sha256=hashlib.sha256(pdf).hexdigest(), size_bytes=len(pdf), pdf=pdf,
    )
    db.session.add(letter)
    db.session.flush()
    return letter


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _context(case: Case, taken: Transition, number: str, today: date, code: str) -> dict:
    workflow = CASE_WORKFLOWS[case.kind]
    event = db.session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.trigger == taken.trigger)
        .order_by(CaseEvent.seq.desc()).limit(1))
    subject, record = case.subject, case.record
    legal_basis, review_rights = policy_words(get_policy(case.policy_version).body, case.kind)
    url = codes.verify_url(code)
    return {
        "platform": current_app.config["PLATFORM_NAME"],
        "title": str(TITLES[taken.letter.kind]),
        "number": number,
        "issued_on": chinese_date(today),
        "subject": {
            "name": subject.name,
            "id_label": "居民身份证号码" if subject.kind == SubjectKind.NATURAL else "统一社会信用代码",
            "id_shown": mask(subject.identifier, subject.kind),
        },
        "case": {"number": case.number, "kind": labels.label("case_kind", case.kind),
                 "submitted_on": chinese_date(clock.local(case.submitted_at).date())},
        "record": record and {
            "decision_number": record.decision_number, "category": labels.label("category", record.category),
            "department": record.department.name, "decision_date": chinese_date(record.decision_date),
        },
        "complained_of": case.department.name if case.department is not None and record is None else None,
        "result": gettext(taken.letter.result),
        "reason": (event.reason if event is not None else None) or case.outcome_reason or "",
        "corrections": _corrections((event.data or {}).get("corrections") if event is not None else None),
        "deadline": _applicant_deadline(case, workflow),
        "legal_basis": legal_basis,
        "review_rights": review_rights,
        "code": codes.grouped(code),
        "verify_page": site_address() + codes.VERIFY_PATH,
        "qr": qr_data_uri(url),
    }


def _corrections(fields: dict | None) -> list[tuple[str, str]]:
    """The corrected content as the letter lists it: (field, new value), in the case page's order."""
    shown = []
    for name, value in (fields or {}).items():
        if name == "severity":
            value = labels.label("severity", value)
        elif name == "sanction_kinds":
            value = "、".join(labels.label("sanction_kind", k) for k in value or ()) or "—"
        elif name == "decision_date":
            value = chinese_date(date.fromisoformat(str(value)))
        shown.append((gettext(_FIELDS.get(name, name)), str(value)))
    return shown


def _applicant_deadline(case: Case, workflow) -> str | None:
    """When the applicant's own clock in the new state runs out (a supplement's): the day."""
    mine = [c for c in workflow.state(case.state).clocks if workflow.clock(c).binds == APPLICANT]
    if not mine:
        return None
    due = db.session.scalar(select(Timer.due_at).where(
        Timer.case_id == case.id, Timer.clock.in_(mine), Timer.status == TimerStatus.RUNNING)
        .order_by(Timer.due_at).limit(1))
    return chinese_date(clock.local(due).date()) if due is not None else None
