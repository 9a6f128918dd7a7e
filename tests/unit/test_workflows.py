"""The workflow tables (DESIGN sections 5, 6 and 9) and the machinery that runs them.

Pure unit tests: no database, no Flask app. Guards are evaluated by the caller, so every test
passes a ``check(guard_name) -> None | reason`` function saying which guards fail and why.

The expected outcome of a step is always computed here from the table itself
(``Workflow.transitions``), never from ``refusal()``/``available()``, so the two are checked
against each other and against what the ``transitions`` machine actually does: ``fire()``
moves a light ``_Token``; the tests swap in a recording token to see where it landed.
"""
from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from workflows import (
    BINDING,
    COMPLAINT,
    OBJECTION,
    RECORD,
    REPAIR,
    SYSTEM,
    Clock,
    State,
    Transition,
    TransitionRefused,
    Workflow,
    definition,
)
from workflows.definition import NO_SLA, transition

WORKFLOWS = [OBJECTION, REPAIR, COMPLAINT, RECORD, BINDING]
IDS = [w.name for w in WORKFLOWS]
by_workflow = pytest.mark.parametrize("wf", WORKFLOWS, ids=IDS)

APPLICANT, OFFICER, SUPERVISOR, DEPARTMENT = "applicant", "officer", "supervisor", "department"
ACTORS = (APPLICANT, OFFICER, SUPERVISOR, DEPARTMENT, SYSTEM)
STAFF = (OFFICER, SUPERVISOR)

# Hypothesis: no example database written into the work tree, no per-example deadline.
PROPERTY = settings(database=None, deadline=None, max_examples=150)


# -- helpers ---------------------------------------------------------------------------


def reason_for(guard: str) -> str:
    return f"guard {guard} does not hold"


def checker(failing: Iterable[str] = ()):
    """A guard check in which exactly the guards in ``failing`` fail, each with its own reason."""
    failing = frozenset(failing)

    def check(guard: str) -> str | None:
        return reason_for(guard) if guard in failing else None

    return check


PASS = checker()


def guard_names(wf: Workflow) -> tuple[str, ...]:
    return tuple(sorted({g for t in wf.transitions for g in t.guards}))


def guard_scenarios(wf: Workflow) -> list[frozenset[str]]:
    """All guards hold; each guard fails alone; all guards fail."""
    names = guard_names(wf)
    return [frozenset(), *(frozenset([g]) for g in names), frozenset(names)]


def declared(wf: Workflow, state: str, trigger: str) -> list[Transition]:
    """Straight from the table, without ``find()``."""
    return [t for t in wf.transitions if t.trigger == trigger and state in t.source]


def edges(wf: Workflow) -> set[tuple[str, str, str]]:
    """Every declared step as (source, trigger, dest)."""
    return {(s, t.trigger, t.dest) for t in wf.transitions for s in t.source}


def expected_refusal(candidates: list[Transition], actor: str, failing: frozenset[str]) -> str | None:
    if not candidates:
        return "not_allowed_in_state"
    (t,) = candidates
    if actor not in t.actors:
        return "not_allowed_for_role"
    for guard in t.guards:  # the first failing guard, in declared order, is the one reported
        if guard in failing:
            return reason_for(guard)
    return None


def fire_and_land(wf: Workflow, state: str, trigger: str, actor: str, check) -> tuple[Transition, str]:
    """``wf.fire`` with a recording token: returns the transition and the state the machine reached.

    On refusal the ``TransitionRefused`` propagates, after checking that no token moved.
    """
    made: list[definition._Token] = []

    class RecordingToken(definition._Token):
        def __init__(self, state: str):
            super().__init__(state)
            made.append(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(definition, "_Token", RecordingToken)
        try:
            taken = wf.fire(state, trigger, actor, check)
        except TransitionRefused:
            assert all(token.state == state for token in made), "a refused step moved the machine"
            raise
    assert len(made) == 1
    return taken, made[0].state


def reachable(wf: Workflow) -> set[str]:
    seen, frontier = {wf.initial}, [wf.initial]
    while frontier:
        here = frontier.pop()
        for t in wf.transitions:
            # a self-loop (dest == source) finds nothing new: ``seen`` already has it
            if here in t.source and t.dest not in seen:
                seen.add(t.dest)
                frontier.append(t.dest)
    return seen


# -- structure of every table ----------------------------------------------------------


@by_workflow
def test_initial_state_is_declared_and_open(wf):
    assert wf.initial in wf.state_names
    assert not wf.state(wf.initial).final


@by_workflow
def test_every_state_is_reachable_from_the_initial_state(wf):
    assert reachable(wf) == set(wf.state_names)


@by_workflow
def test_every_non_final_state_has_a_way_out_and_declares_its_clocks(wf):
    for state in wf.states:
        if state.final:
            continue
        exits = [t for t in wf.transitions if state.name in t.source]
        assert exits, f"{wf.name}.{state.name} is a dead end but not final"
        # a self-loop alone is no way out
        assert any(t.dest != state.name for t in exits), f"{wf.name}.{state.name} only loops on itself"
        assert isinstance(state.clocks, tuple), f"{wf.name}.{state.name} does not declare clocks"


@by_workflow
def test_final_states_have_no_clocks_and_no_exits(wf):
    assert wf.final_states, f"{wf.name} has no final state"
    for name in wf.final_states:
        state = wf.state(name)
        assert state.clocks == NO_SLA
        assert not state.has_sla
        assert state.done
        assert not state.pauses
        assert wf.transitions_from(name) == []
        assert not [t for t in wf.transitions if name in t.source]


@by_workflow
def test_every_clock_a_state_runs_is_declared_and_every_declared_clock_runs(wf):
    declared_clocks = [c.name for c in wf.clocks]
    assert len(set(declared_clocks)) == len(declared_clocks), "duplicate clock names"
    used = set()
    for state in wf.states:
        assert set(state.clocks) <= set(declared_clocks), f"{wf.name}.{state.name}"
        used |= set(state.clocks)
    assert used == set(declared_clocks), f"{wf.name}: clocks declared but never run: {set(declared_clocks) - used}"


@by_workflow
def test_breach_triggers_exist_are_fired_by_the_system_and_leave_every_state_the_clock_runs_in(wf):
    for clock in wf.clocks:
        if not clock.on_breach:
            continue
        assert clock.on_breach in wf.triggers
        running_in = [s.name for s in wf.states if clock.name in s.clocks]
        assert running_in, f"{wf.name}: clock {clock.name} never runs"
        for state in running_in:
            t = wf.find(state, clock.on_breach)
            assert t is not None, f"{wf.name}: {clock.on_breach} does not leave {state}"
            assert SYSTEM in t.actors
            assert t.dest != state, f"{wf.name}: {clock.on_breach} does not leave {state}"
            # the job must be able to act whatever the data: no guard may hold it back
            assert t.guards == ()
            assert wf.refusal(state, clock.on_breach, SYSTEM, checker(guard_names(wf))) is None
            _, landed = fire_and_land(wf, state, clock.on_breach, SYSTEM, PASS)
            assert landed == t.dest


@by_workflow
def test_the_table_is_deterministic(wf):
    """At most one transition per (state, trigger): ``find()`` and the machine cannot disagree."""
    for state in wf.state_names:
        for trigger in wf.triggers:
            assert len(declared(wf, state, trigger)) <= 1, f"{wf.name}: {state} x {trigger} is ambiguous"


@by_workflow
def test_actors_are_known_roles(wf):
    for t in wf.transitions:
        assert t.actors, f"{wf.name}.{t.trigger} has no actor"
        assert t.actors <= set(ACTORS), f"{wf.name}.{t.trigger}: unknown actors {t.actors - set(ACTORS)}"


@by_workflow
def test_triggers_list_each_trigger_once_in_table_order(wf):
    assert wf.triggers == tuple(dict.fromkeys(t.trigger for t in wf.transitions))


# -- the constructors refuse bad tables ------------------------------------------------


def test_state_refuses_missing_clocks():
    with pytest.raises(ValueError, match="must declare its clocks"):
        State("waiting")
    with pytest.raises(ValueError, match="must declare its clocks"):
        State("waiting", clocks=None)
    assert State("waiting", clocks=NO_SLA).clocks == ()
    assert not State("waiting", clocks=NO_SLA).has_sla
    assert State("waiting", clocks=("reply",)).has_sla


def test_final_state_refuses_clocks_and_is_done():
    with pytest.raises(ValueError, match="cannot run clocks"):
        State("closed", clocks=("reply",), final=True)
    closed = State("closed", final=True)
    assert closed.clocks == NO_SLA
    assert closed.done


def _tiny(**overrides) -> Workflow:
    fields = dict(
        name="tiny",
        initial="open",
        states=(State("open", clocks=("reply",)), State("closed", final=True)),
        transitions=(transition("close", "open", "closed", SYSTEM),),
        clocks=(Clock("reply", on_breach="close"),),
    )
    fields.update(overrides)
    return Workflow(**fields)


def test_a_small_valid_workflow_is_accepted():
    tiny = _tiny()
    assert tiny.fire("open", "close", SYSTEM, PASS).dest == "closed"


def test_workflow_refuses_a_transition_out_of_a_final_state():
    with pytest.raises(ValueError, match="final state closed has an exit"):
        _tiny(transitions=(
            transition("close", "open", "closed", SYSTEM),
            transition("reopen", "closed", "open", APPLICANT),
        ))


def test_workflow_refuses_other_inconsistent_tables():
    with pytest.raises(ValueError, match="duplicate state names"):
        _tiny(states=(State("open", clocks=("reply",)), State("open", clocks=NO_SLA), State("closed", final=True)))
    with pytest.raises(ValueError, match="unknown clocks"):
        _tiny(states=(State("open", clocks=("nonesuch",)), State("closed", final=True)))
    with pytest.raises(ValueError, match="unknown state"):
        _tiny(transitions=(transition("close", "open", "archived", SYSTEM),))
    with pytest.raises(ValueError, match="fires unknown trigger"):
        _tiny(clocks=(Clock("reply", on_breach="lapse"),))


# -- every (state, trigger) pair -------------------------------------------------------


@by_workflow
def test_fire_agrees_with_the_table_for_every_state_trigger_actor_and_guard_outcome(wf):
    steps = 0
    for state in wf.state_names:
        for trigger in wf.triggers:
            candidates = declared(wf, state, trigger)
            assert wf.find(state, trigger) == (candidates[0] if candidates else None)
            for actor in ACTORS:
                for failing in guard_scenarios(wf):
                    check = checker(failing)
                    expect = expected_refusal(candidates, actor, failing)
                    where = f"{wf.name}: {state} x {trigger} by {actor}, failing {sorted(failing)}"
                    assert wf.refusal(state, trigger, actor, check) == expect, where
                    if expect is None:
                        taken, landed = fire_and_land(wf, state, trigger, actor, check)
                        assert taken == candidates[0], where
                        assert landed == candidates[0].dest, where
                    else:
                        with pytest.raises(TransitionRefused) as refused:
                            fire_and_land(wf, state, trigger, actor, check)
                        assert refused.value.reason == expect, where
                        assert refused.value.state == state
                        assert refused.value.trigger == trigger
                    steps += 1
    assert steps == len(wf.state_names) * len(wf.triggers) * len(ACTORS) * len(guard_scenarios(wf))


@by_workflow
def test_available_lists_exactly_what_refusal_allows(wf):
    for state in wf.state_names:
        for actor in ACTORS:
            for failing in guard_scenarios(wf):
                check = checker(failing)
                allowed = [t for t in wf.transitions_from(state)
                           if wf.refusal(state, t.trigger, actor, check) is None]
                offered = wf.available(state, actor, check)
                assert offered == allowed, f"{wf.name}: {state} by {actor}, failing {sorted(failing)}"
                assert {t.trigger for t in offered} == {
                    trigger for trigger in wf.triggers if wf.refusal(state, trigger, actor, check) is None
                }


@by_workflow
def test_every_declared_step_can_be_taken_by_each_of_its_actors(wf):
    for t in wf.transitions:
        for source in t.source:
            for actor in t.actors:
                taken, landed = fire_and_land(wf, source, t.trigger, actor, PASS)
                assert taken is t
                assert landed == t.dest


def test_the_first_failing_guard_is_the_reason_shown():
    """Complaint reopen has three guards: the reason is the failing one's own words, in table order."""
    reopen = COMPLAINT.find("responded", "reopen")
    assert reopen.guards == ("is_applicant", "not_reopened_before", "reopen_window_open")

    def only_reopened_before(guard):
        return "已重新打开过一次" if guard == "not_reopened_before" else None

    with pytest.raises(TransitionRefused) as refused:
        COMPLAINT.fire("responded", "reopen", APPLICANT, only_reopened_before)
    assert refused.value.reason == "已重新打开过一次"
    assert "已重新打开过一次" in str(refused.value)

    with pytest.raises(TransitionRefused) as refused:
        COMPLAINT.fire("responded", "reopen", APPLICANT, checker(reopen.guards))
    assert refused.value.reason == reason_for("is_applicant")


def test_guards_are_asked_by_name_and_only_for_the_transition_in_question():
    asked = []

    def check(guard):
        asked.append(guard)
        return None

    REPAIR.fire("under_review", "approve", OFFICER, check)
    assert set(asked) == {"repair_eligible", "department_opinion_if_required"}
    asked.clear()
    # refused before any guard is consulted
    with pytest.raises(TransitionRefused):
        REPAIR.fire("under_review", "approve", APPLICANT, check)
    with pytest.raises(TransitionRefused):
        REPAIR.fire("submitted", "approve", OFFICER, check)
    assert asked == []


# -- random walks ----------------------------------------------------------------------


@by_workflow
@PROPERTY
@given(data=st.data())
def test_random_walks_stay_inside_the_table(wf, data):
    """Random (trigger, actor, failing guards) steps from the initial state.

    Each trigger is drawn either from all the workflow's triggers or from those declared in
    the current state, each actor from all actors or from those the trigger names, and the
    guards often all hold: so walks get deep instead of being refused at every step.
    """
    table = edges(wf)
    finals = set(wf.final_states)
    guards = guard_names(wf)
    outcomes = st.just(frozenset()) | st.frozensets(st.sampled_from(guards)) if guards else st.just(frozenset())
    any_trigger = st.sampled_from(wf.triggers)
    actors = st.sampled_from(ACTORS)

    state = wf.initial
    visited = {state}
    for _ in range(data.draw(st.integers(min_value=0, max_value=40), label="length")):
        here = sorted({t.trigger for t in wf.transitions if state in t.source})
        trigger = data.draw(st.sampled_from(here) | any_trigger if here else any_trigger, label="trigger")
        named = sorted({a for t in wf.transitions if t.trigger == trigger and state in t.source for a in t.actors})
        actor = data.draw(st.sampled_from(named) | actors if named else actors, label="actor")
        failing = data.draw(outcomes, label="failing guards")
        before = state
        try:
            taken, landed = fire_and_land(wf, state, trigger, actor, checker(failing))
        except TransitionRefused as refused:
            assert refused.reason in {"not_allowed_in_state", "not_allowed_for_role",
                                      *(reason_for(g) for g in failing)}
            assert refused.state == before and refused.trigger == trigger
            assert state == before
            if before in finals:
                assert refused.reason == "not_allowed_in_state"
            continue
        assert before not in finals, f"left final state {before} by {trigger}"
        assert (before, trigger, landed) in table
        assert taken.dest == landed and taken.trigger == trigger and before in taken.source
        assert actor in taken.actors and not set(taken.guards) & failing
        state = landed
        assert state in wf.state_names
        visited.add(state)
    target(float(len(visited)), label="states visited")


# -- domain rules (DESIGN sections 5, 6, 9) --------------------------------------------

OBJECTION_OPEN = ("submitted", "awaiting_supplement", "accepted", "referred", "replied")


def test_objection_applicant_may_withdraw_until_decided_not_after():
    """S5: "The applicant may withdraw until decided"."""
    for state in OBJECTION_OPEN:
        taken, landed = fire_and_land(OBJECTION, state, "withdraw", APPLICANT, PASS)
        assert landed == "withdrawn"
        assert "clear_objection_mark" in taken.effects
        assert OBJECTION.refusal(state, "withdraw", OFFICER, PASS) == "not_allowed_for_role"
        # another person than the applicant
        assert OBJECTION.refusal(state, "withdraw", APPLICANT, checker(["is_applicant"])) == reason_for("is_applicant")
    for state in set(OBJECTION.state_names) - set(OBJECTION_OPEN):
        assert OBJECTION.refusal(state, "withdraw", APPLICANT, PASS) == "not_allowed_in_state", state
    assert OBJECTION.refusal("decided", "withdraw", APPLICANT, PASS) == "not_allowed_in_state"


def test_objection_accept_keeps_the_record_under_objection():
    """S5: the record is marked on receipt (``submit_case``); acceptance marks it again only if
    the mark is missing (an objection filed before marking at receipt): the one effect that marks."""
    accept = OBJECTION.find("submitted", "accept")
    assert accept.dest == "accepted"
    assert "mark_under_objection" in accept.effects
    assert accept.actors == frozenset(STAFF)
    assert [t.trigger for t in OBJECTION.transitions if "mark_under_objection" in t.effects] == ["accept"]
    assert OBJECTION.state(OBJECTION.initial).carries_objection_mark


def test_objection_decisions_clear_the_mark_except_unresolved():
    """S9 outcomes: corrected, revoked, maintained (mark removed), unresolved (verification and
    objection both recorded: the record stays marked, so the public sees the objection stands)."""
    decisions = {t.trigger: t for t in OBJECTION.transitions if t.trigger.startswith("decide_")}
    assert set(decisions) == {"decide_correct", "decide_revoke", "decide_maintain", "decide_unresolved"}
    for t in decisions.values():
        assert t.source == ("replied",) and t.dest == "decided"
        assert ("clear_objection_mark" in t.effects) == (t.trigger != "decide_unresolved")
        assert t.reason_required
        assert t.actors == frozenset(STAFF)
    assert "correct_record" in decisions["decide_correct"].effects
    assert "revoke_record" in decisions["decide_revoke"].effects


def test_objection_mark_never_outlives_the_case():
    """Every step out of the marked states (submitted .. replied), but an unresolved decision, clears the mark."""
    marked = set(OBJECTION.states_where(lambda s: s.carries_objection_mark))
    assert marked == {"submitted", "awaiting_supplement", "accepted", "referred", "replied"}
    for t in OBJECTION.transitions:
        if t.trigger == "decide_unresolved":
            continue  # the one outcome that keeps the mark on purpose (see above)
        if set(t.source) & marked and t.dest not in marked:
            assert "clear_objection_mark" in t.effects, t.trigger


def test_objection_only_the_department_replies():
    """S5: "referred to the originating department for verification -> department replied"."""
    reply = OBJECTION.find("referred", "reply")
    assert reply.dest == "replied"
    assert reply.actors == frozenset([DEPARTMENT])
    assert "is_case_department" in reply.guards
    for actor in ACTORS:
        expected = None if actor == DEPARTMENT else "not_allowed_for_role"
        assert OBJECTION.refusal("referred", "reply", actor, PASS) == expected, actor
    # another department than the case's
    assert (OBJECTION.refusal("referred", "reply", DEPARTMENT, checker(["is_case_department"]))
            == reason_for("is_case_department"))
    assert [t.trigger for t in OBJECTION.transitions if DEPARTMENT in t.actors] == ["reply"]


def test_objection_awaiting_supplement_pauses_and_lapses_when_its_clock_runs_out():
    """S5: "a supplement request left unanswered lapses"; S4: paused days do not count."""
    waiting = OBJECTION.state("awaiting_supplement")
    assert waiting.pauses
    assert waiting.clocks == ("supplement",)
    assert OBJECTION.clock("supplement").on_breach == "lapse"
    _, landed = fire_and_land(OBJECTION, "awaiting_supplement", "lapse", SYSTEM, PASS)
    assert landed == "lapsed"
    assert OBJECTION.state("lapsed").final
    assert OBJECTION.refusal("awaiting_supplement", "lapse", OFFICER, PASS) == "not_allowed_for_role"
    # the applicant's answer puts the case back where acceptance is decided
    _, landed = fire_and_land(OBJECTION, "awaiting_supplement", "supplement", APPLICANT, PASS)
    assert landed == "submitted"
    assert [s.name for s in OBJECTION.states if s.pauses] == ["awaiting_supplement"]


def test_objection_verification_runs_target_and_hard_limit():
    """S9: department verification 5 wd target, 10 wd hard limit."""
    assert {"verify", "verify_limit", "overall"} <= set(OBJECTION.state("referred").clocks)
    assert "accept" in OBJECTION.state("submitted").clocks
    assert "refer" in OBJECTION.state("accepted").clocks


def test_repair_accept_and_approve_require_eligibility():
    """S5: eligibility is checked before acceptance, and again at approval."""
    for state, trigger, dest in (("submitted", "accept", "under_review"), ("under_review", "approve", "approved")):
        t = REPAIR.find(state, trigger)
        assert "repair_eligible" in t.guards
        _, landed = fire_and_land(REPAIR, state, trigger, OFFICER, PASS)
        assert landed == dest

        def not_eligible(guard):
            return "最短公示期未满" if guard == "repair_eligible" else None

        with pytest.raises(TransitionRefused) as refused:
            REPAIR.fire(state, trigger, OFFICER, not_eligible)
        assert refused.value.reason == "最短公示期未满"


def test_repair_approval_repairs_the_record():
    """S5: "Approval stops publicity ... at once and notifies the department"."""
    approve = REPAIR.find("under_review", "approve")
    assert approve.dest == "approved"
    assert "repair_record" in approve.effects
    assert approve.reason_required
    # the record lifecycle has the matching step
    assert RECORD.find("published", "repair").dest == "repaired"
    assert RECORD.find("corrected", "repair").dest == "repaired"


def test_repair_revoked_for_fraud_republishes_the_record():
    """S5: "A repair found to rest on false material is revoked: the record is published again"."""
    revoke = REPAIR.find("approved", "revoke_for_fraud")
    assert revoke.source == ("approved",)
    assert revoke.dest == "revoked"
    assert "republish_record" in revoke.effects
    assert REPAIR.state("revoked").final
    # approved rests (done, not final) precisely so that it can still be revoked
    assert REPAIR.state("approved").done and not REPAIR.state("approved").final
    for state in set(REPAIR.state_names) - {"approved"}:
        assert REPAIR.refusal(state, "revoke_for_fraud", OFFICER, PASS) == "not_allowed_in_state"
    assert RECORD.find("repaired", "republish").dest == "published"


def test_repair_one_documented_extension():
    """S9: "end to end 10 wd, one documented extension for complex cases"."""
    extend = REPAIR.find("under_review", "extend")
    assert extend.source == ("under_review",) and extend.dest == "under_review"
    assert "not_extended_before" in extend.guards
    assert "extend_overall" in extend.effects
    assert extend.reason_required
    _, landed = fire_and_land(REPAIR, "under_review", "extend", OFFICER, PASS)
    assert landed == "under_review"
    with pytest.raises(TransitionRefused) as refused:
        REPAIR.fire("under_review", "extend", OFFICER, checker(["not_extended_before"]))
    assert refused.value.reason == reason_for("not_extended_before")


def test_repair_supplement_lapses_like_an_objection():
    assert REPAIR.state("awaiting_supplement").pauses
    assert REPAIR.clock("supplement").on_breach == "lapse"
    assert REPAIR.find("awaiting_supplement", "lapse").dest == "lapsed"


def test_complaint_reopen_once_by_the_applicant():
    """S5/S9: "reopened once by the applicant within a set window" (15 days of the reply)."""
    reopen = COMPLAINT.find("responded", "reopen")
    assert reopen.dest == "assigned"
    assert reopen.actors == frozenset([APPLICANT])
    assert "not_reopened_before" in reopen.guards
    assert "is_applicant" in reopen.guards
    _, landed = fire_and_land(COMPLAINT, "responded", "reopen", APPLICANT, PASS)
    assert landed == "assigned"
    with pytest.raises(TransitionRefused) as refused:
        COMPLAINT.fire("responded", "reopen", APPLICANT, checker(["not_reopened_before"]))
    assert refused.value.reason == reason_for("not_reopened_before")


def test_complaint_reopen_window_closes_the_case_on_breach():
    assert COMPLAINT.state("responded").clocks == ("reopen_window",)
    assert COMPLAINT.clock("reopen_window").on_breach == "close"
    _, landed = fire_and_land(COMPLAINT, "responded", "close", SYSTEM, PASS)
    assert landed == "closed"
    assert COMPLAINT.state("closed").final


def test_record_expires_from_publicity_to_retired():
    """S6: "The expiry job retires every record whose publicity end has passed"."""
    sources = {s for s in RECORD.state_names if RECORD.find(s, "expire")}
    assert sources == {"published", "corrected"}
    for state in sources:
        _, landed = fire_and_land(RECORD, state, "expire", SYSTEM, PASS)
        assert landed == "retired"
    for state in ("repaired", "revoked", "retired", "purged"):
        assert RECORD.refusal(state, "expire", SYSTEM, PASS) == "not_allowed_in_state"


def test_record_nothing_leaves_purged():
    """S6: "-> purged at the end of retention"."""
    assert RECORD.state("purged").final
    assert RECORD.transitions_from("purged") == []
    for trigger in RECORD.triggers:
        for actor in ACTORS:
            assert RECORD.refusal("purged", trigger, actor, PASS) == "not_allowed_in_state"


def test_record_objection_mark_is_a_flag_not_a_state():
    for trigger in ("mark_objection", "clear_objection"):
        for state in ("published", "corrected"):
            _, landed = fire_and_land(RECORD, state, trigger, SYSTEM, PASS)
            assert landed == state


# -- diagrams --------------------------------------------------------------------------


@by_workflow
def test_mermaid_draws_every_transition(wf):
    lines = [line.strip() for line in wf.mermaid().splitlines()]
    assert lines[0] == "stateDiagram-v2"
    assert f"[*] --> {wf.initial}" in lines
    for source, trigger, dest in edges(wf):
        assert f"{source} --> {dest}: {trigger}" in lines
    for name in wf.final_states:
        assert f"{name} --> [*]" in lines
    assert not [line for line in lines if line.startswith("class ")]


@by_workflow
def test_mermaid_marks_the_current_state(wf):
    plain = wf.mermaid()
    for state in wf.state_names:
        text = wf.mermaid(current=state)
        lines = [line.strip() for line in text.splitlines()]
        assert [line for line in lines if line.startswith("class ")] == [f"class {state} current"]
        assert any(line.startswith("classDef current ") for line in lines)
        assert text.startswith(plain)
