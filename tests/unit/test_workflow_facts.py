"""The facts the app reads from the workflows (DESIGN section 8): whom a clock binds, whom a
state waits for and who answers, what a department may see, the objection mark, outcomes,
labels. Each is checked against the rule it stands for, and a table that contradicts itself is
refused when it is built.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from workflows import (
    ALL_WORKFLOWS,
    APPLICANT,
    CASE_WORKFLOWS,
    COMPLAINT,
    DEPARTMENT,
    HANDLER,
    IN_PUBLICITY,
    OBJECTION,
    PLATFORM,
    RECORD,
    REPAIR,
    SYSTEM,
    Clock,
    RecordState,
    RecordTrigger,
    State,
    Workflow,
)
from workflows.definition import NO_SLA, transition

CATALOG = Path(__file__).resolve().parents[2] / "app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def test_clocks_bind_whom_section_9_says():
    """Verification and opinions are the department's; supplements and reopening the
    applicant's; acceptance, referral, the reply and the overall deadline the platform's."""
    binds = {(w.name, c.name): c.binds for w in CASE_WORKFLOWS.values() for c in w.clocks}
    assert {k for k, v in binds.items() if v == DEPARTMENT} == {
        ("objection", "verify"), ("objection", "verify_limit"), ("repair", "department_opinion")}
    assert {k for k, v in binds.items() if v == APPLICANT} == {
        ("objection", "supplement"), ("repair", "supplement"), ("complaint", "reopen_window")}
    assert {k for k, v in binds.items() if v == PLATFORM} == {
        ("objection", "accept"), ("objection", "refer"), ("objection", "overall"),
        ("repair", "accept"), ("repair", "overall"), ("complaint", "accept"), ("complaint", "reply")}


def test_who_each_waiting_state_waits_for_and_how_they_answer():
    waiting = {(w.name, s.name): s.waits_for for w in CASE_WORKFLOWS.values() for s in w.states if s.waits_for}
    assert waiting == {
        ("objection", "awaiting_supplement"): APPLICANT, ("objection", "referred"): DEPARTMENT,
        ("repair", "awaiting_supplement"): APPLICANT, ("repair", "awaiting_department"): DEPARTMENT,
        ("complaint", "assigned"): HANDLER,
    }
    assert [w.answer_by(DEPARTMENT) for w in (OBJECTION, REPAIR, COMPLAINT)] == ["reply", "give_opinion", "respond"]
    assert [w.answer_by(APPLICANT) for w in (OBJECTION, REPAIR, COMPLAINT)] == ["supplement", "supplement", None]


def test_a_department_sees_only_what_is_put_before_it():
    """The allow-list (issue 12): a referral, an opinion request, a complaint handed to the
    department; nothing before it, and nothing an officer handles alone."""
    referring = {(w.name, t.trigger) for w in CASE_WORKFLOWS.values() for t in w.transitions if t.refers}
    assert referring == {("objection", "refer"), ("repair", "ask_department"), ("complaint", "assign")}
    for w in CASE_WORKFLOWS.values():
        waiting = set(w.states_where(lambda s: s.waits_for in (DEPARTMENT, HANDLER)))
        assert waiting == {t.dest for t in w.transitions if t.refers}, w.name


def test_the_objection_mark_stays_from_receipt_while_the_objection_is_open():
    """S5 and S9: the record is marked on receipt (within 1 working day: on submission); the mark
    goes when the objection is not accepted, withdrawn or lapses, or is decided."""
    marked = OBJECTION.states_where(lambda s: s.carries_objection_mark)
    assert marked == ("submitted", "awaiting_supplement", "accepted", "referred", "replied")
    assert OBJECTION.initial in marked and OBJECTION.dest("accept") in marked
    for trigger in ("not_accept", "withdraw", "lapse"):
        assert OBJECTION.dest(trigger) not in marked
        assert all("clear_objection_mark" in t.effects for t in OBJECTION.transitions if t.trigger == trigger)
    assert not [w.name for w in (REPAIR, COMPLAINT) if w.states_where(lambda s: s.carries_objection_mark)]


def test_each_decision_names_its_outcome():
    outcomes = {t.trigger: t.outcome for w in CASE_WORKFLOWS.values() for t in w.transitions if t.outcome}
    assert outcomes == {"decide_correct": "correct", "decide_revoke": "revoke",
                        "decide_maintain": "maintain", "decide_unresolved": "unresolved"}
    # The department's reply proposes the corrected fields; the "correct" decision applies them.
    assert {t.trigger for w in CASE_WORKFLOWS.values() for t in w.transitions if t.corrects} == {
        "reply", "decide_correct"}
    assert [f.name for f in OBJECTION.find("referred", "reply").findings if f.corrects] == ["corrected"]


def test_only_the_department_reply_asks_for_a_finding():
    asking = [(w.name, t.trigger) for w in CASE_WORKFLOWS.values() for t in w.transitions if t.findings]
    assert asking == [("objection", "reply")]
    assert OBJECTION.find("referred", "reply").finding_names == ("correct", "corrected", "revoke")


def test_the_record_states_in_publicity_are_the_ones_that_can_be_corrected_or_retired():
    assert IN_PUBLICITY == (RecordState.PUBLISHED, RecordState.CORRECTED)
    assert set(RECORD.sources(RecordTrigger.EXPIRE)) == set(IN_PUBLICITY) == set(RECORD.sources(RecordTrigger.CORRECT))
    assert {s.value for s in RecordState} == set(RECORD.state_names)
    assert {t.value for t in RecordTrigger} == set(RECORD.triggers)
    assert RECORD.initial == RecordState.PUBLISHED and type(RECORD.initial) is str  # the machine wants a str


def test_every_state_clock_trigger_and_workflow_has_a_translated_label():
    with CATALOG.open("rb") as f:
        translated = {m.id for m in read_po(f) if m.id and m.string and not m.fuzzy}
    labels = [w.label for w in ALL_WORKFLOWS]
    for w in ALL_WORKFLOWS:
        labels += [s.label for s in w.states] + [c.label for c in w.clocks]
        labels += [t.label for t in w.transitions] + [x for t in w.transitions for x in t.templates]
        labels += [f.label for t in w.transitions for f in t.findings]
    assert "" not in labels
    assert sorted(set(labels) - translated) == []


def test_the_labels_agree_across_workflows_as_the_screen_shows_one_per_name():
    from app.labels import LABELS, label

    assert label("case_state", "revoked") != label("record_state", "revoked")  # a repair's, a record's
    assert set(LABELS["case_state"]) == {s for w in CASE_WORKFLOWS.values() for s in w.state_names}
    assert set(LABELS["outcome"]) == {"correct", "revoke", "maintain", "unresolved"}
    assert {str(LABELS["outcome"][o]) for o in LABELS["outcome"]} <= {str(v) for v in LABELS["trigger"].values()}


# -- tables that contradict themselves are refused -------------------------------------------


def _tiny(**over):
    fields = dict(
        name="tiny", initial="open",
        states=(State("open", clocks=("reply",)), State("closed", final=True)),
        transitions=(transition("close", "open", "closed", SYSTEM),),
        clocks=(Clock("reply"),),
    )
    fields.update(over)
    return Workflow(**fields)


def test_a_state_waiting_for_a_department_must_show_it_the_case():
    waiting = (State("open", clocks=NO_SLA), State("asked", clocks=NO_SLA, waits_for=DEPARTMENT),
               State("closed", final=True))
    with pytest.raises(ValueError, match="hides"):
        _tiny(states=waiting, transitions=(transition("ask", "open", "asked", SYSTEM),
                                           transition("close", "asked", "closed", SYSTEM)))
    _tiny(states=waiting, transitions=(transition("ask", "open", "asked", SYSTEM, refers=True),
                                       transition("close", "asked", "closed", SYSTEM)))


def test_a_department_clock_runs_only_while_the_case_waits_for_the_department():
    with pytest.raises(ValueError, match="department's clock"):
        _tiny(clocks=(Clock("reply", binds=DEPARTMENT),))


def test_an_answer_comes_from_whom_the_state_waits_for():
    waiting = (State("open", clocks=NO_SLA, waits_for=APPLICANT), State("closed", final=True))
    with pytest.raises(ValueError, match="may not fire"):
        _tiny(states=waiting, transitions=(transition("close", "open", "closed", "officer", answers=True),))
    with pytest.raises(ValueError, match="waits for nobody"):
        _tiny(transitions=(transition("close", "open", "closed", "officer", answers=True),))
    _tiny(states=waiting, transitions=(transition("close", "open", "closed", APPLICANT, answers=True),))


def test_a_pause_waits_for_the_applicant_and_parties_are_known():
    with pytest.raises(ValueError, match="pauses"):
        State("open", clocks=NO_SLA, pauses=True)
    with pytest.raises(ValueError, match="waits for"):
        State("open", clocks=NO_SLA, waits_for="nobody")
    with pytest.raises(ValueError, match="binds"):
        Clock("reply", binds="everyone")


def test_one_trigger_has_one_label():
    with pytest.raises(ValueError, match="two labels"):
        _tiny(states=(State("open", clocks=("reply",)), State("other", clocks=NO_SLA), State("closed", final=True)),
              transitions=(transition("close", "open", "closed", SYSTEM, label="Close"),
                           transition("close", "other", "closed", SYSTEM, label="Shut")))


def test_on_record_left_publicity_names_a_trigger_of_the_workflow():
    with pytest.raises(ValueError, match="on_record_left_publicity"):
        _tiny(on_record_left_publicity="nonesuch")
    assert [w.name for w in CASE_WORKFLOWS.values() if w.on_record_left_publicity] == ["objection", "repair"]
