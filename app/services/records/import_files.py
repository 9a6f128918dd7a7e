"""Reading an import file (CSV or XLSX) within limits: its rows as {field: text}, nothing more.

The limits (``ImportLimits``, from the IMPORT_* settings) bound what one file can cost a worker:
the file's size, an XLSX's inflated size (declared, checked before reading; and counted while
reading, since a zip's directory can lie), the rows, the cells read in a row and the length of
a cell. A file over a limit is refused with the reason (``UnreadableFile``); a row with a cell
too long or too many cells is reported like any other bad row. Memory holds one row at a time.
"""
from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from app.services.records import xlsx

# Header names accepted for each field: the English code name or the usual Chinese heading.
COLUMNS = {
    "identifier": ("identifier", "统一社会信用代码", "身份证号码", "统一社会信用代码/身份证号码", "证件号码"),
    "subject_name": ("subject_name", "名称", "主体名称", "信用主体名称", "姓名"),
    "category": ("category", "信息类别", "类别"),
    "severity": ("severity", "失信程度", "严重程度"),
    "decision_number": ("decision_number", "决定文书号", "决定书文号", "文书号"),
    "decision_date": ("decision_date", "决定日期", "认定日期"),
    "facts": ("facts", "失信事实", "违法事实"),
    "sanction": ("sanction", "惩戒措施", "处罚内容"),
    "sanction_kinds": ("sanction_kinds", "处罚种类"),
    "sector": ("sector", "所属领域"),
    "publish_minor": ("publish_minor", "轻微失信仍公示"),
    # Empty for a new record; "correct" (更正) for a new version of one already provided with
    # the same decision number (it must still be in publicity).
    "action": ("action", "操作"),
    "measure_until": ("measure_until", "限制措施截止日期"),
}
REQUIRED = ("identifier", "subject_name", "category", "severity", "decision_number", "decision_date", "facts", "sanction")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
MB = 1024 * 1024
# A CSV in Excel's "CSV UTF-8" (with or without its BOM), else in GB18030, what Excel and WPS
# write as plain "CSV" on a Chinese system: the calendar import accepts the same two.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def column_heading(name: str) -> str:
    """A field's heading as a reader's file has it: the usual Chinese one, or in English the code name."""
    aliases, locale = COLUMNS.get(name), get_locale()  # no locale outside the app: as gettext, untranslated
    if not aliases or locale is None or not str(locale).startswith("zh"):
        return name
    return aliases[1]


class UnreadableFile(ValueError):
    """The file as a whole is refused (its message says why, in the user's language)."""


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int = 20 * MB
    max_inflated_bytes: int = 128 * MB
    max_compression_ratio: float = 100
    max_rows: int = 200_000
    max_columns: int = 64
    max_cell_chars: int = 10_000
    max_errors: int = 1000
    inline_max_bytes: int = MB
    max_queued: int = 3

    @classmethod
    def from_config(cls) -> ImportLimits:
        config = current_app.config
        return cls(
            max_bytes=config["IMPORT_MAX_BYTES"], max_inflated_bytes=config["IMPORT_MAX_INFLATED_BYTES"],
            max_compression_ratio=config["IMPORT_MAX_COMPRESSION_RATIO"], max_rows=config["IMPORT_MAX_ROWS"],
            max_columns=config["IMPORT_MAX_COLUMNS"], max_cell_chars=config["IMPORT_MAX_CELL_CHARS"],
            max_errors=config["IMPORT_MAX_ERRORS"], inline_max_bytes=config["IMPORT_INLINE_MAX_BYTES"],
            max_queued=config["IMPORT_MAX_QUEUED"])


def is_xlsx(path: Path) -> bool:
    return path.suffix.lower() in XLSX_SUFFIXES


def inspect_file(path: Path, limits: ImportLimits) -> int:
    """What reading the file will inflate (its size; an XLSX's declared parts), checked against
    the limits before a byte of it is read. Raises UnreadableFile."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise file_too_large(limits)
    if not is_xlsx(path):
        return size
    try:
        return xlsx.inspect_zip(path, limits.max_inflated_bytes, limits.max_compression_ratio)
    except xlsx.BrokenWorkbook:
        raise UnreadableFile(_("The file is not a readable XLSX workbook.")) from None
    except xlsx.TooLarge:
        raise _too_large(limits.max_inflated_bytes) from None
    except xlsx.TooCompressed:
        raise UnreadableFile(_("The workbook is compressed far more than any spreadsheet is (a zip bomb?); "
                               "it was not opened.")) from None


def file_too_large(limits: ImportLimits) -> UnreadableFile:
    return UnreadableFile(_("The file is larger than %(mb)s MB.", mb=_megabytes(limits.max_bytes)))


def _too_large(budget: int) -> UnreadableFile:
    return UnreadableFile(_("The workbook holds more than %(mb)s MB once decompressed; split it into smaller files.",
                            mb=_megabytes(budget)))


def _megabytes(n: int) -> str:
    return f"{n / MB:.0f}" if n >= MB else f"{n / MB:.2f}"


Row = tuple[int, dict[str, str], list[tuple[str, str]]]


def read_rows(path: Path, limits: ImportLimits, budget: int | None = None) -> Iterator[Row]:
    """(line number, {field: text}, [(column, problem)]) for each data row, the header mapping
    columns to fields. ``budget``: the inflated bytes this reading may spend (by default the
    limit). Raises UnreadableFile, also part-way (a row too many, the budget spent)."""
    rows = _xlsx_rows(path, limits, budget or limits.max_inflated_bytes) if is_xlsx(path) else _csv_rows(path, limits)
    header = next(rows, None)
    if header is None:
        return
    mapping = _map_header(header[1][:limits.max_columns])
    count = 0
    for number, values in rows:
        count += 1
        if count > limits.max_rows:
            raise UnreadableFile(_("The file has more than %(n)d rows; split it into smaller files.", n=limits.max_rows))
        problems = []
        if len(values) > limits.max_columns:
            problems.append(("", _("This row has more than %(n)d columns.", n=limits.max_columns)))
        row = {}
        for name, i in mapping.items():
            value = values[i].strip() if i < len(values) else ""
            if len(value) > limits.max_cell_chars:
                problems.append((name, _("This cell is longer than %(n)d characters.", n=limits.max_cell_chars)))
                value = value[:limits.max_cell_chars]
            row[name] = value
        yield number, row, problems


def _csv_rows(path: Path, limits: ImportLimits) -> Iterator[tuple[int, list[str]]]:
    """The header, then each non-empty row. The csv module bounds a cell (131,072 characters)
    and the file's size bounds a line."""
    number = 0  # the last row read: a row that cannot be read is the next
    encoding = csv_encoding(path)
    try:
        with path.open(encoding=encoding, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                return
            number = 1
            yield 1, header
            for number, values in enumerate(reader, start=2):
                if any(v.strip() for v in values):
                    yield number, values
    except csv.Error:
        raise UnreadableFile(_("Row %(row)d cannot be read as CSV: a cell is too long or a quote is not closed.",
                               row=number + 1)) from None


def csv_encoding(path: Path) -> str:
    """The first of CSV_ENCODINGS the whole file decodes in, read in pieces (memory stays flat);
    a file in neither, or with NUL characters (no text file has them), is refused."""
    for encoding in CSV_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as f:
                while piece := f.read(MB):
                    if "\x00" in decoder.decode(piece):
                        raise UnreadableFile(_not_text())
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise UnreadableFile(_not_text())


def _not_text() -> str:
    return _("The file is not text in UTF-8 or GB18030. Save it as CSV (UTF-8) or as XLSX.")


def _xlsx_rows(path: Path, limits: ImportLimits, budget: int) -> Iterator[tuple[int, list[str]]]:
    """The header, then each row with a value, as lists by column; a row with a cell beyond
    the column limit gets one cell more than the limit, so that it is reported."""
    rows = xlsx.read_sheet(path, xlsx.Budget(budget), limits.max_columns, limits.max_cell_chars)
    try:
        for number, cells, wide in rows:
            width = limits.max_columns + 1 if wide else max(cells, default=0)
            values = [cells.get(i, "") for i in range(1, width + 1)]
            if any(v.strip() for v in values):
                yield number, values
    except xlsx.BrokenWorkbook:
        raise UnreadableFile(_("The file is not a readable XLSX workbook.")) from None
    except xlsx.TooLarge:
        raise _too_large(budget) from None
    finally:
        rows.close()


def _map_header(header: list[str]) -> dict[str, int]:
    mapping = {}
    for i, title in enumerate(header):
        title = (title or "").strip().lstrip("\ufeff")
        for name, aliases in COLUMNS.items():
            if title in aliases or title.lower() == name:
                mapping[name] = i
    missing = [n for n in REQUIRED if n not in mapping]
    if missing:
        raise UnreadableFile(_("The header row lacks these columns: %(columns)s", columns=", ".join(missing)))
    return mapping
