"""Reading a plan spreadsheet (``/imports/actions/``): a tracker exported from Grip, or a
council's own, as an .xlsx workbook or a CSV file. Nothing here writes.

Three steps, each a plain function:

1. ``read_upload``: the file, opened safely, as a header row and data rows of text. A file
   that is not a spreadsheet, a corrupt or password-protected workbook, a zip bomb, or one
   over the size and row limits (``GRIP_IMPORT_MAX_BYTES``, ``GRIP_IMPORT_MAX_ROWS``) is
   refused with a message for the person (``ImportRefused``) before anything is unpacked:
   a workbook's zip directory is inspected first (declared sizes, compression ratios,
   members), and only then is it read, row by row (openpyxl's read-only mode), so memory
   stays bounded whatever the file.
2. ``guess_fields``: which of Grip's fields each column holds, by its heading, with case,
   spacing and punctuation forgiven; a mapping the officer saved for the same headings
   (``ImportMapping``) wins.
3. ``preview``: row by row, what confirming would create, change (each field, old and new)
   or leave alone, and every error with its row and column, read against the plan as it is
   now. It also holds, for each row, what to apply: ids and values, never objects, so the
   preview can be stored between the two steps (``ActionImport``) and the confirmation
   trusts nothing the browser sends but the import's token.

The rules of a row, as the preview applies them:
- An action is found by its reference in the plan. A new action needs a workstream (or a
  reference starting with a workstream's code), a title and a due date.
- A blank cell leaves the field as it is in Grip: a tracker's blank means "nothing new", not
  "erase it".
- What the plan says (title, description, lead officer, priority) changes through
  ``action_plan_change``; status, progress, next steps, evidence and the due date through a
  monthly update (``action_update_record``), so the due-date rules apply: a new due date from
  the programme office is a request for the task group chair, a chair's is their own move.
  A request already waiting for the same date is not asked again.
- A progress narrative already on record for the action (now or in its history) is not new
  words: re-importing a file after it changed things leaves every row alone.
- The file's version column (``Grip version (do not edit)``), where there is one, guards
  against overwriting what changed in Grip since the export: a row that would change an
  action whose version moved on is an error (``ActionResource.refusals``, the admin
  import's check). A row that would change nothing is left alone, whatever its version.
  Without the column, the preview notes each action's version and the confirmation is
  refused if any action changed in between.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import io
import json
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from openpyxl.utils import get_column_letter

from .audit import display_name
from .models import (
    UNSAFE_IN_REFERENCE,
    UNSAFE_REFERENCE_MESSAGE,
    Action,
    ActionStatus,
    DueDateChange,
    ImportMapping,
    Plan,
)
from .resources import ActionResource, unescape_formula
from .selectors import EqualsAnyOf
from .services import (
    ACTION_PLAN_FIELDS,
    ImportedAction,
    ImportRowRefused,
    validate_new_due_date,
)

# --- Refusing a file ------------------------------------------------------------------------


class ImportRefused(Exception):
    """The file cannot be read; ``str(error)`` says why and what to do, for the person."""


NOT_A_SPREADSHEET = (
    "The file is not a spreadsheet Grip can read. Upload an Excel workbook (.xlsx) or a CSV "
    "file (.csv)."
)
NOT_A_WORKBOOK = (
    "The file is named as an Excel workbook but is not one: it may be damaged, or another kind "
    "of file renamed. Open it in Excel, save it as an Excel workbook (.xlsx) and upload it again."
)
CORRUPT = (
    "The workbook is damaged and cannot be read. Open it in Excel, save it again as an Excel "
    "workbook (.xlsx) and upload the new file."
)
PROTECTED = (
    "The workbook is protected with a password, or saved in the old Excel 97-2003 format "
    "(.xls). Remove the password (File, Info, Protect workbook) or save it as an Excel "
    "workbook (.xlsx), and upload it again."
)
NOT_TEXT = (
    "The CSV file is not text Grip can read. Save it from Excel as 'CSV UTF-8 (comma "
    "delimited)' and upload it again."
)

# A workbook's zip, judged from its directory before anything is unpacked. An .xlsx of
# 20,000 actions unpacks to a few tens of MB, its XML compressing some 10 to 20 times; a zip
# bomb declares hundreds of MB, compressed a thousand times. Python's zipfile never unpacks
# more than a member's declared size (and then checks its CRC), so the declared sizes bound
# what openpyxl can be made to read.
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # a compound file: encrypted .xlsx, or .xls
MAX_MEMBERS = 1000
MAX_RATIO = 100  # per member larger than RATIO_FLOOR bytes unpacked
RATIO_FLOOR = 1024 * 1024
UNPACKED_PER_PACKED = 20  # the whole workbook unpacks to at most this many times the limit
REQUIRED_MEMBERS = ("[Content_Types].xml", "xl/workbook.xml")

# Reading: the header row is looked for among the first rows; columns past MAX_COLUMNS are
# not read; a run of BLANK_RUN blank rows after the data ends it (formatting to the bottom
# of a sheet makes thousands of empty rows).
HEADER_SEARCH_ROWS = 30
MAX_COLUMNS = 60
BLANK_RUN = 1000


def max_bytes() -> int:
    from django.conf import settings

    return settings.GRIP_IMPORT_MAX_BYTES


def max_rows() -> int:
    from django.conf import settings

    return settings.GRIP_IMPORT_MAX_ROWS


def size_words(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def too_big(limit: int) -> str:
    return (
        f"The file is larger than {size_words(limit)}, the most Grip reads in one import. "
        "Remove columns or sheets it does not need, or split the rows into two files."
    )


def too_many_rows(limit: int) -> str:
    return (
        f"The sheet has more than {limit:,} rows of actions, the most Grip reads in one "
        "import. Split the rows into smaller files and import each."
    )


# --- Reading the file -----------------------------------------------------------------------


@dataclass
class Sheet:
    """A sheet as read: its name, the header row's number and headings, and its data rows as
    (row number in the sheet, cells as text), blank rows left out."""

    name: str
    header_row: int
    headings: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def cell_text(value) -> str:
    """A cell as text: dates as ISO dates, whole numbers without ".0", what an export escaped
    as a formula read back (``unescape_formula``), line ends as "\\n", spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        value = unescape_formula(value).replace("\r\n", "\n").replace("\r", "\n")
        return value.strip()
    return str(value).strip()


def read_upload(file, name: str, *, is_header, limit_bytes=None, limit_rows=None) -> Sheet:
    """The sheet of actions in an uploaded file (an open binary file, seekable), or
    ``ImportRefused``. ``is_header(cells)`` says whether a row is the header row."""
    limit_bytes = max_bytes() if limit_bytes is None else limit_bytes
    limit_rows = max_rows() if limit_rows is None else limit_rows
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    if size == 0:
        raise ImportRefused("The file is empty.")
    if size > limit_bytes:
        raise ImportRefused(too_big(limit_bytes))
    start = file.read(8)
    file.seek(0)
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if start.startswith(ZIP_MAGIC):
        check_workbook_zip(file, limit_bytes)
        return read_workbook(file, is_header=is_header, limit_rows=limit_rows)
    if start == OLE_MAGIC:
        raise ImportRefused(PROTECTED)
    if suffix in ("xlsx", "xlsm", "xls"):
        raise ImportRefused(NOT_A_WORKBOOK)
    if suffix in ("csv", "txt"):
        return read_csv(file.read(), is_header=is_header, limit_rows=limit_rows)
    raise ImportRefused(NOT_A_SPREADSHEET)


def check_workbook_zip(file, limit_bytes: int) -> None:
    """Refuse a workbook from its zip directory alone (nothing unpacked): damaged, not a
    workbook, encrypted, or a zip bomb."""
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise ImportRefused(CORRUPT) from None
    finally:
        file.seek(0)
    if len(members) > MAX_MEMBERS:
        raise ImportRefused(CORRUPT)
    names = {member.filename for member in members}
    if not all(required in names for required in REQUIRED_MEMBERS):
        raise ImportRefused(NOT_A_WORKBOOK)
    if any(member.flag_bits & 0x1 for member in members):
        raise ImportRefused(PROTECTED)
    unpacked = sum(member.file_size for member in members)
    bomb = unpacked > limit_bytes * UNPACKED_PER_PACKED or any(
        member.file_size > RATIO_FLOOR
        and member.file_size > MAX_RATIO * max(member.compress_size, 1)
        for member in members
    )
    if bomb:
        raise ImportRefused(
            "The workbook unpacks to far more than its size: it is damaged or built to "
            "overload a server (a 'zip bomb'), and was not opened. Save the sheet again from "
            "Excel as a new workbook (.xlsx) and upload that."
        )


def read_workbook(file, *, is_header, limit_rows: int) -> Sheet:
    """The first sheet of the workbook with a header row, read row by row."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(file, read_only=True, data_only=True, keep_links=False)
    except Exception:  # any damage shows as some parser's exception: all mean "corrupt"
        raise ImportRefused(CORRUPT) from None
    try:
        for worksheet in workbook.worksheets:
            if getattr(worksheet, "sheet_state", "visible") != "visible":
                continue
            try:
                # The size a sheet declares may be wrong (some tools write "A1"): read what
                # is there, as far as the limits let it go.
                worksheet.reset_dimensions()
                rows = worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
                sheet = read_rows(
                    ([cell_text(value) for value in row] for row in rows),
                    name=worksheet.title,
                    is_header=is_header,
                    limit_rows=limit_rows,
                )
            except ImportRefused:
                raise
            except Exception:
                raise ImportRefused(CORRUPT) from None
            if sheet is not None:
                return sheet
    finally:
        workbook.close()
    raise ImportRefused(no_header_message())


def decode_text(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without its byte-order mark), else Windows-1252 (what
    Excel writes as plain "CSV" in the UK)."""
    if b"\x00" in data:
        raise ImportRefused(NOT_A_SPREADSHEET)
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportRefused(NOT_TEXT) from None


def read_csv(data: bytes, *, is_header, limit_rows: int) -> Sheet:
    text = decode_text(data)
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        sheet = read_rows(
            ([cell_text(cell) for cell in row[:MAX_COLUMNS]] for row in reader),
            name="",
            is_header=is_header,
            limit_rows=limit_rows,
        )
    except csv.Error:
        raise ImportRefused(NOT_TEXT) from None
    if sheet is None:
        raise ImportRefused(no_header_message())
    return sheet


def read_rows(rows, *, name: str, is_header, limit_rows: int) -> Sheet | None:
    """The header row and the data rows after it, from rows of text (numbered from 1); None
    when none of the first rows is a header row."""
    sheet = None
    blank_run = 0
    for number, cells in enumerate(rows, start=1):
        if sheet is None:
            if number > HEADER_SEARCH_ROWS:
                return None
            if is_header(cells[:MAX_COLUMNS]):
                headings = trim(cells[:MAX_COLUMNS])
                sheet = Sheet(name=name, header_row=number, headings=headings)
            continue
        cells = cells[: len(sheet.headings)]
        if not any(cells):
            blank_run += 1
            if blank_run >= BLANK_RUN:
                break
            continue
        blank_run = 0
        if len(sheet.rows) >= limit_rows:
            raise ImportRefused(too_many_rows(limit_rows))
        sheet.rows.append((number, cells + [""] * (len(sheet.headings) - len(cells))))
    return sheet


def trim(cells: list[str]) -> list[str]:
    """Cells without the empty ones at the end."""
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return list(cells[:end])


# --- Columns: which of Grip's fields each holds ---------------------------------------------


@dataclass(frozen=True)
class GripField:
    key: str
    label: str
    headings: tuple[str, ...]
    hint: str = ""


FIELDS = (
    GripField("reference", "Reference", ("Reference", "Ref", "Action ref", "Action reference")),
    GripField(
        "workstream",
        "Workstream",
        ("Workstream", "Work stream"),
        "its code (MP) or its name",
    ),
    GripField("priority", "Priority", ("Priority",), "its number or its title"),
    GripField("title", "Title", ("Title", "Action", "Action title")),
    GripField("description", "Description", ("Description",)),
    GripField(
        "lead_officer",
        "Lead officer",
        ("Lead officer", "Lead"),
        "a username, or a person's full name",
    ),
    GripField("due_date", "Due date", ("Due date", "Target date", "Deadline")),
    GripField(
        "status",
        "Status",
        ("Status",),
        "a status (On track) or a RAG colour (Red, Amber, Green, Blue)",
    ),
    GripField(
        "progress_narrative",
        "Progress",
        (
            "Update",
            "Progress",
            "Progress at last update",
            "Last update narrative",
            "Progress narrative",
        ),
    ),
    GripField("next_steps", "Next steps", ("Next steps",)),
    GripField("evidence_of_impact", "Evidence of impact", ("Evidence of impact",)),
    GripField("version", "Grip version", ("Grip version (do not edit)", "Version")),
)
FIELD_LABELS = {f.key: f.label for f in FIELDS}
# Columns of Grip's own tracker that an import reads nothing from: worked out by Grip.
READ_ONLY_HEADINGS = ("Original due date", "Slips", "BRAG", "Last update")


def normalise(heading: str) -> str:
    """A heading as compared: lower case, punctuation and runs of spaces as one space."""
    return re.sub(r"[^0-9a-z]+", " ", str(heading).casefold()).strip()


KNOWN_HEADINGS = {normalise(h): f.key for f in FIELDS for h in f.headings}
READ_ONLY = {normalise(h) for h in READ_ONLY_HEADINGS}


def no_header_message() -> str:
    return (
        "Grip could not find the row of column headings: none of the first "
        f"{HEADER_SEARCH_ROWS} rows has two of the headings it knows. Put a heading above each "
        "column, such as " + ", ".join(f.headings[0] for f in FIELDS[:-1]) + "."
    )


def known_count(cells) -> int:
    return len({KNOWN_HEADINGS[n] for n in map(normalise, cells) if n in KNOWN_HEADINGS})


def headings_key(headings) -> str:
    """The digest a saved mapping is found by: the normalised headings, in order."""
    names = [normalise(h) for h in trim(list(headings))]
    return hashlib.sha256(json.dumps(names).encode()).hexdigest()


def header_test(saved_keys=frozenset()):
    """``is_header`` for ``read_upload``: a row with at least two of Grip's headings, or the
    headings of a saved mapping."""

    def is_header(cells) -> bool:
        if not any(cells):
            return False
        return known_count(cells) >= 2 or (bool(saved_keys) and headings_key(cells) in saved_keys)

    return is_header


def guess_fields(headings) -> list[str]:
    """The Grip field each column holds, by its heading ("" to ignore it); a field is read
    from its first column only."""
    taken, fields = set(), []
    for heading in headings:
        key = KNOWN_HEADINGS.get(normalise(heading), "")
        fields.append("" if key in taken else key)
        taken.add(key)
    return fields


def check_fields(headings, fields) -> list[str]:
    """What is wrong with a mapping of columns to fields, as messages (none: it will do)."""
    problems = []
    if "reference" not in fields:
        problems.append("Choose the column that holds each action's reference.")
    counts = Counter(f for f in fields if f)
    for key, count in counts.items():
        if count > 1:
            columns = ", ".join(column_name(headings, i) for i, f in enumerate(fields) if f == key)
            problems.append(f"Only one column can be read as {FIELD_LABELS[key]}: {columns}.")
    return problems


def column_name(headings, index: int) -> str:
    """A column as the person finds it: its heading and letter, e.g. "Target date (D)"."""
    heading = headings[index] if index < len(headings) and headings[index] else "no heading"
    return f"{heading} (column {get_column_letter(index + 1)})"


# --- Reading values -------------------------------------------------------------------------

MONTHS = {
    name: number
    for number in range(1, 13)
    for name in (
        datetime.date(2000, number, 1).strftime("%b").lower(),
        datetime.date(2000, number, 1).strftime("%B").lower(),
    )
}
MONTHS["sept"] = 9
NUMERIC_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
WORDS_DATE = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[ \-]+([a-z]+)\.?,?[ \-]+(\d{4})")


def parse_date(text: str) -> datetime.date:
    """A date as written in a sheet: an Excel date (read as ISO), "2018-11-30", "30/11/2018",
    "30 Nov 2018", "30 November 2018" (day first, as in the UK). ``ValueError`` otherwise."""
    value = text.strip().lower()
    try:
        if match := ISO_DATE.fullmatch(value):
            year, month, day = (int(part) for part in match.groups())
            return datetime.date(year, month, day)
        if match := NUMERIC_DATE.fullmatch(value):
            day, month, year = (int(part) for part in match.groups())
            return datetime.date(year, month, day)
        if (match := WORDS_DATE.fullmatch(value)) and match[2] in MONTHS:
            return datetime.date(int(match[3]), MONTHS[match[2]], int(match[1]))
    except ValueError:
        pass
    raise ValueError(f"'{text}' is not a date. Write it as 30/11/2018 or 30 Nov 2018.")


# RAG colours and BRAG words, as a status: red is off track, amber at risk, green on track,
# blue complete. (Overdue is judged by Grip from the due date, never imported.)
STATUS_WORDS = {
    **{choice.value.replace("_", " "): choice.value for choice in ActionStatus},
    **{choice.label.lower(): choice.value for choice in ActionStatus},
    "red": ActionStatus.OFF_TRACK,
    "r": ActionStatus.OFF_TRACK,
    "amber": ActionStatus.AT_RISK,
    "a": ActionStatus.AT_RISK,
    "green": ActionStatus.ON_TRACK,
    "g": ActionStatus.ON_TRACK,
    "blue": ActionStatus.COMPLETE,
    "b": ActionStatus.COMPLETE,
    "completed": ActionStatus.COMPLETE,
    "delivered awaiting evidence": ActionStatus.COMPLETE,
    "complete impact evidenced": ActionStatus.COMPLETE,
}


def parse_status(text: str) -> str:
    value = STATUS_WORDS.get(normalise(text))
    if value is None:
        allowed = ", ".join(choice.label for choice in ActionStatus)
        raise ValueError(
            f"'{text}' is not a status. Use one of: {allowed}; or Red, Amber, Green, Blue."
        )
    return str(value)


def parse_version(text: str) -> int:
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is None or not number.is_integer() or number < 1:
        raise ValueError(
            f"The version '{text}' is not a whole number: leave the column as Grip wrote it."
        )
    return int(number)


# --- The preview ------------------------------------------------------------------------------

CREATE, CHANGE, SAME, ERROR = "create", "change", "same", "error"
# What a monthly update carries; any of them changed (or a new due date) makes one.
DELIVERY_FIELDS = ("status", "progress_narrative", "evidence_of_impact", "next_steps")


class Lookups:
    """The plan as it is now, read once for the whole file: a fixed number of queries,
    however many rows the file has and whatever they say."""

    def __init__(self, plan: Plan, references):
        self.plan = plan
        self.workstreams = list(plan.workstreams.all())
        self.workstream_by_code = {w.code.casefold(): w for w in self.workstreams}
        self.workstream_by_name = {normalise(w.name): w for w in self.workstreams}
        self.priorities = {p.pk: p for p in plan.priorities.all()}
        self.priority_by_number = {p.number: p for p in self.priorities.values()}
        self.priority_by_title = {normalise(p.title): p for p in self.priorities.values()}
        User = get_user_model()
        people = list(User.objects.filter(is_active=True))
        self.person_by_username = {u.get_username().casefold(): u for u in people}
        self.people_by_name = defaultdict(list)
        for user in people:
            if user.get_full_name().strip():
                self.people_by_name[normalise(user.get_full_name())].append(user)
        self.actions = self._read_actions(plan, references)
        # Former lead officers (perhaps inactive now), to show what a change replaces.
        leads = {a.lead_officer_id for a in self.actions.values()} - {u.pk for u in people}
        self.people = {u.pk: u for u in people}
        self.people.update(User.objects.in_bulk(leads - {None}))

    @staticmethod
    def _read_actions(plan: Plan, references) -> dict[str, Action]:
        """The file's actions by reference (any case), each with its last update's words and
        the due date it waits on a decision for."""
        from .models import ActionUpdate

        wanted = {r.casefold() for r in references if r}
        asked = sorted({r for r in references if r} | {r.upper() for r in references if r})
        last = ActionUpdate.objects.filter(action=OuterRef("pk")).order_by("-created_at", "-pk")
        # At most one request waits per action (a constraint): no order to join for.
        pending = DueDateChange.objects.filter(
            action=OuterRef("pk"), decision=DueDateChange.Decision.PENDING
        ).order_by()
        actions = (
            Action.objects.filter(EqualsAnyOf(F("reference"), asked), plan=plan)
            .select_related("workstream")
            .annotate(
                last_narrative=Subquery(last.values("progress_narrative")[:1]),
                last_next_steps=Subquery(last.values("next_steps")[:1]),
                pending_to=Subquery(pending.values("to_date")[:1]),
            )
            .order_by()
        )
        found = {}
        for action in actions:
            if action.reference.casefold() in wanted:
                action.plan = plan  # the due-date limits read the plan's end
                found[action.reference.casefold()] = action
        return found

    def workstream(self, text: str):
        value = text.strip()
        found = self.workstream_by_code.get(value.casefold()) or self.workstream_by_name.get(
            normalise(value)
        )
        if found is None and ":" in value:  # "MP: Management & Practice"
            found = self.workstream_by_code.get(value.split(":", 1)[0].strip().casefold())
        if found is None:
            codes = ", ".join(w.code for w in self.workstreams)
            raise ValueError(
                f"There is no workstream '{text}' in the plan. Use its code ({codes}) or its name."
            )
        return found

    def workstream_of_reference(self, reference: str):
        code = reference.split("-", 1)[0].strip().casefold() if "-" in reference else ""
        return self.workstream_by_code.get(code)

    def priority(self, text: str):
        value = text.strip()
        match = re.fullmatch(r"(?:priority\s*|p)?(\d+)(?:\.0+)?(?:\s*[:.\-].*)?", value, re.I)
        found = self.priority_by_number.get(int(match[1])) if match else None
        found = found or self.priority_by_title.get(normalise(value))
        if found is None:
            numbers = ", ".join(str(n) for n in sorted(self.priority_by_number))
            raise ValueError(
                f"There is no priority '{text}' in the plan. Use its number ({numbers}) or its "
                "title."
            )
        return found

    def person(self, text: str):
        value = text.strip()
        found = self.person_by_username.get(value.casefold())
        if found is not None:
            return found
        named = self.people_by_name.get(normalise(value), [])
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            usernames = ", ".join(u.get_username() for u in named)
            raise ValueError(
                f"More than one person is called '{text}': use a username ({usernames})."
            )
        raise ValueError(
            f"Nobody called '{text}' can sign in to Grip. Use the username or full name of "
            "someone who can."
        )


def show(value) -> str:
    """A value as the preview shows it."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.date):
        return f"{value:%-d %b %Y}"
    if hasattr(value, "get_username"):
        return display_name(value)
    if hasattr(value, "number") and hasattr(value, "title"):
        return f"{value.number}: {value.title}"
    if isinstance(value, str) and value in ActionStatus.values:
        return ActionStatus(value).label
    return str(value)


def words(text) -> str:
    return (text or "").replace("\r\n", "\n").strip()


@dataclass
class RowResult:
    """One row's preview; ``as_dict`` is what is stored."""

    row: int
    reference: str
    kind: str = SAME
    changes: list = field(default_factory=list)  # [field label, old, new]
    errors: list = field(default_factory=list)  # [column, message]
    apply: dict = field(default_factory=dict)
    version: str = ""  # the version column's text, if the file has one
    delivery: dict = field(default_factory=dict)  # the update's fields that change
    narrative: str = ""  # progress words that differ from the action's now

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "reference": self.reference,
            "kind": self.kind,
            "changes": self.changes,
            "errors": self.errors,
            "apply": self.apply,
        }


def preview(*, plan: Plan, by, headings, fields, rows, today=None) -> dict:
    """What confirming the import would do, row by row (see the module's docstring). Reads
    the plan, writes nothing. ``rows``: [(row number, cells)]; ``fields``: the Grip field
    (or "") of each column, with the reference's among them (``check_fields``)."""
    today = today or timezone.localdate()
    columns = {key: index for index, key in enumerate(fields) if key}

    def cell(cells, key):
        index = columns.get(key)
        return cells[index] if index is not None and index < len(cells) else ""

    references = [cell(cells, "reference") for _, cells in rows]
    lookups = Lookups(plan, references)
    rows_of = defaultdict(list)
    for (number, _), reference in zip(rows, references, strict=True):
        if reference:
            rows_of[reference.casefold()].append(number)
    context = {
        "lookups": lookups,
        "by": by,
        "today": today,
        "may_add": by.has_perm("workstreams.add_action"),
    }

    results = []
    for (number, cells), reference in zip(rows, references, strict=True):
        result = RowResult(row=number, reference=reference, version=cell(cells, "version"))
        results.append(result)

        def error(key, message, result=result):
            index = columns.get(key, columns["reference"])
            result.errors.append([column_name(headings, index), message])

        if not reference:
            error("reference", "The reference is missing.")
            continue
        also = [str(n) for n in rows_of[reference.casefold()] if n != number]
        if also:
            error(
                "reference",
                f"{reference} is on more than one row (also row {', '.join(also)}): keep one.",
            )
        action = lookups.actions.get(reference.casefold())
        values, given = {}, set()
        for key in columns:
            text = cell(cells, key)
            if text and key != "reference":
                given.add(key)
                try:
                    values[key] = read_value(lookups, key, text, action)
                except ValueError as problem:
                    error(key, str(problem))
        if action is None:
            plan_new(result, values, given, error, **context)
        else:
            plan_change(result, action, values, error, **context)

    new_words(results, lookups)
    resource = ActionResource(plan=plan)
    for result in results:
        action = lookups.actions.get(result.reference.casefold())
        if action is not None and not result.errors:
            finish_change(result, action)
            if result.changes:
                refusals(result, action, by, resource, columns, headings)
        if result.errors:
            result.kind, result.apply = ERROR, {}
        elif action is None:
            result.kind = CREATE
        elif result.changes:
            result.kind = CHANGE
        else:
            result.kind, result.apply = SAME, {}
    counts = Counter(result.kind for result in results)
    return {
        "rows": [result.as_dict() for result in results],
        "counts": {kind: counts.get(kind, 0) for kind in (CREATE, CHANGE, SAME, ERROR)},
    }


def read_value(lookups: Lookups, key: str, text: str, action: Action | None = None):
    """A cell's value for ``key``, or ``ValueError`` naming what cannot be read."""
    if key == "workstream":
        return lookups.workstream(text)
    if key == "priority":
        return lookups.priority(text)
    if key == "lead_officer":
        # The action's own lead officer, named as the export names them, even if they can no
        # longer sign in: the row says nothing new.
        current = lookups.people.get(action.lead_officer_id) if action else None
        if current is not None and normalise(text) in (
            normalise(current.get_username()),
            normalise(current.get_full_name()),
        ):
            return current
        return lookups.person(text)
    if key == "due_date":
        return parse_date(text)
    if key == "status":
        return parse_status(text)
    if key == "version":
        return parse_version(text)
    limit = (
        getattr(Action._meta.get_field(key), "max_length", None) if key != "next_steps" else 5000
    )
    if limit and len(text) > limit:
        raise ValueError(f"{FIELD_LABELS[key]} is longer than {limit:,} characters.")
    return text


def plan_new(result: RowResult, values: dict, given: set, error, *, lookups, by, today, may_add):
    """A row whose reference is not in the plan: a new action (``action_create``), then its
    first update if the row gives a status, progress, next steps or evidence."""
    reference = result.reference
    if not may_add:
        error("reference", f"{reference} is not in the plan, and you may not add actions.")
        return
    workstream = values.get("workstream") or lookups.workstream_of_reference(reference)
    if workstream is None and "workstream" not in given:
        error("workstream", f"{reference} is new: say which workstream it belongs to.")
    if "title" not in given:
        error("title", f"{reference} is new: it needs a title.")
    if "due_date" not in given:
        error("due_date", f"{reference} is new: it needs a due date.")
    if workstream is not None and not reference.startswith(f"{workstream.code}-"):
        error(
            "reference",
            f"A new action's reference starts with its workstream's code ({workstream.code}-).",
        )
    if len(reference) > Action._meta.get_field("reference").max_length:
        error("reference", "The reference is longer than 30 characters.")
    if UNSAFE_IN_REFERENCE.search(reference):
        error("reference", UNSAFE_REFERENCE_MESSAGE)
    status = values.get("status", ActionStatus.NOT_STARTED)
    if status == ActionStatus.COMPLETE and not values.get("evidence_of_impact"):
        error("status", "A complete action needs evidence of its impact: fill in the evidence.")
    if result.errors:
        return
    for key in ("workstream", "title", "description", "lead_officer", "priority", "due_date"):
        if values.get(key):
            result.changes.append([FIELD_LABELS[key], "", show(values[key])])
    update = {key: values[key] for key in DELIVERY_FIELDS if values.get(key)}
    if update == {"status": ActionStatus.NOT_STARTED}:
        update = {}
    for key, value in update.items():
        result.changes.append([FIELD_LABELS[key], "", show(value)])
    result.apply = {
        "new": {
            "workstream": workstream.pk,
            "title": values["title"],
            "due_date": values["due_date"].isoformat(),
            "description": values.get("description", ""),
            "lead_officer": values["lead_officer"].pk if "lead_officer" in values else None,
            "priority": values["priority"].pk if "priority" in values else None,
        },
        "update": {
            "status": status,
            "progress_narrative": update.get("progress_narrative"),
            "evidence_of_impact": update.get("evidence_of_impact", ""),
            "next_steps": update.get("next_steps", ""),
            "revised_due_date": None,
        }
        if update
        else None,
        "changed": [FIELD_LABELS[key] for key in update],
    }


def plan_change(
    result: RowResult, action: Action, values: dict, error, *, lookups, by, today, may_add
):
    """A row for an action in the plan: what it changes (``result.changes``), what the plan
    says about it (``apply["plan"]``) and what its delivery (``result.delivery``)."""
    result.reference = action.reference
    workstream = values.get("workstream")
    if workstream is not None and workstream.pk != action.workstream_id:
        error(
            "workstream",
            f"{action.reference} is in {action.workstream.name}: an action does not move to "
            "another workstream.",
        )
    plan = {}
    now = {
        "title": (action.title, action.title),
        "description": (action.description, action.description),
        "lead_officer": (action.lead_officer_id, lookups.people.get(action.lead_officer_id)),
        "priority": (action.priority_id, lookups.priorities.get(action.priority_id)),
    }
    for key in ACTION_PLAN_FIELDS:
        if key not in values:
            continue
        new = values[key]
        stored, shown = now[key]
        if (new.pk if hasattr(new, "pk") else new) != stored:
            plan[key] = new.pk if hasattr(new, "pk") else new
            result.changes.append([FIELD_LABELS[key], show(shown), show(new)])

    delivery = result.delivery
    status = values.get("status", action.status)
    if status != action.status:
        delivery["status"] = status
        result.changes.append(["Status", show(action.status), show(status)])
    evidence = values.get("evidence_of_impact", action.evidence_of_impact)
    if words(evidence) != words(action.evidence_of_impact):
        delivery["evidence_of_impact"] = evidence
        result.changes.append(["Evidence of impact", action.evidence_of_impact, evidence])
    if status == ActionStatus.COMPLETE and not words(evidence):
        error("status", "A complete action needs evidence of its impact: fill in the evidence.")
    next_steps = values.get("next_steps")
    if next_steps and words(next_steps) != words(action.last_next_steps):
        delivery["next_steps"] = next_steps
        result.changes.append(["Next steps", action.last_next_steps or "", next_steps])
    narrative = values.get("progress_narrative")
    if narrative and words(narrative) not in (
        words(action.progress_narrative),
        words(action.last_narrative),
    ):
        result.narrative = narrative  # new words, unless its history has them (new_words)
    due = values.get("due_date")
    if due and due != action.current_due_date and action.pending_to != due:
        chair = by.has_perm("workstreams.decide_due_date", action)
        try:
            validate_new_due_date(action, due, today)
        except ValidationError as problem:
            error("due_date", " ".join(problem.messages) + ".")
        if not chair and action.pending_to is not None:
            error(
                "due_date",
                f"A request to move the due date of {action.reference} (to "
                f"{show(action.pending_to)}) is already waiting for the task group chair: "
                "they decide it before another is made.",
            )
        how = (
            "moved at once: you chair its task group"
            if chair
            else "a request for the task group chair to decide"
        )
        delivery["revised_due_date"] = due.isoformat()
        result.changes.append(["Due date", show(action.current_due_date), f"{show(due)} ({how})"])
    result.apply = {
        "action": action.pk,
        "version": action.version,
        "plan": plan,
        "update": {
            "status": status,
            "progress_narrative": None,
            "evidence_of_impact": evidence,
            "next_steps": next_steps or action.last_next_steps or "",
            "revised_due_date": None,
        },
    }


def new_words(results, lookups: Lookups) -> None:
    """Progress words that differ from an action's now are new only if its history does not
    have them: a file imported, then imported again, says nothing new the second time."""
    wanted = {lookups.actions[r.reference.casefold()].pk: r for r in results if r.narrative}
    said = set()
    if wanted:
        rows = Action.history.filter(EqualsAnyOf(F("id"), list(wanted))).order_by()
        said.update(
            (action_id, words(text))
            for action_id, text in rows.values_list("id", "progress_narrative").distinct()
        )
    for action_id, result in wanted.items():
        if (action_id, words(result.narrative)) not in said:
            action = lookups.actions[result.reference.casefold()]
            result.delivery["progress_narrative"] = result.narrative
            result.changes.append(["Progress", action.progress_narrative, result.narrative])


def finish_change(result: RowResult, action: Action) -> None:
    """An update only if something it carries changed; its words from the file if they are
    new, else (None) the service says the update came from the import."""
    if not result.delivery:
        result.apply["update"] = None
        return
    update = result.apply["update"]
    update["progress_narrative"] = result.delivery.get("progress_narrative")
    update["revised_due_date"] = result.delivery.get("revised_due_date")
    result.apply["changed"] = [
        FIELD_LABELS.get(key, "Due date") for key in result.delivery if key != "revised_due_date"
    ] + (["Due date"] if "revised_due_date" in result.delivery else [])


def refusals(result: RowResult, action: Action, by, resource, columns, headings) -> None:
    """May ``by`` change the action, and is the file's version (where the file has the
    column) still the action's? The admin import's own check (``ActionResource.refusals``)."""
    if "version" not in columns:
        if not by.has_perm("workstreams.change_action", action):
            result.errors.append(
                [
                    column_name(headings, columns["reference"]),
                    f"You may not change {action.reference}.",
                ]
            )
        return
    for key, message in resource.refusals(action, {"version": result.version}, by).items():
        result.errors.append(
            [column_name(headings, columns.get(key, columns["reference"])), message]
        )


# --- The steps, as the pages take them ------------------------------------------------------


class LimitedUpload(FileUploadHandler):
    """Drops an uploaded file as soon as it passes ``GRIP_IMPORT_MAX_BYTES``, as it arrives:
    the rest of the request is read and thrown away, never kept in memory or on disk, and
    ``request.upload_too_big`` says it happened. First in ``FILE_UPLOAD_HANDLERS``: every
    upload is parsed before any view runs (``RejectNulBytesMiddleware`` reads the form), and
    the plan's spreadsheet is the only file Grip takes."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = max_bytes()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            if self.request is not None:
                self.request.upload_too_big = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None


def field_choices() -> list[tuple[str, str]]:
    """Grip's fields, for the choice of what a column holds."""
    return [(f.key, f.label) for f in FIELDS]


def saved_fields(headings, mappings: dict | None = None) -> list[str] | None:
    """The fields a saved mapping reads from a sheet with these headings, if there is one;
    from ``mappings`` (``saved_mappings``) when given, else from the database."""
    key = headings_key(headings)
    if mappings is None:
        mappings = dict(
            ImportMapping.objects.filter(headings_key=key).values_list("headings_key", "fields")
        )
    fields = mappings.get(key)
    if fields is None or len(fields) != len(headings):
        return None
    return list(fields)


def saved_mappings() -> dict[str, list[str]]:
    """Every saved mapping's fields by its headings' digest: one per tracker a council keeps,
    a handful, read once to find the header row and then the columns."""
    return dict(ImportMapping.objects.order_by().values_list("headings_key", "fields"))


def read_and_preview(*, file, name: str, plan: Plan, by) -> dict:
    """The first step: the upload read (``read_upload``, ``ImportRefused`` if it cannot be),
    its columns matched (a saved mapping first, else by heading) and, when the reference's
    column is known, previewed. What ``services.action_import_start`` keeps."""
    mappings = saved_mappings()
    sheet = read_upload(file, name, is_header=header_test(frozenset(mappings)))
    fields = saved_fields(sheet.headings, mappings) or guess_fields(sheet.headings)
    return {
        "file_name": name[-255:],
        "sheet": sheet.name[:255],
        "header_row": sheet.header_row,
        "headings": sheet.headings,
        "fields": fields,
        "rows": sheet.rows,
        "preview": preview_if_readable(
            plan=plan, by=by, headings=sheet.headings, fields=fields, rows=sheet.rows
        ),
    }


def preview_if_readable(*, plan, by, headings, fields, rows) -> dict:
    """The preview, or {} while the columns cannot be read (no reference column, a field
    read from two)."""
    if check_fields(headings, fields):
        return {}
    return preview(plan=plan, by=by, headings=headings, fields=fields, rows=rows)


# Rows of each kind the preview page lists; the counts say how many in all. 500 made a page of
# 1,500 rows for a 10,000-row sheet (300 ms at 20,000 actions): a hundred errors are as many
# as anyone fixes before uploading again.
SHOWN = 100


def preview_summary(preview: dict, rows) -> dict:
    """What the preview page shows of an upload, kept beside its preview
    (``ActionImport.summary``) so the page reads neither the sheet's rows nor the whole
    preview: whether there is a preview, its counts, the first ``SHOWN`` rows with errors, to
    add and to change (without what applies them), the reference of every row left alone,
    and the first row's cells (shown beside each column's choice)."""
    listed = {ERROR: [], CREATE: [], CHANGE: []}
    same = []
    for row in preview.get("rows", []):
        if row["kind"] == SAME:
            same.append(row["reference"])
        elif len(listed[row["kind"]]) < SHOWN:
            listed[row["kind"]].append(
                {
                    "row": row["row"],
                    "reference": row["reference"],
                    "changes": row["changes"],
                    "errors": row.get("errors", []),  # not kept once imported
                }
            )
    return {
        "previewed": bool(preview),
        "counts": preview.get("counts", {}),
        "rows": listed,
        "same": same,
        "samples": list(rows[0][1]) if rows else [],
    }


def unread_columns(headings, fields) -> list[str]:
    """Columns with a heading that nothing is read from (not Grip's own read-only columns):
    an unknown heading, or a field's second column. The officer says what they hold."""
    return [
        column_name(headings, index)
        for index, heading in enumerate(headings)
        if heading and not fields[index] and normalise(heading) not in READ_ONLY
    ]


def rows_to_apply(action_import) -> list[ImportedAction]:
    """The previewed rows that create or change an action, as ``plan_import_apply`` takes
    them: the stored ids read back as the plan's workstreams, priorities, people, actions."""
    planned = [
        row for row in action_import.preview.get("rows", []) if row["kind"] in (CREATE, CHANGE)
    ]
    plan = action_import.plan
    workstreams = plan.workstreams.in_bulk()
    priorities = plan.priorities.in_bulk()
    people_ids, action_ids = set(), set()
    for row in planned:
        apply = row["apply"]
        people_ids.add((apply.get("new") or apply.get("plan") or {}).get("lead_officer"))
        action_ids.add(apply.get("action"))
    people = get_user_model().objects.in_bulk(people_ids - {None})
    actions = Action.objects.filter(plan=plan).in_bulk(action_ids - {None})

    def objects(values: dict) -> dict:
        found = dict(values)
        if found.get("workstream") is not None:
            found["workstream"] = workstreams[found["workstream"]]
        for key, among in (("lead_officer", people), ("priority", priorities)):
            if found.get(key) is not None:
                found[key] = among[found[key]]
        if found.get("due_date"):
            found["due_date"] = datetime.date.fromisoformat(found["due_date"])
        return found

    result = []
    for row in planned:
        apply = row["apply"]
        if row["kind"] == CHANGE and apply["action"] not in actions:
            raise ImportRowRefused(
                row["row"], row["reference"], "The action is no longer in the plan."
            )
        update = dict(apply["update"]) if apply.get("update") else None
        if update and update.get("revised_due_date"):
            update["revised_due_date"] = datetime.date.fromisoformat(update["revised_due_date"])
        result.append(
            ImportedAction(
                row=row["row"],
                reference=row["reference"],
                action=actions.get(apply.get("action")),
                based_on_version=apply.get("version"),
                new=objects(apply["new"]) if row["kind"] == CREATE else {},
                plan=objects(apply.get("plan") or {}),
                update=update,
                changed=tuple(apply.get("changed", ())),
            )
        )
    return result
