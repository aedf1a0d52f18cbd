"""Workbooks people open in Excel, written the way a council officer expects to find them.

Every sheet Grip writes is a table with a title row above it saying what it is, human headers
in bold, real Excel dates (date cells with a date format, never text), column widths that fit
their content (8 to 60 characters; long text wrapped), and status cells filled in their tag's
colour *and* named in words, as on the pages. A table sheet also freezes its header and puts
an autofilter over it.

Written with openpyxl's write-only mode, which streams each row to a temporary file as it
comes, so memory stays bounded however many rows a sheet has. The mode has one rule that
shapes this module: column widths and frozen panes belong to the top of the sheet's XML, so
they are set before the first row is written. Widths are therefore measured on the first
``SAMPLE_ROWS`` rows (held back, then written); the autofilter is written at the end of the
sheet and set once the last row is known.

Every text cell is made safe on the way in, as the resources' exports make it (``cell_text``):
text a spreadsheet would run as a formula is escaped (``escape_formula``), and the control
characters XML cannot carry are dropped.
"""

import datetime
import io
import itertools
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

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
    """One write-only workbook and its cell styles, made once and shared by every cell."""

    def __init__(self):
        self.workbook = Workbook(write_only=True)
        title_font, bold = Font(bold=True, size=12), Font(bold=True)
        top = Alignment(vertical="top")
        wrapped = Alignment(wrap_text=True, vertical="top")
        # Each style the book's cells take, by name: the attributes a cell in it is given.
        self.style_specs: dict = {
            "title": {"font": title_font},
            "header": {"font": bold, "alignment": wrapped},
            DATE: {"number_format": DATE_FORMAT, "alignment": top},
            LONG_TEXT: {"alignment": wrapped},
        }
        for rag in Rag:
            text_colour, background = TAG_COLOURS[RAG_CLASSES[rag]]
            self.style_specs[rag] = {
                "font": Font(color=text_colour.lstrip("#").upper()),
                "fill": PatternFill(fill_type="solid", fgColor=background.lstrip("#").upper()),
                "alignment": top,
            }
        self.styles: dict = {}
        self.sheet_names: set[str] = set()

    # --- Cells -------------------------------------------------------------------------

    def styled(self, sheet, value, style):
        """A cell holding ``value`` in one of the book's styles (``style_specs``).

        openpyxl keeps a cell's style as an array of ids into the workbook's fonts, fills,
        alignments and number formats (``cell._style``, which its own ``copy_worksheet``
        copies too). Each style is registered once, on a first cell, and its array copied to
        every later cell: giving each cell the style objects would look every one of them up
        in the workbook again, which took a third of a 20,000-row export's time.
        """
        array = self.styles.get(style)
        if array is None:
            first = WriteOnlyCell(sheet)
            for attribute, setting in self.style_specs[style].items():
                setattr(first, attribute, setting)
            array = self.styles[style] = first._style
        cell = WriteOnlyCell(sheet, value)
        cell._style = copy(array)
        return cell

    def cell(self, sheet, value, kind: str = TEXT, width: int = MAX_WIDTH):
        """A value as the cell its column's kind asks for (a plain value where no style is).
        A long text is wrapped where it does not fit its column's ``width``."""
        if isinstance(value, str):
            if not value:
                return None
            value = cell_text(value)
            if kind == LONG_TEXT:
                if len(value) + 2 <= width and "\n" not in value:
                    return value
                return self.styled(sheet, value, LONG_TEXT)
            if kind == BRAG:
                rag = rag_named(value)
                return value if rag is None else self.styled(sheet, value, rag)
            return value
        if kind == DATE and isinstance(value, datetime.date):
            return self.styled(sheet, value, DATE)
        return value

    def text(self, sheet, value: str, style=None):
        """A line of text (a title, a heading), in one of the book's styles if given."""
        value = cell_text(value)
        return value if style is None else self.styled(sheet, value, style)

    def header_row(self, sheet, columns: Sequence[Column]) -> list:
        return [self.styled(sheet, cell_text(column.header), "header") for column in columns]

    # --- Sheets ------------------------------------------------------------------------

    def new_sheet(self, name: str):
        """A sheet named as Excel allows (31 characters, none of []:*?/\\), never twice."""
        name = "".join("-" if c in "[]:*?/\\" else c for c in name).strip("'")[:31] or "Sheet"
        base, number = name, 2
        while name.lower() in self.sheet_names:
            suffix = f" ({number})"
            name, number = base[: 31 - len(suffix)] + suffix, number + 1
        self.sheet_names.add(name.lower())
        return self.workbook.create_sheet(name)

    @staticmethod
    def set_widths(sheet, widths: Sequence[int]) -> None:
        for index, width in enumerate(widths, 1):
            sheet.column_dimensions[get_column_letter(index)].width = width

    def table(self, name: str, title: str, columns: Sequence[Column], rows: Iterable[Sequence]):
        """A sheet holding one table: the title in row 1, the headers in row 2 (frozen, with
        an autofilter over the table), then ``rows``, streamed. Returns the sheet."""
        sheet = self.new_sheet(name)
        rows = iter(rows)
        sample = list(itertools.islice(rows, SAMPLE_ROWS))
        widths = measure(columns, sample)
        self.set_widths(sheet, widths)
        sheet.freeze_panes = "A3"
        sheet.append([self.text(sheet, title, "title")])
        sheet.append(self.header_row(sheet, columns))
        kinds = [(column.kind, width) for column, width in zip(columns, widths, strict=True)]
        cell = self.cell
        last = 2
        for row in itertools.chain(sample, rows):
            sheet.append([cell(sheet, v, *k) for v, k in zip(row, kinds, strict=True)])
            last += 1
        sheet.auto_filter.ref = f"A2:{get_column_letter(len(columns))}{last}"
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
        for number, line in enumerate(lines):
            sheet.append([self.text(sheet, line, "title" if number == 0 else None)])
        for block in blocks:
            sheet.append([])
            sheet.append([self.text(sheet, block.heading, "title")])
            for note in block.notes:
                sheet.append([self.cell(sheet, note)])
            if block.columns:
                sheet.append(self.header_row(sheet, block.columns))
                # The sheet's widths are the widest of every block's: as many as its widest.
                kinds = list(zip((c.kind for c in block.columns), widths, strict=False))
                for row in block.rows:
                    sheet.append([self.cell(sheet, v, *k) for v, k in zip(row, kinds, strict=True)])
        return sheet

    def save(self) -> bytes:
        buffer = io.BytesIO()
        self.workbook.save(buffer)
        return buffer.getvalue()


@dataclass
class Block:
    """One small table of a summary sheet: a heading, notes under it, headers and rows."""

    heading: str
    columns: Sequence[Column] = ()
    rows: Sequence[Sequence] = ()
    notes: Sequence[str] = ()
