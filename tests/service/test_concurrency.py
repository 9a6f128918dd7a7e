"""Two people act on one case at the same moment: one wins, the other is told of the conflict."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.errors import Conflict
from app.extensions import db
from app.models import Case, CaseEvent
from app.models.enums import CaseKind, Role
from app.services.cases import Action, transition_case
from tests.factories import make_record, make_subject, make_user, submit


def test_two_concurrent_transitions_one_wins_the_other_conflicts(committed_app):
    with committed_app.app_context():
        subject = make_subject()
        applicant = make_user(Role.APPLICANT, subject=subject)
        officer = make_user(Role.OFFICER)
        case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject))
        ids = {"case": case.id, "version": case.version, "applicant": applicant.id, "officer": officer.id}
        db.session.remove()

    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(who: str, trigger: str):
        with committed_app.app_context():
            from app.models import User

            actor = db.session.get(User, ids[who])
            seen = db.session.get(Case, ids["case"]).version  # both saw the case before either acts
            db.session.commit()
            assert seen == ids["version"]
            barrier.wait(timeout=10)
            try:
                transition_case(ids["case"], Action(trigger, ids["version"], "理由"), actor)
                outcomes[who] = "won"
            except Conflict:
                outcomes[who] = "conflict"
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=attempt, args=("officer", "accept")),
        threading.Thread(target=attempt, args=("applicant", "withdraw")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes.values()) == ["conflict", "won"], outcomes
    with committed_app.app_context():
        case = db.session.get(Case, ids["case"])
        winner = next(who for who, result in outcomes.items() if result == "won")
        assert case.state == {"officer": "accepted", "applicant": "withdrawn"}[winner]
        assert case.version == ids["version"] + 1
        events = db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
        assert events == 2  # submit and the winner's transition, nothing from the loser
