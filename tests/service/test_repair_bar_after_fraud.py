"""A repair revoked for false material bars a new one for a year from the revocation (DESIGN section 9)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from app import clock
from app.errors import InvalidInput
from app.models.enums import CaseKind, RecordClass, Role
from app.services.cases import reason_text
from tests.factories import act, make_department, make_record, make_subject, make_user, repair_uploads, submit


def test_the_bar_runs_from_the_revocation_not_from_the_approval(db):
    department, subject = make_department(), make_subject()
    applicant, officer = make_user(Role.APPLICANT, subject=subject), make_user(Role.OFFICER)
    # Serious: repairable after one year, public for three, so every date below is in publicity.
    record = make_record(subject=subject, department=department, severity=RecordClass.SERIOUS,
                         decision_date=date(2026, 5, 1))
    with clock.frozen_clock(datetime(2027, 5, 10, 10, 0)) as frozen:
        repair = submit(applicant, CaseKind.REPAIR, record, repair_uploads())
        act(repair, "accept", officer)
        act(repair, "approve", officer, "符合修复条件")
        approved_at = repair.closed_at
        frozen.set(datetime(2028, 4, 10, 10, 0))  # eleven months later: the proof was forged
        act(repair, "revoke_for_fraud", officer, "履行证明系伪造")
        assert repair.state == "revoked" and repair.closed_at == approved_at  # the approval's time stays

        frozen.set(datetime(2028, 6, 10, 10, 0))  # thirteen months after the approval
        with pytest.raises(InvalidInput) as refused:
            submit(applicant, CaseKind.REPAIR, record, repair_uploads())
        assert reason_text("barred_after_fraud") in str(refused.value)

        frozen.set(datetime(2029, 4, 10, 10, 0))  # the last day of the year from the revocation
        with pytest.raises(InvalidInput) as refused:
            submit(applicant, CaseKind.REPAIR, record, repair_uploads())
        assert reason_text("barred_after_fraud") in str(refused.value)

        frozen.set(datetime(2029, 4, 11, 10, 0))  # the year is over
        again = submit(applicant, CaseKind.REPAIR, record, repair_uploads())
        act(again, "accept", officer)
    assert again.state == "under_review"
