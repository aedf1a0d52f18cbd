"""Workbooks people open in Excel, written the way a council officer expects to find them.

Every sheet Grip writes is a table with a title row above it saying what it is, human headers
in bold, real Excel dates (date cells with a date format, never text), column widths that fit
their content (8 to 60 characters; long text wrapped), and status cells filled in their tag's
colour *and* named in words, as on the pages. A table sheet also freezes its header and puts
an autofilter over it.

Written with XlsxWriter in its constant-memory mode, which streams each row to a temporary
file as soon as the next row starts, so memory stays bounded however many rows a sheet has
(docs/decisions/0011). The mode has one rule that shapes this module: rows are written in
order, top to bottom. Column widths are kept until the sheet is closed, but whether a long
text wraps depends on its column's width, so widths are measured on the first ``SAMPLE_ROWS``
rows (held back, then written); the autofilter is set once the last row is known.

Every text cell is made safe on the way in, as the resources' exports make it (``cell_text``):
text a spreadsheet would run as a formula is escaped (``escape_formula``), and the control
characters XML cannot carry are dropped. Text is always written as text (``write_string``),
never through XlsxWriter's ``write``, which would take "=..." for a formula.
"""

import contextlib
import datetime
import io
import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from xlsxwriter import Workbook

from .models import Rag
from .resources import cell_text
from .templatetags.grip import RAG_CLASSES, TAG_COLOURS

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Column kinds: how a column's cells are written.
TEXT = "text"  # a short text, on one line
LONG_TEXT = "long_text"  # a narrative: wrapped (where it does not fit), top-aligned
DATE = "date"  # a real Excel date
NUMBER = "number"
BRAG = "brag"  # a status in words ("Off track: overdue"), filled in its tag's colour

MIN_WIDTH, MAX_WIDTH = 8, 60  # characters
SAMPLE_ROWS = 500  # a table's widths are measured on its first rows
DATE_FORMAT = "dd/mm/yyyy"  # the council's way of writing a date; Excel filters it as a date
DATE_WIDTH = 11

# Each BRAG state by its words, for a cell that names one: "Off track: overdue" is off track.
RAG_BY_LABEL = {rag.label: rag for rag in Rag}
OVERDUE = ": overdue"


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT


def rag_named(text: str) -> Rag | None:
    """The BRAG state a status cell names, if it names one."""
    return RAG_BY_LABEL.get(text.removesuffix(OVERDUE))


def measure(columns: Sequence[Column], rows: Iterable[Sequence]) -> list[int]:
    """Each column's width in characters: its widest header or value, within the bounds."""
    widths = [max(MIN_WIDTH, min(MAX_WIDTH, len(c.header) + 2)) for c in columns]
    for row in rows:
        for index, value in enumerate(row[: len(columns)]):
            widths[index] = max(widths[index], min(MAX_WIDTH, _width(value) + 2))
    return widths


def _width(value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime.date):
        return DATE_WIDTH
    if isinstance(value, str):
        return max((len(line) for line in value.splitlines()), default=0)
    return len(str(value))


class Book:
    """One workbook and its cell formats, made once and shared by every cell.

    Used as a context manager (``with Book() as book: ... return book.save()``): the
    constant-memory mode keeps each sheet's rows in a temporary file until the book is
    closed, so a book left unsaved by an error is closed on the way out, removing them."""

    def __init__(self):
        self.buffer = io.BytesIO()
        # constant_memory streams each row to a temporary file once the next row starts, so
        # memory stays bounded; it needs in_memory off (in_memory would switch it off).
        self.workbook = Workbook(self.buffer, {"constant_memory": True, "in_memory": False})
        add = self.workbook.add_format
        top = {"valign": "top"}
        wrapped = {"text_wrap": True, "valign": "top"}
        self.formats: dict = {
            "title": add({"bold": True, "font_size": 12}),
            "header": add({"bold": True, **wrapped}),
            DATE: add({"num_format": DATE_FORMAT, **top}),
            LONG_TEXT: add(wrapped),
        }
        for rag in Rag:
            text_colour, background = TAG_COLOURS[RAG_CLASSES[rag]]
            self.formats[rag] = add(
                {"font_color": text_colour, "pattern": 1, "bg_color": background, **top}
            )
        self.sheet_names: set[str] = set()

    # --- Cells -------------------------------------------------------------------------

    def cell(self, sheet, row: int, col: int, value, kind: str = TEXT, width: int = MAX_WIDTH):
        """Write ``value`` as the cell its column's kind asks for; nothing for a blank.

        Text is always written as text (``write_string``), never left to be taken for a
        formula; a long text is wrapped where it does not fit its column's ``width``."""
        if value is None:
            return
        if isinstance(value, str):
            if not value:
                return
            value = cell_text(value)
            style = None
            if kind == LONG_TEXT:
                if len(value) + 2 > width or "\n" in value:
                    style = self.formats[LONG_TEXT]
            elif kind == BRAG:
                rag = rag_named(value)
                if rag is not None:
                    style = self.formats[rag]
            sheet.write_string(row, col, value, style)
        elif isinstance(value, datetime.date):  # a datetime is a date too
            sheet.write_datetime(row, col, value, self.formats[DATE])
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float | Decimal):
            sheet.write_number(row, col, value if isinstance(value, int | float) else float(value))
        else:
            sheet.write_string(row, col, cell_text(str(value)))

    def text(self, sheet, row: int, value: str, style=None) -> None:
        """A line of text (a title, a heading) in column A, in one of the book's formats."""
        value = cell_text(value)
        if value:
            sheet.write_string(row, 0, value, None if style is None else self.formats[style])

    def header_row(self, sheet, row: int, columns: Sequence[Column]) -> None:
        header = self.formats["header"]
        for col, column in enumerate(columns):
            sheet.write_string(row, col, cell_text(column.header), header)

    # --- Sheets ------------------------------------------------------------------------

    def new_sheet(self, name: str):
        """A sheet named as Excel allows (31 characters, none of []:*?/\\), never twice."""
        name = "".join("-" if c in "[]:*?/\\" else c for c in name).strip("'")[:31] or "Sheet"
        base, number = name, 2
        while name.lower() in self.sheet_names:
            suffix = f" ({number})"
            name, number = base[: 31 - len(suffix)] + suffix, number + 1
        self.sheet_names.add(name.lower())
        return self.workbook.add_worksheet(name)

    @staticmethod
    def set_widths(sheet, widths: Sequence[int]) -> None:
        for index, width in enumerate(widths):
            sheet.set_column(index, index, width)

    def table(self, name: str, title: str, columns: Sequence[Column], rows: Iterable[Sequence]):
        """A sheet holding one table: the title in row 1, the headers in row 2 (frozen, with
        an autofilter over the table), then ``rows``, streamed. Returns the sheet."""
        sheet = self.new_sheet(name)
        rows = iter(rows)
        sample = list(itertools.islice(rows, SAMPLE_ROWS))
        widths = measure(columns, sample)
        self.set_widths(sheet, widths)
        sheet.freeze_panes(2, 0)
        self.text(sheet, 0, title, "title")
        self.header_row(sheet, 1, columns)
        kinds = [(column.kind, width) for column, width in zip(columns, widths, strict=True)]
        cell = self.cell
        number = 1
        for number, row in enumerate(itertools.chain(sample, rows), 2):
            for col, (value, (kind, width)) in enumerate(zip(row, kinds, strict=True)):
                cell(sheet, number, col, value, kind, width)
        sheet.autofilter(1, 0, number, len(columns) - 1)
        return sheet

    def blocks(self, name: str, lines: Sequence[str], blocks: Sequence["Block"]):
        """A sheet of a few small tables, one under another (a summary): title lines, then
        each block's heading, headers and rows, a blank row between blocks."""
        sheet = self.new_sheet(name)
        widths: list[int] = []
        for block in blocks:
            for index, width in enumerate(measure(block.columns, block.rows)):
                if index < len(widths):
                    widths[index] = max(widths[index], width)
                else:
                    widths.append(width)
        self.set_widths(sheet, widths)
        row = 0
        for number, line in enumerate(lines):
            self.text(sheet, row, line, "title" if number == 0 else None)
            row += 1
        for block in blocks:
            row += 1  # a blank row
            self.text(sheet, row, block.heading, "title")
            row += 1
            for note in block.notes:
                self.cell(sheet, row, 0, note)
                row += 1
            if block.columns:
                self.header_row(sheet, row, block.columns)
                row += 1
                # The sheet's widths are the widest of every block's: as many as its widest.
                kinds = list(zip((c.kind for c in block.columns), widths, strict=False))
                for values in block.rows:
                    for col, (value, kind) in enumerate(zip(values, kinds, strict=True)):
                        self.cell(sheet, row, col, value, *kind)
                    row += 1
        return sheet

    def save(self) -> bytes:
        self.close()
        return self.buffer.getvalue()

    def close(self) -> None:
        """Write the workbook into the buffer and remove its temporary files (once)."""
        if self.workbook.fileclosed:
            return
        try:
            self.workbook.close()
        finally:
            # XlsxWriter removes a sheet's row file as it copies the rows into the workbook,
            # but never copies (nor removes) the file of a sheet with no cells: one that
            # failed before its first row, say.
            for sheet in self.workbook.worksheets():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(sheet.row_data_filename)

    def __enter__(self) -> "Book":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


@dataclass
class Block:
    """One small table of a summary sheet: a heading, notes under it, headers and rows."""

    heading: str
    columns: Sequence[Column] = ()
    rows: Sequence[Sequence] = ()
    notes: Sequence[str] = ()
