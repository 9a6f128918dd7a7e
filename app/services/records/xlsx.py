"""The first sheet of an XLSX workbook, read as a stream within a budget of inflated bytes.

An XLSX file is a zip of XML parts, and a 300 KB zip can inflate to gigabytes. Two guards:
``inspect_zip`` refuses a file from its directory alone, before anything is inflated (the parts'
declared sizes, their compression ratio, their number); ``read_sheet`` then counts every byte
it really inflates against a ``Budget``, whatever the directory says.

Why not openpyxl's reader, even ``read_only``: it builds all of a row's cells before it yields
the row (one row of a million empty cells is a million dicts), keeps every shared string as a
Python object, and pads each row to the sheet's declared dimension (``A1:XFD1048576`` makes
every row 16,384 cells). Here the XML goes to expat chunk by chunk with a target that keeps no
tree: a cell's text is kept up to a cap, cells beyond the column limit are noted and dropped,
the shared strings are packed into one buffer, a DTD (entity expansion) is refused. openpyxl
still gives what it knows best: which number formats are dates, and the Excel date serials.

No Flask here: the caller turns the exceptions into the user's messages.
"""
from __future__ import annotations

import posixpath
import struct
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from datetime import datetime
from xml.etree.ElementTree import ParseError, XMLParser

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

CHUNK = 64 * 1024  # inflated bytes fed to the parser at a time
MAX_PARTS = 1000  # a workbook has a dozen parts; the zip directory itself costs memory per entry
RATIO_FLOOR = 1024 * 1024  # parts smaller than this are not judged by their compression ratio
# Built-in number formats that are dates in East Asian locales (ECMA-376 18.8.30): Excel in
# Chinese writes them without a format code, so openpyxl's table does not know them.
EAST_ASIAN_DATE_FORMATS = frozenset(range(27, 37)) | frozenset(range(50, 59))
_OFFICE_DOCUMENT = "/officeDocument"


class BrokenWorkbook(Exception):
    """Not a readable workbook: not a zip, a part missing, XML that does not parse."""


class TooLarge(Exception):
    """More inflated bytes than allowed, declared or really inflated."""


class TooCompressed(Exception):
    """A part declares a compression ratio no sheet has: a zip bomb."""


class Budget:
    """The inflated bytes one reading may still spend."""

    def __init__(self, limit: int) -> None:
        self.limit, self.left = limit, limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise TooLarge(self.limit)


def inspect_zip(path, max_inflated: int, max_ratio: float) -> int:
    """The declared inflated size of all parts; raises before anything is inflated when the
    zip has too many parts, declares more than ``max_inflated`` or a part over 1 MB inflating
    more than ``max_ratio`` times."""
    if _entry_count(path) > MAX_PARTS:
        raise BrokenWorkbook("too many parts")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise BrokenWorkbook(str(error)) from None
    total = sum(info.file_size for info in infos)
    if total > max_inflated:
        raise TooLarge(max_inflated)
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
            raise TooCompressed(info.filename)
    return total


def _entry_count(path) -> int:
    """The number of entries the end-of-directory record declares, read before ``ZipFile``
    builds an object per entry (a 20 MB upload can hold 200,000 empty ones)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65_557))  # the record (22 bytes) and its comment (at most 65,535)
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise BrokenWorkbook("no zip directory")
    return struct.unpack_from("<H", tail, at + 10)[0]  # 0xFFFF (ZIP64) counts as too many


def read_sheet(path, budget: Budget, max_columns: int, max_cell_chars: int) -> Iterator[tuple[int, dict[int, str], bool]]:
    """(row number, {column (1-based): text}, wider than ``max_columns``) for each row of the
    first sheet that has a value. A cell's text is cut after ``max_cell_chars`` + 1 characters
    (the caller sees it is too long). Raises BrokenWorkbook, TooLarge."""
    try:
        with zipfile.ZipFile(path) as archive:
            reader = _Reader(archive, budget, max_cell_chars)
            yield from reader.rows(max_columns)
    except (zipfile.BadZipFile, zlib.error, ParseError, KeyError, EOFError, OSError, RuntimeError,
            NotImplementedError, ValueError) as error:  # bad CRC, bad deflate, bad XML, a part missing, encrypted
        raise BrokenWorkbook(f"{type(error).__name__}: {error}") from None


class _Reader:
    def __init__(self, archive: zipfile.ZipFile, budget: Budget, max_cell_chars: int) -> None:
        self.archive, self.budget, self.cap = archive, budget, max_cell_chars + 1

    def rows(self, max_columns: int):
        book = self._office_document()
        relations = self._relations(book)
        workbook = _Workbook()
        self._feed(book, workbook)
        if workbook.sheet_id not in relations:
            raise BrokenWorkbook("no sheet")
        strings, styles = _SharedStrings(self.cap), _Styles()
        for target, kind in relations.values():
            if kind.endswith("/sharedStrings"):
                self._feed(target, strings)
            elif kind.endswith("/styles"):
                self._feed(target, styles)
        sheet = _Sheet(strings, styles.date_styles(), max_columns, self.cap,
                       CALENDAR_MAC_1904 if workbook.date1904 else CALENDAR_WINDOWS_1900)
        parser = XMLParser(target=sheet)
        for chunk in self._chunks(relations[workbook.sheet_id][0]):
            parser.feed(chunk)
            yield from sheet.take()
        parser.close()
        yield from sheet.take()

    def _office_document(self) -> str:
        """The workbook part, as the package's relationships name it (``xl/workbook.xml``)."""
        try:
            self.archive.getinfo("_rels/.rels")
        except KeyError:
            return "xl/workbook.xml"
        found = _Relations("")
        self._feed("_rels/.rels", found)
        return next((target for target, kind in found.targets.values() if kind.endswith(_OFFICE_DOCUMENT)),
                    "xl/workbook.xml")

    def _relations(self, part: str) -> dict[str, tuple[str, str]]:
        folder, name = posixpath.split(part)
        found = _Relations(folder)
        self._feed(posixpath.join(folder, "_rels", name + ".rels"), found)
        return found.targets

    def _feed(self, part: str, target) -> None:
        parser = XMLParser(target=target)
        for chunk in self._chunks(part):
            parser.feed(chunk)
        parser.close()

    def _chunks(self, part: str) -> Iterator[bytes]:
        """The part's inflated bytes, each counted against the budget as it comes."""
        with self.archive.open(part) as stream:
            while data := stream.read(CHUNK):
                self.budget.spend(len(data))
                yield data


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag: str) -> str:
    """The tag without its namespace (``{...main}row`` -> ``row``); a parser meets few tags, so
    they are remembered (millions of cells, a dozen names)."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rpartition("}")[2]
        if len(_LOCAL_NAMES) < 1000:
            _LOCAL_NAMES[tag] = name
    return name


def _attribute(attrib: dict, name: str) -> str | None:
    """An attribute by its local name, whatever its namespace (``r:id``)."""
    for key, value in attrib.items():
        if _local(key) == name:
            return value
    return None


class _Target:
    """An expat target that keeps no tree, and refuses a document type declaration: no
    spreadsheet part has one, and its entities are how XML is made to expand."""

    def doctype(self, name, pubid, system):
        raise BrokenWorkbook("a document type declaration")

    def start(self, tag, attrib):
        pass

    def end(self, tag):
        pass

    def data(self, text):
        pass

    def close(self):
        return None


class _Relations(_Target):
    def __init__(self, folder: str) -> None:
        self.folder, self.targets = folder, {}

    def start(self, tag, attrib):
        if _local(tag) == "Relationship" and attrib.get("Id") and attrib.get("Target"):
            target = attrib["Target"]
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(self.folder, target)
            self.targets[attrib["Id"]] = (posixpath.normpath(path), attrib.get("Type", ""))


class _Workbook(_Target):
    sheet_id: str | None = None
    date1904 = False

    def start(self, tag, attrib):
        name = _local(tag)
        if name == "sheet" and self.sheet_id is None:
            self.sheet_id = _attribute(attrib, "id")
        elif name == "workbookPr":
            self.date1904 = attrib.get("date1904", "").lower() in ("1", "true")


class _Styles(_Target):
    """Which cell styles (``s`` of a cell: an index into ``cellXfs``) show a date."""

    def __init__(self) -> None:
        self.codes: dict[int, str] = {}
        self.formats = array("l")
        self.in_cell_formats = False

    def start(self, tag, attrib):
        name = _local(tag)
        if name == "numFmt":
            self.codes[_int(attrib.get("numFmtId"))] = attrib.get("formatCode", "")[:200]
        elif name == "cellXfs":
            self.in_cell_formats = True
        elif name == "xf" and self.in_cell_formats:
            self.formats.append(_int(attrib.get("numFmtId")))

    def end(self, tag):
        if _local(tag) == "cellXfs":
            self.in_cell_formats = False

    def date_styles(self) -> bytearray:
        dates = {}
        for number in set(self.formats):
            code = self.codes.get(number, BUILTIN_FORMATS.get(number))
            dates[number] = number in EAST_ASIAN_DATE_FORMATS or bool(code and is_date_format(code))
        return bytearray(dates[number] for number in self.formats)


class _Text(_Target):
    """Collects the text of the elements it is told to, up to ``cap`` characters, skipping the
    phonetic runs (``rPh``) Excel adds to East Asian text."""

    def __init__(self, cap: int) -> None:
        self.cap, self.parts, self.length, self.capturing, self.phonetic = cap, [], 0, False, 0

    def data(self, text):
        if self.capturing and not self.phonetic and self.length < self.cap:
            piece = text[:self.cap - self.length]
            self.parts.append(piece)
            self.length += len(piece)

    def taken(self) -> str:
        text = "".join(self.parts)
        self.parts, self.length = [], 0
        return text


class _SharedStrings(_Text):
    """The shared string table, packed: one UTF-8 buffer and the end offset of each string."""

    def __init__(self, cap: int) -> None:
        super().__init__(cap)
        self.buffer, self.ends = bytearray(), array("I")  # 4 bytes a string: the budget is far below 4 GB

    def start(self, tag, attrib):
        name = _local(tag)
        if name == "t":
            self.capturing = True
        elif name == "rPh":
            self.phonetic += 1

    def end(self, tag):
        name = _local(tag)
        if name == "t":
            self.capturing = False
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "si":
            self.buffer += self.taken().encode("utf-8")
            self.ends.append(len(self.buffer))

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self.ends):
            raise BrokenWorkbook("a shared string that does not exist")
        return self.buffer[self.ends[index - 1] if index else 0:self.ends[index]].decode("utf-8")


class _Sheet(_Text):
    def __init__(self, strings: _SharedStrings, date_styles: bytearray, max_columns: int, cap: int, epoch) -> None:
        super().__init__(cap)
        self.strings, self.date_styles, self.max_columns, self.epoch = strings, date_styles, max_columns, epoch
        self.done: list[tuple[int, dict[int, str], bool]] = []
        self.number, self.cells, self.wide, self.column = 0, {}, False, 0
        self.kind, self.style = "n", 0

    def take(self):
        done, self.done = self.done, []
        return done

    def start(self, tag, attrib):
        name = _local(tag)
        if name == "c":
            reference = attrib.get("r")
            self.column = _column(reference) if reference else self.column + 1
            self.kind, self.style = attrib.get("t", "n"), _int(attrib.get("s"))
            self.parts, self.length = [], 0
        elif name == "v" or (name == "t" and self.kind == "inlineStr"):
            self.capturing = True
        elif name == "row":
            self.number = _int(attrib.get("r")) or self.number + 1
            self.cells, self.wide, self.column = {}, False, 0
        elif name == "rPh":
            self.phonetic += 1

    def end(self, tag):
        name = _local(tag)
        if name == "v" or name == "t":
            self.capturing = False
        elif name == "c":
            if self.column > self.max_columns:
                self.wide = self.wide or bool(self.parts)  # a value out of bounds: the row is reported
            else:
                value = self._value(self.taken())
                if value:
                    self.cells[self.column] = value
        elif name == "row":
            if self.cells or self.wide:
                self.done.append((self.number, self.cells, self.wide))
        elif name == "rPh":
            self.phonetic -= 1

    def _value(self, text: str) -> str:
        kind = self.kind
        if kind == "s":
            return self.strings[_int(text, -1)] if text.strip() else ""
        if kind in ("inlineStr", "str", "e", "d"):
            return text
        if kind == "b":
            return "TRUE" if text.strip() == "1" else "FALSE"
        text = text.strip()
        if not text:
            return ""
        try:
            try:
                number = int(text)
            except ValueError:
                number = float(text)
            if self.style < len(self.date_styles) and self.date_styles[self.style]:
                moment = from_excel(number, self.epoch)  # a datetime, or a time of day
                return moment.date().isoformat() if isinstance(moment, datetime) else moment.isoformat()
        except (ValueError, OverflowError, AttributeError):
            return text
        return str(number)


def _int(text: str | None, default: int = 0) -> int:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else default


def _column(reference: str | None) -> int:
    """The 1-based column of a cell reference (``AB12`` -> 28); 0 when there is none."""
    column = 0
    for ch in reference or "":
        if "A" <= ch <= "Z":
            column = column * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            column = column * 26 + ord(ch) - 96
        else:
            break
        if column > 1_000_000:
            break
    return column
