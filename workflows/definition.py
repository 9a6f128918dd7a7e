"""How a workflow is written down: states, clocks, transitions, as data.

A ``Workflow`` is declared once per kind of case (and once for the record lifecycle) and
drives any number of cases. It knows nothing of Flask or the database: the services ask it
which triggers a role may fire from a state, which guards to check (by name: the services
evaluate them on real data) and which effects to carry out (also by name); the actual state
change is done by a ``transitions`` machine built from the same table.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from transitions import Machine, MachineError

SYSTEM = "system"  # the scheduled jobs, acting without a user


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
    """

    name: str
    on_breach: str | None = None
    description: str = ""


NO_SLA: tuple[str, ...] = ()  # said explicitly by a state that has no deadline


@dataclass(frozen=True)
class State:
    name: str
    # Clocks that run while the case is in this state. Every state that is not final must
    # say which (``NO_SLA`` for none), so a missing deadline is a decision, not an oversight.
    clocks: tuple[str, ...] | None = None
    pauses: bool = False  # waiting for the applicant: the other clocks stand still
    final: bool = False  # nothing can happen any more
    done: bool = False  # the case is finished (final, or resting until a rare event)

    def __post_init__(self) -> None:
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
class Transition:
    trigger: str
    source: tuple[str, ...]
    dest: str
    actors: frozenset[str]  # roles that may fire it, or SYSTEM
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    reason_required: bool = False
    bookkeeping: bool = False  # changes who handles the case, not its state: not drawn


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
) -> Transition:
    """Shorthand used by the workflow tables."""
    return Transition(
        trigger=trigger,
        source=(source,) if isinstance(source, str) else tuple(source),
        dest=dest,
        actors=frozenset([actors] if isinstance(actors, str) else actors),
        guards=tuple(guards),
        effects=tuple(effects),
        reason_required=reason,
        bookkeeping=bookkeeping,
    )


def handling(states: Iterable[str], staff: Iterable[str]) -> list[Transition]:
    """Claiming and reassigning a case, and recomputing its deadlines under a new policy
    version (an admin's explicit, audited job): in each open state, steps that stay in it."""
    staff = tuple(staff)
    steps = []
    for state in states:
        steps.append(transition("claim", state, state, staff, guards=["unassigned"], effects=["claim"],
                                bookkeeping=True))
        steps.append(transition("reassign", state, state, staff, effects=["reassign"], reason=True,
                                bookkeeping=True))
        steps.append(transition("recompute", state, state, SYSTEM, reason=True, bookkeeping=True))
    return steps


GuardCheck = Callable[[str], str | None]  # guard name -> None if it holds, else why not


@dataclass(frozen=True)
class Workflow:
    name: str
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    clocks: tuple[Clock, ...] = ()

    def __post_init__(self) -> None:
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
