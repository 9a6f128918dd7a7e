"""The house rules that hold the layout together (DESIGN section 8, README "Layout")."""
from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 450


def _modules(package: str) -> list[str]:
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_import_contracts_hold():
    """web -> forms and services -> models and workflows; service packages in layers; no cycles."""
    linter = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stdout[run.stdout.find("Broken contracts"):] + run.stderr[-2000:]
    assert "BROKEN" not in run.stdout


def test_no_module_is_longer_than_a_reader_can_hold():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "app").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_models_import_no_service():
    """The same as `grep -rn "^from app.services\\|^import app.services" app/models`, indented ones too."""
    offenders = []
    for path in (ROOT / "app" / "models").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("app.services")]
    assert offenders == []


@pytest.mark.slow
def test_every_module_imports_first_in_a_fresh_interpreter():
    """Whatever is imported first, no cycle breaks the import (a cycle hides in the order)."""
    def import_alone(name: str) -> tuple[str, str]:
        run = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True)
        return name, run.stderr.strip().splitlines()[-1] if run.returncode else ""

    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = {name: error for name, error in pool.map(import_alone, _modules("app") + _modules("workflows"))
                    if error}
    assert failures == {}


def test_imports_stand_at_the_top_of_their_module():
    """A function-level import hides the graph from readers and from the contracts; where a cycle
    makes one unavoidable, it says which here, with its reason."""
    allowed: dict[str, str] = {}
    hidden = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                hidden += [f"{path.relative_to(ROOT)}:{sub.lineno}" for sub in ast.walk(node)
                           if isinstance(sub, ast.Import | ast.ImportFrom)]
    assert [h for h in hidden if h not in allowed] == []
