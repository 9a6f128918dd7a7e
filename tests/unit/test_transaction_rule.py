"""The transaction rule (README "Layout"), checked on the source: who commits, who queries, who imports what.

A use case owns its transaction: each service package's ``__init__`` exports its use cases and
queries; a function that commits is one of those use cases (or a private helper of one), and is
marked ``@use_case`` so that whatever it raises leaves the session rolled back. Views, CLI
commands and jobs never commit, never query, and import from a service package only what its
``__all__`` names. Each check is a function over source text, and a self-test feeds it a
violation, so a check that could not fail would fail here.
"""
from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
SERVICES = APP / "services"

# The modules that may touch the session in the web layer: the error handlers roll it back.
SESSION_ALLOWED = {"app/web/errors.py"}
# Entry points: blueprints, the CLI, the scheduler; the app factory, which sets up the engine, only
# for what it imports from services.
ENTRY_POINTS = ["app/web", "app/cli.py", "app/jobs"]
FACTORY = "app/__init__.py"
# ``from app.services.<package>.<module> import ...`` in an entry point, with the reason. None needed today.
DEEP_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {}
# Exported functions that commit but cannot be marked @use_case, with the reason.
UNMARKED_ALLOWED = {
    "app.services.admin.jobs.job_lock": "a context manager: its commits take and release the job's lock",
}


def _sources(*places: str) -> dict[str, str]:
    found = {}
    for place in places:
        path = ROOT / place
        for file in ([path] if path.suffix == ".py" else sorted(path.rglob("*.py"))):
            found[str(file.relative_to(ROOT))] = file.read_text(encoding="utf-8")
    return found


def _packages() -> list[str]:
    return sorted(p.name for p in SERVICES.iterdir() if (p / "__init__.py").exists())


def _exports(package: str) -> set[str]:
    tree = ast.parse((SERVICES / package / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


# ---------------------------------------------------------------------------------------
# (a) Views, CLI commands and jobs neither commit nor query
# ---------------------------------------------------------------------------------------

# Called on the database (``db.session``, a connection, the engine); Flask's ``session`` is the cookie.
SESSION_CALLS = ("flush", "add", "delete", "get", "scalar", "scalars", "execute")


def session_violations(name: str, source: str) -> list[str]:
    """Uses of the session or of SQL in an entry-point module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "app.extensions" and any(a.name == "db" for a in node.names):
                found.append(f"{name}:{node.lineno} imports db")
            if node.module.split(".")[0] == "sqlalchemy":
                found.append(f"{name}:{node.lineno} imports {node.module}")
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in node.names):
            found.append(f"{name}:{node.lineno} imports sqlalchemy")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "db":
            found.append(f"{name}:{node.lineno} db.{node.attr}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("select", "insert", "update", "delete", "text"):
                found.append(f"{name}:{node.lineno} calls {func.id}()")
            elif isinstance(func, ast.Attribute) and (func.attr in ("commit", "rollback") or (
                    func.attr in SESSION_CALLS and any(word in ast.unparse(func.value).split(".")
                                                       for word in ("db", "connection", "engine")))):
                found.append(f"{name}:{node.lineno} calls {ast.unparse(func)}()")
        elif isinstance(node, ast.Attribute) and node.attr == "query":
            found.append(f"{name}:{node.lineno} .query")
    return found


def test_views_cli_and_jobs_never_commit_nor_query():
    found = [v for name, source in _sources(*ENTRY_POINTS).items() if name not in SESSION_ALLOWED
             for v in session_violations(name, source)]
    assert found == []


# ---------------------------------------------------------------------------------------
# (b) A function that commits is an exported use case (or a private helper of one)
# ---------------------------------------------------------------------------------------

def _commits(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "commit"
               for n in ast.walk(node))


def committing_functions(source: str) -> tuple[list[str], dict[str, set[str]]]:
    """The module's functions that commit (methods as ``Class.name``), and for each private
    committing function the names of the module's functions that call it."""
    tree = ast.parse(source)
    defs = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs[node.name] = node
        elif isinstance(node, ast.ClassDef):
            defs.update({f"{node.name}.{m.name}": m for m in node.body
                         if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)})
    committing = [name for name, node in defs.items() if _commits(node)]
    callers = {
        name: {other for other, node in defs.items() if other != name and any(
            isinstance(n, ast.Call) and getattr(n.func, "id", None) == name for n in ast.walk(node))}
        for name in committing if name.startswith("_")
    }
    return committing, callers


def commit_violations(module: str, source: str, exported: set[str]) -> list[str]:
    """``exported``: the module's functions that its package exports (``__all__``)."""
    committing, callers = committing_functions(source)
    found = []
    for name in committing:
        if name.startswith("_"):
            strays = callers[name] - exported
            if strays or not callers[name]:
                found.append(f"{module}.{name} commits and is called by {sorted(strays) or 'nobody'}, "
                             "not only by exported use cases")
        elif name not in exported:
            found.append(f"{module}.{name} commits but its package does not export it")
    return found


def _exported_functions(package: str) -> dict[str, set[str]]:
    """For each module of the package, the names of its functions the package exports (wrapped or not)."""
    init = importlib.import_module(f"app.services.{package}")
    by_module: dict[str, set[str]] = {}
    for name in init.__all__:
        function = inspect.unwrap(getattr(init, name))
        if inspect.isfunction(function):
            by_module.setdefault(function.__module__, set()).add(function.__name__)
    return by_module


def test_a_function_that_commits_is_an_exported_use_case():
    found = []
    for path in sorted(SERVICES.rglob("*.py")):
        if path.name == "__init__.py":
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        package = path.relative_to(SERVICES).parts[0] if path.parent != SERVICES else None
        exported = _exported_functions(package).get(module, set()) if package else set()
        found += commit_violations(module, path.read_text(encoding="utf-8"), exported)
    assert found == []


def test_every_exported_use_case_rolls_back_what_it_raises():
    """Marked ``@use_case`` (app/services/transaction.py), where it is defined or where its package exports it."""
    unmarked = []
    for package in _packages():
        init = importlib.import_module(f"app.services.{package}")
        for name in sorted(init.__all__):
            exported = getattr(init, name)
            function = inspect.unwrap(exported)
            if not inspect.isfunction(function):
                continue
            committing, _callers = committing_functions(inspect.getsource(inspect.getmodule(function)))
            defined = f"{function.__module__}.{function.__name__}"
            commits = function.__name__ in committing or any(
                c.startswith("_") and function.__name__ in _callers[c] for c in committing)
            if commits and not getattr(exported, "use_case", False) and defined not in UNMARKED_ALLOWED:
                unmarked.append(defined)
    assert unmarked == []


# ---------------------------------------------------------------------------------------
# (c) Entry points import from a service package only what it exports
# ---------------------------------------------------------------------------------------

def import_violations(name: str, source: str, exports: dict[str, set[str]]) -> list[str]:
    """``exports``: each service package's ``__all__``."""
    found, aliases = [], {}
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{name}:{node.lineno} import {a.name}" for a in node.names if a.name.startswith("app.services")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app.services"):
            parts = node.module.split(".")
            if len(parts) == 2:  # from app.services import <package>
                for alias in node.names:
                    if alias.name not in exports:
                        found.append(f"{name}:{node.lineno} from app.services import {alias.name} (not a package)")
                    aliases[alias.asname or alias.name] = alias.name
            elif len(parts) == 3 and parts[2] in exports:  # from app.services.<package> import <names>
                found += [f"{name}:{node.lineno} {node.module}.{a.name} is not in its __all__"
                          for a in node.names if a.name not in exports[parts[2]]]
            elif (name, node.module) not in DEEP_IMPORTS_ALLOWED:
                found.append(f"{name}:{node.lineno} from {node.module} import ... (import from the package)")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            package = aliases[node.value.id]
            if node.attr not in exports[package]:
                found.append(f"{name}:{node.lineno} {package}.{node.attr} is not in its __all__")
    return found


def test_entry_points_import_only_what_service_packages_export():
    exports = {package: _exports(package) for package in _packages()}
    found = [v for name, source in _sources(*ENTRY_POINTS, FACTORY).items()
             for v in import_violations(name, source, exports)]
    assert found == []


def test_forms_import_neither_services_nor_web():
    found = [f"{name}:{node.lineno}" for name, source in _sources("app/forms").items()
             for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("app.services", "app.web"))]
    assert found == []


# ---------------------------------------------------------------------------------------
# The checks can fail: each is fed a violation
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "from app.extensions import db\n",
    "def view():\n    db.session.commit()\n",
    "from sqlalchemy import select\n",
    "def view(s):\n    return s.scalars(select(User))\n",
    "def view(case):\n    case.session.commit()\n",
    "def view(user):\n    db.session.add(user)\n",
    "def view(connection):\n    connection.execute(statement)\n",
    "def view():\n    return User.query.all()\n",
])
def test_the_session_check_finds_a_view_that_queries_or_commits(source):
    assert session_violations("app/web/x.py", source)


def test_the_commit_check_finds_a_committing_step():
    source = (
        "def use():\n    _helper()\n    db.session.commit()\n\n"
        "def _helper():\n    db.session.commit()\n\n"
        "def step():\n    db.session.commit()\n\n"
        "def other():\n    _helper()\n"
    )
    found = commit_violations("app.services.x.m", source, exported={"use"})
    assert any("m.step commits but" in v for v in found)
    assert any("m._helper commits and is called by ['other']" in v for v in found)
    assert commit_violations("app.services.x.m", source, exported={"use", "step", "other"}) == []


def test_the_import_check_finds_a_step_imported_by_a_view():
    exports = {"records": {"push_records"}, "cases": {"transition_case"}}
    assert import_violations("v", "from app.services.records.imports import insert_records\n", exports)
    assert import_violations("v", "from app.services.records import insert_records\n", exports)
    assert import_violations("v", "from app.services import records\nrecords.insert_records([])\n", exports)
    assert import_violations("v", "import app.services.records\n", exports)
    assert import_violations("v", "from app.services import audit\n", exports)
    assert import_violations("v", "from app.services import records\nrecords.push_records(d, [])\n", exports) == []
