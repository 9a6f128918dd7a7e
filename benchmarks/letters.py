"""Benchmark: what a letter costs the step that issues it (issue 15, item 1).

    .venv/bin/python benchmarks/letters.py [--cases 30]

On a throw-away SQLite file, interleaved per case: ``accept`` of an objection (the step that
issues a 受理通知书: number, render, store, in its transaction) against ``refer`` of the same case
(a step without a letter: the floor), and the bare render of each kind of letter (WeasyPrint, no
database). The load average is recorded. Writes benchmarks/results/letters.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="casedesk-bench-letters-"))
    os.environ.setdefault("CASEDESK_INSTANCE", str(folder))
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import Letter
    from app.models.enums import CaseKind, Role
    from app.services.letters.issue import _context  # the context a real letter has
    from app.services.letters.render import render_pdf
    from tests.factories import act, make_department, make_record, make_subject, make_user, submit
    from workflows import OBJECTION

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
                      "UPLOAD_DIR": str(folder / "uploads"), "SERVER_NAME": "casedesk.bench"})
    load = os.getloadavg()[0]
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        department, subject = make_department(), make_subject()
        applicant, officer = make_user(Role.APPLICANT, subject=subject), make_user(Role.OFFICER)
        with_letter, without = [], []
        for _ in range(args.cases):
            case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department))
            started = time.perf_counter()
            act(case, "accept", officer)
            with_letter.append(time.perf_counter() - started)
            started = time.perf_counter()
            act(case, "refer", officer)
            without.append(time.perf_counter() - started)
        sizes = [len(pdf) for pdf in db.session.scalars(select(Letter.pdf))]
        case = submit(applicant, CaseKind.OBJECTION, make_record(subject=subject, department=department))
        context = _context(case, OBJECTION.find("submitted", "accept"), "信受〔2026〕第999999号",
                           datetime.now(UTC).date(), "ABCDEFGHIJKLMNOP")
        renders = {}
        for kind in ("acceptance", "objection_decision", "complaint_reply"):
            times = []
            for _ in range(10):
                started = time.perf_counter()
                render_pdf(kind, context)
                times.append(time.perf_counter() - started)
            renders[kind] = round(statistics.median(times) * 1000, 1)

    def ms(values):
        return {"median_ms": round(statistics.median(values) * 1000, 1), "max_ms": round(max(values) * 1000, 1)}

    result = {
        "taken": datetime.now(UTC).isoformat(timespec="seconds"), "load_1min": load, "cases": args.cases,
        "accept_with_letter": ms(with_letter[1:]), "refer_without_letter": ms(without[1:]),
        "first_accept_ms": round(with_letter[0] * 1000, 1),
        "render_only_median_ms": renders, "pdf_bytes_median": statistics.median(sizes),
    }
    out = ROOT / "benchmarks" / "results" / "letters.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
