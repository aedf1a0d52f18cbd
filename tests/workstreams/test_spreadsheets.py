import datetime
import io
import tempfile

import openpyxl
import pytest

from workstreams.spreadsheets import BRAG, DATE, LONG_TEXT, NUMBER, Book, Column

COLUMNS = [Column("Reference"), Column("Due", DATE), Column("Slips", NUMBER), Column("BRAG", BRAG)]


def test_a_table_is_written_row_by_row_with_each_cell_in_its_type():
    with Book() as book:
        rows = [
            ["MP-1.1", datetime.date(2018, 11, 30), 2, "Off track: overdue"],
            ["=1+1", None, 0, ""],
        ]
        book.table("Actions", "Actions: all", COLUMNS, rows)
        content = book.save()
    sheet = openpyxl.load_workbook(io.BytesIO(content))["Actions"]
    assert sheet["A1"].value == "Actions: all" and sheet["A1"].font.sz == 12
    assert [c.value for c in sheet[2]] == ["Reference", "Due", "Slips", "BRAG"]
    reference, due, slips, brag = sheet[3]
    assert due.is_date and due.value == datetime.datetime(2018, 11, 30)
    assert due.number_format == "dd/mm/yyyy"
    assert slips.data_type == "n" and slips.value == 2
    assert brag.value == "Off track: overdue" and brag.fill.fill_type == "solid"
    escaped, blank, zero, no_brag = sheet[4]
    assert escaped.data_type == "s" and escaped.value == "'=1+1"
    assert blank.value is None and no_brag.value is None and zero.value == 0
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == "A2:D4"


def test_a_long_text_wraps_only_where_it_does_not_fit():
    with Book() as book:
        rows = [["short"], ["a line\nand another"]] + [["x" * 70]]
        book.table("Notes", "Notes", [Column("Note", LONG_TEXT)], rows)
        sheet = openpyxl.load_workbook(io.BytesIO(book.save()))["Notes"]
    assert [sheet.cell(row, 1).alignment.wrap_text for row in (3, 4, 5)] == [None, True, True]


def test_a_book_that_fails_half_written_leaves_no_temporary_files(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def rows():
        yield ["MP-1.1", None, 0, ""]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError), Book() as book:
        book.table("Actions", "Actions: all", COLUMNS, rows())
    assert list(tmp_path.iterdir()) == []


def test_a_saved_book_leaves_no_temporary_files_even_with_an_empty_sheet(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with Book() as book:
        book.blocks("Empty", [], [])
        book.table("Actions", "Actions: all", COLUMNS, [["MP-1.1", None, 0, ""]])
        content = book.save()
    assert openpyxl.load_workbook(io.BytesIO(content)).sheetnames == ["Empty", "Actions"]
    assert list(tmp_path.iterdir()) == []
