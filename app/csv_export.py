"""Every CSV the platform hands out is written here: cells a spreadsheet cannot run as formulas.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, WPS and LibreOffice as a formula (``=HYPERLINK(...)`` in a department's name, a reason, a
file's cell echoed in an error report): OWASP's advice on CSV injection is to prefix such a cell
with a single quote, which the spreadsheet shows as text. Only text is prefixed: numbers and dates
(negative numbers too) are written as they are. A line feed at the start is treated the same.

Files start with a UTF-8 byte order mark, so that Excel opens Chinese text as UTF-8.
``tests/unit/test_csv_exports.py`` refuses any other use of ``csv.writer`` in ``app/``.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
CHUNK = 1000  # rows per piece of a streamed file


def cell(value: object) -> object:
    """The value as it is safe in a spreadsheet: a formula-like text gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def stream(header: Sequence[object], rows: Iterable[Sequence[object]], *, chunk: int = CHUNK) -> Iterator[str]:
    """The file as text pieces (the BOM and header first, then ``chunk`` rows at a time), for a
    streamed download that keeps memory flat however many rows ``rows`` yields."""
    out = io.StringIO()
    writer = csv.writer(out)

    def take() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow([cell(v) for v in header])
    yield BOM + take()
    pending = 0
    for row in rows:
        writer.writerow([cell(v) for v in row])
        pending += 1
        if pending >= chunk:
            yield take()
            pending = 0
    if pending:
        yield take()


def text(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """The whole file as one text (the BOM first)."""
    return "".join(stream(header, rows))
