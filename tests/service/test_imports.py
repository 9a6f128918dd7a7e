"""Record import from CSV and XLSX: each row checked, the whole file or nothing."""
from __future__ import annotations

import csv
import resource
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from app.models import CreditRecord, RecordEvent, Subject
from app.services.records import imports
from app.services.records.imports import import_records
from tests.factories import id_number, make_department, make_record, uscc

HEADER = ["identifier", "subject_name", "category", "severity", "decision_number", "decision_date", "facts",
          "sanction", "sanction_kinds", "sector"]


def _row(n: int, **over) -> list[str]:
    values = {"identifier": uscc(), "subject_name": f"导入公司{n}", "category": "行政处罚信息", "severity": "一般",
              "decision_number": f"沪导罚〔2026〕{n}号", "decision_date": "2026-06-01", "facts": "事实",
              "sanction": "罚款", "sanction_kinds": "fine", "sector": ""}
    values.update(over)
    return [values[h] for h in HEADER]


def _csv(tmp_path, rows, header=HEADER):
    path = tmp_path / "records.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _count(db):
    return db.session.scalar(select(func.count()).select_from(CreditRecord))


def test_a_good_file_is_imported_with_dates_and_events(db, tmp_path, frozen):
    department = make_department()
    path = _csv(tmp_path, [_row(n) for n in range(5)] + [_row(9, identifier=id_number(birth="20100101"),
                                                             subject_name="未成年人")])
    report = import_records(path, department)
    assert report.ok and report.imported == 6 and _count(db) == 6
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.decision_number == "沪导罚〔2026〕0号"))
    assert record.publicity_end == date(2027, 6, 1) and record.is_public
    minor = db.session.scalar(select(CreditRecord).where(CreditRecord.decision_number == "沪导罚〔2026〕9号"))
    assert not minor.is_public and minor.withheld_reason == "minor_subject"
    assert db.session.scalar(select(func.count()).select_from(RecordEvent)) == 6


def test_one_bad_row_imports_nothing_and_every_problem_is_reported(db, tmp_path, frozen):
    department = make_department()
    make_record(department=department, decision_number="已存在")
    rows = [
        _row(1),
        _row(2, identifier="91350100M000100Y44"),
        _row(3, decision_date="2026-02-30"),
        _row(4, severity="灾难"),
        _row(5, decision_number="沪导罚〔2026〕1号"),
        _row(6, decision_number="已存在"),
        _row(7, facts=""),
        _row(8, decision_date="2027-01-01"),
    ]
    before = _count(db)
    report = import_records(_csv(tmp_path, rows), department)
    assert not report.ok and report.imported == 0 and _count(db) == before
    problems = {(row, column) for row, column, _ in report.errors}
    assert problems == {(3, "identifier"), (4, "decision_date"), (5, "severity"), (6, "decision_number"),
                        (7, "decision_number"), (8, "facts"), (9, "decision_date")}
    assert report.as_csv().startswith("\ufeff行号,列,问题\r\n") and ",失信程度," in report.as_csv()


def test_a_file_without_the_needed_columns_is_refused(db, tmp_path):
    report = import_records(_csv(tmp_path, [["x"]], header=["identifier"]), make_department())
    assert not report.ok and "subject_name" in report.errors[0][2]


def test_xlsx_is_read_too(db, tmp_path, frozen):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["统一社会信用代码", "名称", "信息类别", "失信程度", "决定文书号", "决定日期", "失信事实", "惩戒措施"])
    from datetime import datetime

    sheet.append([uscc(), "表格公司", "行政处罚信息", "严重", "沪表罚1号", datetime(2026, 5, 1), "事实", "罚款"])
    path = tmp_path / "records.xlsx"
    book.save(path)
    report = import_records(path, make_department())
    assert report.ok and report.imported == 1
    record = db.session.scalar(select(CreditRecord))
    assert record.severity == "serious" and record.decision_date == date(2026, 5, 1)


def test_the_cli_prints_the_report(app, db, tmp_path, frozen):
    department = make_department(code="IMP-1")
    good = app.test_cli_runner().invoke(args=["records", "import", str(_csv(tmp_path, [_row(1)])), "--department", "IMP-1"])
    assert good.exit_code == 0 and good.output.strip().endswith("imported 1")
    bad = app.test_cli_runner().invoke(
        args=["records", "import", str(_csv(tmp_path, [_row(2, severity="x")])), "--department", "IMP-1"])
    assert bad.exit_code == 1 and "row 2" in bad.output and "nothing imported" in bad.output
    assert department.id


def test_chunks_and_statements_keep_each_row_with_its_subject_and_event(db, tmp_path, frozen, monkeypatch):
    """Rows stored in several chunks, each taking its ids after the last chunk's: each record gets
    its own subject, its dates and one event; a subject met in two chunks is one."""
    monkeypatch.setattr(imports, "CHUNK", 4)
    department = make_department()
    codes = [uscc() for _ in range(5)]
    rows = [_row(n, identifier=codes[n % 5], subject_name=f"导入公司{n % 5}",
                 decision_date=f"2026-0{1 + n % 6}-1{n % 9}", sanction_kinds="fine" if n % 2 else "")
            for n in range(11)]
    report = import_records(_csv(tmp_path, rows), department)
    assert report.ok and report.imported == 11
    for n, row in enumerate(rows):
        record = db.session.scalar(select(CreditRecord).where(CreditRecord.decision_number == row[4]))
        assert record.subject.identifier == codes[n % 5] and record.subject.name == f"导入公司{n % 5}"
        assert record.decision_date == date.fromisoformat(row[5]) and record.publicity_start == record.decision_date
        assert record.sanction_kinds == (["fine"] if n % 2 else [])
        events = db.session.scalars(select(RecordEvent).where(RecordEvent.record_id == record.id)).all()
        assert [(e.seq, e.trigger, e.to_state) for e in events] == [(1, "publish", "published")]
    assert db.session.scalar(select(func.count()).select_from(Subject).where(Subject.identifier.in_(codes))) == 5


@pytest.mark.slow
def test_a_100000_row_file_imports_with_memory_that_does_not_grow(db, tmp_path, frozen, capsys):
    """Figures for benchmarks/README.md; no timed assertion."""
    department = make_department()
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for n in range(100_000):
            writer.writerow(_row(n, identifier=uscc(n % 5000 + 1)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    report = import_records(path, department)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert report.ok and report.imported == 100_000
    assert db.session.scalar(select(func.count()).select_from(Subject)) >= 5000
    with capsys.disabled():
        print(f"\n100,000-row CSV import: {seconds:.1f} s, {100_000 / seconds:,.0f} rows/s, "
              f"peak RSS {peak:.0f} MB (was {before:.0f} MB before the import)")


ACTION_HEADER = [*HEADER, "action"]


def _action_row(n: int, action: str, **over) -> list[str]:
    return [*_row(n, **over), action]


def test_a_correct_row_makes_a_new_version_of_the_record_with_the_same_number(db, tmp_path, frozen):
    """Issue 14: a row with the same decision number and the action ``correct`` (更正) corrects
    the record, with the same event as every other correction; new rows beside it are imported."""
    from app.models import Notification, User

    department = make_department()
    old = make_record(department=department, decision_number="沪导罚〔2026〕7号", decision_date=date(2026, 6, 1),
                      sanction="罚款", sanction_kinds=["fine"])
    identifier = old.subject.identifier
    path = _csv(tmp_path, [
        _action_row(7, "更正", identifier=identifier, sanction="罚款人民币五万元", severity="严重",
                    sanction_kinds="fine;confiscation"),
        _action_row(8, ""),
    ], header=ACTION_HEADER)
    user_id = db.session.scalar(select(User.id).limit(1))  # any account will do as the importer
    report = import_records(path, department, user_id)
    assert report.ok and (report.imported, report.corrected) == (1, 1) and _count(db) == 2
    db.session.refresh(old)
    assert (old.state, old.sanction, old.severity, old.sanction_kinds, old.publicity_end) == (
        "corrected", "罚款人民币五万元", "serious", ["fine", "confiscation"], date(2029, 6, 1))
    event = db.session.scalars(select(RecordEvent).where(RecordEvent.record_id == old.id,
                                                         RecordEvent.trigger == "correct")).one()
    assert event.data["source"] == "import" and event.data["before"]["sanction"] == "罚款"
    assert event.data["after"]["severity"] == "serious" and event.actor_id == user_id
    assert db.session.scalars(select(Notification.template)).all() == ["record_corrected"]


def test_correct_rows_that_cannot_correct_are_reported_and_nothing_changes(db, tmp_path, frozen):
    department = make_department()
    old = make_record(department=department, decision_number="沪导罚〔2026〕7号", decision_date=date(2026, 6, 1),
                      facts="事实", sanction="罚款", sanction_kinds=["fine"])
    identifier = old.subject.identifier
    path = _csv(tmp_path, [
        _action_row(7, "correct", identifier=identifier),  # changes nothing
        _action_row(6, "correct"),  # no such record
        _action_row(5, "delete"),  # no such action
        _action_row(8, ""),  # fine on its own, but the file is refused whole
    ], header=ACTION_HEADER)
    report = import_records(path, department)
    assert not report.ok and report.imported == 0 and _count(db) == 1
    assert [(row, column) for row, column, _message in report.errors] == [
        (2, "action"), (3, "decision_number"), (4, "action")]
    path = _csv(tmp_path, [_action_row(7, "correct", sanction="罚款二万元")], header=ACTION_HEADER)
    report = import_records(path, department)  # another subject's identifier under that number
    assert [(row, column) for row, column, _message in report.errors] == [(2, "identifier")]
    path = _csv(tmp_path, [_action_row(7, "", identifier=identifier, sanction="罚款二万元")], header=ACTION_HEADER)
    report = import_records(path, department)  # the same number without the action: a duplicate, as before
    assert [(row, column) for row, column, _message in report.errors] == [(2, "decision_number")]
    assert "correct" in report.errors[0][2]
    db.session.refresh(old)
    assert old.state == "published" and old.version == 1
