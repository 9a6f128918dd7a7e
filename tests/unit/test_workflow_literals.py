"""Workflow facts live in workflows/ only (DESIGN section 8): no string in app/ names a state,
a clock or a trigger of a workflow (nor an outcome or a finding); the app reads them from the
definitions, where each fact is an attribute. Renaming a state then means changing its table
and the code that asks for it by attribute, not grepping strings.

The guards and effects the tables name are implemented by name, and all of them are.
"""
from __future__ import annotations

import ast
from pathlib import Path

from workflows import ALL_WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]


def _vocabulary() -> dict[str, str]:
    """Every name a workflow gives, with what it names (for the failure message)."""
    names: dict[str, list[str]] = {}
    for w in ALL_WORKFLOWS:
        given = [(s.name, "state") for s in w.states] + [(c.name, "clock") for c in w.clocks]
        for t in w.transitions:
            given += [(t.trigger, "trigger")] + [(f.name, "finding") for f in t.findings]
            given += [(t.outcome, "outcome")] if t.outcome else []
        for name, kind in given:
            what = names.setdefault(name, [])
            if f"{kind} of {w.name}" not in what:
                what.append(f"{kind} of {w.name}")
    return {name: "a " + ", a ".join(what) for name, what in names.items()}


# (file, literal): words spelt like a workflow name that name something else. Keep it short.
ALLOWED = {
    ("app/cli.py", "expire"): "the `flask sweep expire` command and the expire job",
    ("app/cli.py", "purge"): "the purge job",
    ("app/cli.py", "revoke"): "`flask apikey revoke`: revokes an API key",
    ("app/jobs/__init__.py", "purge"): "the purge job",
    ("app/services/admin/jobs.py", "expire"): "the expire job",
    ("app/services/admin/jobs.py", "purge"): "the purge job",
    ("app/labels.py", "expire"): "the expire job's title",
    ("app/labels.py", "purge"): "the purge job's title",
    ("app/models/enums.py", "repair"): "CaseKind.REPAIR, the repair workflow's own name",
    ("app/models/enums.py", "supplement"): "AttachmentPurpose.SUPPLEMENT, a stored file purpose",
    ("app/services/cases/guards.py", "repair"): "the policy's repair section",
    ("app/services/admin/recompute.py", "recompute"): "the name of the recompute job's lock",
    # The demo's scripted story reads best in the workflows' own words; every step still goes
    # through transition_case, which refuses a name the workflow does not know, and
    # test_demo_data replays the story.
    **{("app/services/admin/demo.py", name): "a step of the demo's scripted story" for name in (
        "accept", "refer", "reply", "revoke", "decide_revoke", "close", "request_supplement", "assign")},
    ("app/forms/admin_policy.py", "published"): "a record class's published flag in the policy",
    ("app/services/policy/rules.py", "published"): "a record class's published flag in the policy",
    ("app/services/policy/versions.py", "published"): "a record class's published flag in the policy",
    # A subject's name is "verified" (SubjectNameSource.VERIFIED): its source, not the binding state.
    **{(path, "verified"): "SubjectNameSource.VERIFIED, a name's source" for path in (
        "app/models/enums.py", "app/labels.py", "app/services/oidc/sign_in.py")},
}

def _literals(source: str, names) -> list[tuple[str, int]]:
    """(literal, line) of each string constant in ``source`` that is one of ``names``. Names
    listed in ``__all__`` are Python objects (a function ``recompute``), not workflow names."""
    tree = ast.parse(source)
    exports = {id(n) for node in ast.walk(tree) if isinstance(node, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
               for n in ast.walk(node.value)}
    return [(node.value, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
            and id(node) not in exports]


def _literals_in_app(names) -> dict[tuple[str, str], list[int]]:
    found: dict[tuple[str, str], list[int]] = {}
    for path in sorted((ROOT / "app").rglob("*.py")):
        for literal, line in _literals(path.read_text(encoding="utf-8"), names):
            found.setdefault((path.relative_to(ROOT).as_posix(), literal), []).append(line)
    return found


def test_no_module_of_the_app_names_a_state_clock_or_trigger():
    names = _vocabulary()
    found = _literals_in_app(names)
    unexpected = [f"{file}:{lines[0]}: {literal!r} is {names[literal]}; read it from the workflow"
                  for (file, literal), lines in sorted(found.items())
                  if (file, literal) not in ALLOWED]
    assert unexpected == []


def test_every_exception_is_still_needed():
    """An entry that matches nothing goes, so the list only ever shrinks to what is true."""
    found = _literals_in_app(_vocabulary())
    stale = sorted(set(ALLOWED) - set(found))
    assert stale == []


def test_the_scan_sees_a_name_wherever_it_stands():
    """In a comparison, a tuple, a dict key, a call, an f-string; not in ``__all__``."""
    source = (
        'x = case.state in ("submitted", "other")\n'
        'y = {"verify": 1}\n'
        'f("decide_revoke")\n'
        'g = f"{a}" "lapsed"\n'
        '__all__ = ["recompute"]\n'
    )
    names = {"submitted", "verify", "decide_revoke", "lapsed", "recompute"}
    assert sorted(_literals(source, names)) == [("decide_revoke", 3), ("lapsed", 4), ("submitted", 1), ("verify", 2)]


def test_every_guard_and_effect_a_table_names_is_implemented_and_no_other():
    from app.services.cases.effects import EFFECTS
    from app.services.cases.guards import GUARDS
    from workflows import CASE_WORKFLOWS

    named_guards = {g for w in CASE_WORKFLOWS.values() for t in w.transitions for g in t.guards}
    named_effects = {e for w in CASE_WORKFLOWS.values() for t in w.transitions for e in t.effects}
    assert set(GUARDS) == named_guards
    assert set(EFFECTS) == named_effects
