"""How a workflow is written down: states, clocks, transitions, as data.

A ``Workflow`` is declared once per kind of case (and once for the record lifecycle) and
drives any number of cases. It knows nothing of Flask or the database: the services ask it
which triggers a role may fire from a state, which guards to check (by name: the services
evaluate them on real data) and which effects to carry out (also by name); the actual state
change is done by a ``transitions`` machine built from the same table.

Every fact the app needs about a state, a clock or a transition is an attribute here (whom a
clock binds, whom a state waits for, what a department may see, what a decision decided, the
label on screen), so the app reads it and never names a state, clock or trigger itself.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from transitions import Machine, MachineError

# The roles that act on cases (the app's ``Role`` values), and the system.
APPLICANT, OFFICER, SUPERVISOR, DEPARTMENT = "applicant", "officer", "supervisor", "department"
STAFF = (OFFICER, SUPERVISOR)
SYSTEM = "system"  # the scheduled jobs, acting without a user

# Whom a deadline binds and whom a state waits for, besides APPLICANT and DEPARTMENT. The
# platform is its officers; a complaint's handler is the officer it was assigned to, or else
# its department (the assignment says which).
PLATFORM, HANDLER = "platform", "handler"
_BINDS = (PLATFORM, DEPARTMENT, APPLICANT)
_WAITS_FOR = (DEPARTMENT, APPLICANT, HANDLER)

# The handling steps every case workflow has (``handling``), which the app fires by name.
CLAIM, REASSIGN, RECOMPUTE = "claim", "reassign", "recompute"


def N_(message: str) -> str:
    """Marks a label for extraction into the catalog (``scripts/i18n.sh``: ``-k N_``).

    Workflows know nothing of Flask: the English text stays as it is here, and the app
    translates it where it shows it (``app/labels.py``).
    """
    return message


class TransitionRefused(Exception):
    """The trigger is not allowed now. ``reason`` says why in words a user can be shown."""

    def __init__(self, trigger: str, state: str, reason: str):
        super().__init__(f"{trigger} refused in state {state}: {reason}")
        self.trigger = trigger
        self.state = state
        self.reason = reason


@dataclass(frozen=True)
class Clock:
    """An SLA clock. Its length comes from the policy: ``policy["sla"][workflow][name]``.

    ``on_breach`` names a system trigger fired when the clock runs out (e.g. a supplement
    request lapses); without one, a breach is escalated to the supervisors.
    ``binds`` says whose deadline it is: PLATFORM (the officers), DEPARTMENT (the case's
    department) or APPLICANT; reminders go to them and compliance is charged to them.
    """

    name: str
    label: str = ""
    on_breach: str | None = None
    binds: str = PLATFORM
    extendable: bool = False  # the policy grants one documented extension (``extend_overall``)
    description: str = ""

    def __post_init__(self) -> None:
        if self.binds not in _BINDS:
            raise ValueError(f"clock {self.name} binds {self.binds!r}, not one of {_BINDS}")


NO_SLA: tuple[str, ...] = ()  # said explicitly by a state that has no deadline


@dataclass(frozen=True)
class State:
    name: str
    label: str = ""
    # Clocks that run while the case is in this state. Every state that is not final must
    # say which (``NO_SLA`` for none), so a missing deadline is a decision, not an oversight.
    clocks: tuple[str, ...] | None = None
    pauses: bool = False  # waiting for the applicant: the other clocks stand still
    final: bool = False  # nothing can happen any more
    done: bool = False  # the case is finished (final, or resting until a rare event)
    # Whom the case waits for here besides the officers: DEPARTMENT, APPLICANT or HANDLER.
    # The transition marked ``answers`` is their answer; department queues list these states.
    waits_for: str | None = None
    # An objection here keeps its record marked "under objection" in public.
    carries_objection_mark: bool = False
    public: bool = False  # a record here is in publicity (shown to the public while its dates say so)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", str(self.name))  # a StrEnum member: the machine wants the bare name
        if self.waits_for is not None and self.waits_for not in _WAITS_FOR:
            raise ValueError(f"state {self.name} waits for {self.waits_for!r}, not one of {_WAITS_FOR}")
        if self.pauses and self.waits_for != APPLICANT:
            raise ValueError(f"state {self.name} pauses the clocks, so it waits for the applicant")
        if self.final:
            if self.clocks:
                raise ValueError(f"final state {self.name} cannot run clocks")
            object.__setattr__(self, "clocks", NO_SLA)
            object.__setattr__(self, "done", True)
        elif self.clocks is None:
            raise ValueError(f"state {self.name} must declare its clocks (NO_SLA for none)")

    @property
    def has_sla(self) -> bool:
        return bool(self.clocks)


@dataclass(frozen=True)
class Finding:
    """One answer an actor chooses from when a transition asks for it (``Transition.findings``)."""

    name: str
    label: str
    corrects: bool = False  # the actor gives the record's corrected fields with this finding


class LetterKind(StrEnum):
    """The written notices a case's steps issue to the applicant, each a numbered letter (issue 15)."""

    ACCEPTANCE = "acceptance"  # 受理通知书
    NON_ACCEPTANCE = "non_acceptance"  # 不予受理告知书
    SUPPLEMENT_REQUEST = "supplement_request"  # 补正材料通知书
    OBJECTION_DECISION = "objection_decision"  # 异议处理决定书
    REPAIR_APPROVAL = "repair_approval"  # 信用修复决定书
    REPAIR_REFUSAL = "repair_refusal"  # 不予修复决定书
    COMPLAINT_REPLY = "complaint_reply"  # 投诉答复书


@dataclass(frozen=True)
class Letter:
    """The letter a transition issues (``Transition.letter``): its kind, and what it tells in a few
    words (``result``), which the letter states and its public verification page confirms."""

    kind: LetterKind
    result: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LetterKind(self.kind))  # refuses an unknown kind


# The letters of the first decision on an application, alike in every case workflow.
ACCEPTED = Letter(LetterKind.ACCEPTANCE, N_("Accepted"))
NOT_ACCEPTED = Letter(LetterKind.NON_ACCEPTANCE, N_("Not accepted"))
SUPPLEMENT_ASKED = Letter(LetterKind.SUPPLEMENT_REQUEST, N_("Supplement of material requested"))


@dataclass(frozen=True)
class Transition:
    trigger: str
    source: tuple[str, ...]
    dest: str
    actors: frozenset[str]  # roles that may fire it, or SYSTEM
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    reason_required: bool = False
    bookkeeping: bool = False  # changes who handles the case, not its state: not drawn
    label: str = ""
    templates: tuple[str, ...] = ()  # texts offered for the reason
    outcome: str | None = None  # what a decision decided, kept on the case
    findings: tuple[Finding, ...] = ()  # the actor must say which of these it found
    answers: bool = False  # the answer its source states wait for (``State.waits_for``)
    assigns: bool = False  # the actor names who handles the case next
    corrects: bool = False  # the actor may give the record's corrected fields
    bulk: bool = False  # offered on many cases at once from the officers' queue
    bars_repair: bool = False  # the repair rested on false material: the record's next one waits (policy)
    # Puts the case before its department (a referral, an opinion request, a complaint handed to
    # it): from then on, and only then, the department sees the case. Deny by default.
    refers: bool = False
    letter: Letter | None = None  # the written notice the applicant receives of this step
    # The public statistics count this move as "<kinds>_<counted_as>" (``services.statistics``).
    counted_as: str | None = None
    # What the applicant is told of this move by someone else ({case}, {due_at}: the case's next
    # deadline): the line of its ``case_changed`` notice, in English, translated by the catalog.
    notice: str = ""

    def __post_init__(self) -> None:
        # StrEnum members (the record table) become bare names: the machine wants strings.
        object.__setattr__(self, "trigger", str(self.trigger))
        object.__setattr__(self, "source", tuple(str(s) for s in self.source))
        object.__setattr__(self, "dest", str(self.dest))

    @property
    def finding_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.findings)


def transition(
    trigger: str,
    source: str | Iterable[str],
    dest: str,
    actors: str | Iterable[str],
    *,
    guards: Iterable[str] = (),
    effects: Iterable[str] = (),
    reason: bool = False,
    bookkeeping: bool = False,
    **facts,
) -> Transition:
    """Shorthand used by the workflow tables; ``facts`` are the other ``Transition`` fields."""
    return Transition(
        trigger=trigger,
        source=(source,) if isinstance(source, str) else tuple(source),
        dest=dest,
        actors=frozenset([actors] if isinstance(actors, str) else actors),
        guards=tuple(guards),
        effects=tuple(effects),
        reason_required=reason,
        bookkeeping=bookkeeping,
        **facts,
    )


RECOMPUTE_LABEL = N_("Recompute under a new policy version")


def handling(states: Iterable[str], staff: Iterable[str], claim_guards: Iterable[str] = ()) -> list[Transition]:
    """Claiming and reassigning a case, and recomputing its deadlines under a new policy
    version (an admin's explicit, audited job): in each open state, steps that stay in it.
    ``claim_guards`` are the workflow's own conditions on who may claim it."""
    staff = tuple(staff)
    steps = []
    for state in states:
        steps.append(transition(CLAIM, state, state, staff, guards=["unassigned", *claim_guards], effects=[CLAIM],
                                bookkeeping=True, bulk=True, label=N_("Claim")))
        steps.append(transition(REASSIGN, state, state, staff, effects=[REASSIGN], reason=True,
                                bookkeeping=True, bulk=True, assigns=True, label=N_("Reassign")))
        steps.append(transition(RECOMPUTE, state, state, SYSTEM, reason=True, bookkeeping=True,
                                label=RECOMPUTE_LABEL))
    return steps


GuardCheck = Callable[[str], str | None]  # guard name -> None if it holds, else why not


@dataclass(frozen=True)
class Workflow:
    name: str
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    clocks: tuple[Clock, ...] = ()
    label: str = ""
    # The system trigger that ends an open case when its record leaves publicity (retired,
    # repaired or revoked: nothing is left to decide); the reason per cause is the record
    # workflow's (``record.CASES_END_REASONS``). A case in a state it cannot leave stays.
    on_record_left_publicity: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "initial", str(self.initial))  # a StrEnum member: the machine wants the bare name
        names = [s.name for s in self.states]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate state names")
        known_clocks = {c.name for c in self.clocks}
        for state in self.states:
            unknown = set(state.clocks) - known_clocks
            if unknown:
                raise ValueError(f"{self.name}.{state.name}: unknown clocks {sorted(unknown)}")
        for t in self.transitions:
            for name in (*t.source, t.dest):
                if name not in names:
                    raise ValueError(f"{self.name}: transition {t.trigger} names unknown state {name}")
            for name in t.source:
                if self.state(name).final:
                    raise ValueError(f"{self.name}: final state {name} has an exit ({t.trigger})")
        for clock in self.clocks:
            if clock.on_breach and not any(t.trigger == clock.on_breach for t in self.transitions):
                raise ValueError(f"{self.name}: clock {clock.name} fires unknown trigger {clock.on_breach}")
        if self.on_record_left_publicity and self.on_record_left_publicity not in self.triggers:
            raise ValueError(f"{self.name}: on_record_left_publicity names unknown trigger "
                             f"{self.on_record_left_publicity}")
        self._check_facts()

    def _check_facts(self) -> None:
        """The attributes the app reads must agree with each other and with the table."""
        labels: dict[str, str] = {}
        for t in self.transitions:
            if labels.setdefault(t.trigger, t.label) != t.label:
                raise ValueError(f"{self.name}: trigger {t.trigger} has two labels")
            if t.answers:
                for name in t.source:
                    party = self.state(name).waits_for
                    if party is None:
                        raise ValueError(f"{self.name}: {t.trigger} answers {name}, which waits for nobody")
                    if (DEPARTMENT if party == HANDLER else party) not in t.actors:
                        raise ValueError(f"{self.name}: {t.trigger} answers {name} but {party} may not fire it")
        for role in {r for t in self.transitions if t.answers for r in t.actors}:
            if len(self.triggers_where(lambda t, role=role: t.answers and role in t.actors)) > 1:
                raise ValueError(f"{self.name}: {role} answers by more than one trigger")
        clock_binds = {c.name: c.binds for c in self.clocks}
        for state in self.states:
            # A department must see the case it is expected to answer: some referral leads there.
            if state.waits_for in (DEPARTMENT, HANDLER) and not any(
                    t.refers and t.dest == state.name for t in self.transitions):
                raise ValueError(f"{self.name}.{state.name}: waits for a department it hides from: "
                                 "no transition that refers the case leads there")
            for name in state.clocks:
                if clock_binds[name] == DEPARTMENT and state.waits_for != DEPARTMENT:
                    raise ValueError(f"{self.name}.{state.name}: runs the department's clock {name} "
                                     "but does not wait for the department")

    # -- look-ups ---------------------------------------------------------------------

    def state(self, name: str) -> State:
        try:
            return self._states[name]
        except KeyError:
            raise KeyError(f"{self.name} has no state {name!r}") from None

    @cached_property
    def _states(self) -> dict[str, State]:
        return {s.name: s for s in self.states}

    def clock(self, name: str) -> Clock:
        return next(c for c in self.clocks if c.name == name)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def final_states(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states if s.final)

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def states_where(self, test: Callable[[State], bool]) -> tuple[str, ...]:
        """Names of the states with a fact, e.g. ``lambda s: s.carries_objection_mark``."""
        return tuple(s.name for s in self.states if test(s))

    def triggers_where(self, test: Callable[[Transition], bool]) -> tuple[str, ...]:
        """Triggers of the transitions with a fact, each once, in table order."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions if test(t)))

    def answer_by(self, role: str) -> str | None:
        """The trigger by which ``role`` answers a state that waits for it (one at most)."""
        found = self.triggers_where(lambda t: t.answers and role in t.actors)
        return found[0] if found else None

    def sources(self, trigger: str) -> tuple[str, ...]:
        """Every state ``trigger`` may leave."""
        return tuple(dict.fromkeys(s for t in self.transitions if t.trigger == trigger for s in t.source))

    def dest(self, trigger: str) -> str:
        """The state ``trigger`` leads to, for a trigger that leads to one only."""
        dests = {t.dest for t in self.transitions if t.trigger == trigger}
        if len(dests) != 1:
            raise ValueError(f"{self.name}: {trigger} leads to {sorted(dests) or 'nowhere'}")
        return dests.pop()

    def transitions_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.source]

    def find(self, state: str, trigger: str) -> Transition | None:
        return next((t for t in self.transitions if t.trigger == trigger and state in t.source), None)

    # -- decisions --------------------------------------------------------------------

    def refusal(self, state: str, trigger: str, actor: str, check: GuardCheck) -> str | None:
        """Why ``actor`` may not fire ``trigger`` from ``state`` now, or None if it may."""
        t = self.find(state, trigger)
        if t is None:
            return "not_allowed_in_state"
        if actor not in t.actors:
            return "not_allowed_for_role"
        for guard in t.guards:
            why = check(guard)
            if why is not None:
                return why
        return None

    def available(self, state: str, actor: str, check: GuardCheck) -> list[Transition]:
        """The transitions that ``actor`` may fire from ``state`` now (to draw the buttons)."""
        return [
            t for t in self.transitions_from(state)
            if actor in t.actors and all(check(g) is None for g in t.guards)
        ]

    def fire(self, state: str, trigger: str, actor: str, check: GuardCheck) -> Transition:
        """Run the state change through the machine; return the transition taken.

        Raises ``TransitionRefused`` with the reason; nothing is changed then.
        """
        why = self.refusal(state, trigger, actor, check)
        if why is not None:
            raise TransitionRefused(trigger, state, why)
        token = _Token(state)
        try:
            moved = self._machine.events[trigger].trigger(token, check=check)
        except MachineError as error:  # pragma: no cover - refusal() already covers this
            raise TransitionRefused(trigger, state, "not_allowed_in_state") from error
        if not moved:  # pragma: no cover - a guard changed its mind between the two calls
            raise TransitionRefused(trigger, state, "guard_failed")
        return self.find(state, trigger)

    @cached_property
    def _machine(self) -> Machine:
        """One machine per workflow, built once, driving light tokens (no I/O in callbacks)."""
        return Machine(
            model=None,
            states=list(self.state_names),
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": list(t.source),
                    "dest": t.dest,
                    "conditions": [_GuardCondition(g) for g in t.guards],
                }
                for t in self.transitions
            ],
            initial=self.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )

    # -- pictures ---------------------------------------------------------------------

    def mermaid(self, current: str | None = None) -> str:
        """The workflow as a Mermaid state diagram, optionally with the current state marked."""
        if current is not None:
            self.state(current)  # refuses an unknown state
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for t in self.transitions:
            for source in t.source:
                lines.append(f"    {source} --> {t.dest}: {t.trigger}")
        for state in self.states:
            if state.final:
                lines.append(f"    {state.name} --> [*]")
        if current:
            lines.append("    classDef current fill:#f0b400,stroke:#333,font-weight:bold")
            lines.append(f"    class {current} current")
        return "\n".join(lines)


class _Token:
    """Stands in for a case while the machine decides; carries only the state."""

    def __init__(self, state: str):
        self.state = state


@dataclass(frozen=True)
class _GuardCondition:
    name: str

    def __call__(self, event) -> bool:
        return event.kwargs["check"](self.name) is None
