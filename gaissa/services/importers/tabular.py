"""Reading CSV and XLSX files into a header and rows, and the generic tabular format.

CSV: UTF-8 with or without a BOM (UTF-16 with a BOM and Windows-1252 are also read), with the
delimiter sniffed from the header line among comma, semicolon, TAB and vertical bar.

XLSX: the first sheet, read with openpyxl. The first non-empty row is the header, and every
column keeps its real index, so a column beyond Z gets its own header.

In the generic tabular format every data row is one run, and the tool's mappings pick and
convert the columns.
"""

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from gaissa.services.importers.base import FileImportError, ParsedFile, RowError, SourceRun

# Larger files are rejected rather than read half-way; no measurement tool writes this many runs.
MAX_DATA_ROWS = 100_000
DELIMITERS = (",", ";", "\t", "|")

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


@dataclass
class TableRow:
    line: int
    fields: list[str]


@dataclass
class Table:
    """A header and its data rows, all cells as text; blank lines are left out."""

    header: list[str]
    header_line: int
    rows: list[TableRow]
    kind: str
    duplicate_columns: set[str] = field(default_factory=set)


def read_table(data: bytes, file_name: str, quotechar: str = '"') -> Table:
    """Read a CSV or XLSX file into a Table, raising FileImportError when it is neither."""
    if data.startswith(_OLE_MAGIC):
        raise FileImportError(
            f"{file_name} is an Excel 97–2003 (.xls) workbook, which cannot be read; save it as XLSX or CSV."
        )
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data, file_name)
    return read_csv_text(decode_text(data, file_name), quotechar=quotechar)


def decode_text(data: bytes, file_name: str) -> str:
    """Decode a text file: UTF-8 (BOM stripped), UTF-16 with a BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise FileImportError(f"{file_name} is a binary file, not CSV text; upload a CSV or XLSX file.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise FileImportError(f"{file_name} is not UTF-8 text; save it as CSV UTF-8 and upload it again.") from None


def sniff_delimiter(header_line: str) -> str:
    """Pick the delimiter that splits the header line into the most fields; comma on a tie."""
    best, best_count = ",", 1
    for delimiter in DELIMITERS:
        fields = next(csv.reader([header_line], delimiter=delimiter), [])
        if len(fields) > best_count:
            best, best_count = delimiter, len(fields)
    return best


def read_csv_text(text: str, quotechar: str = '"', delimiter: str | None = None) -> Table:
    """Split CSV text into a header and rows, keeping each row's physical line number."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    if delimiter is None:
        delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar)

    header: list[str] | None = None
    header_line = 0
    rows: list[TableRow] = []
    previous_end = 0
    try:
        for fields in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in fields):
                continue
            if header is None:
                header, header_line = fields, start
                continue
            rows.append(TableRow(start, fields))
            if len(rows) > MAX_DATA_ROWS:
                raise FileImportError(f"the file has more than {MAX_DATA_ROWS:,} data rows; split it into smaller files.")
    except csv.Error as exc:
        raise FileImportError(f"line {reader.line_num}: the CSV cannot be read ({exc}).") from None

    if header is None:
        raise FileImportError("file is empty")
    names, duplicates = _header_names(header, lambda index: f"column {index + 1}")
    return Table(names, header_line, rows, "csv", duplicates)


def _read_xlsx(data: bytes, file_name: str) -> Table:
    if _is_ods(data):
        raise FileImportError(f"{file_name} is an OpenDocument spreadsheet (.ods); save it as XLSX or CSV.")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileImportError(f"{file_name} is not a readable XLSX workbook ({exc}); save it again as XLSX or CSV.") from None

    try:
        if not workbook.worksheets:
            raise FileImportError("file is empty")
        sheet = workbook.worksheets[0]
        header: list[str] | None = None
        header_line = 0
        rows: list[TableRow] = []
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            fields = [cell_text(value) for value in values]
            while fields and not fields[-1].strip():
                fields.pop()
            if not fields:
                continue
            if header is None:
                header, header_line = fields, number
                continue
            rows.append(TableRow(number, fields))
            if len(rows) > MAX_DATA_ROWS:
                raise FileImportError(f"the first sheet has more than {MAX_DATA_ROWS:,} data rows; split it into smaller files.")
    finally:
        workbook.close()

    if header is None:
        raise FileImportError("file is empty")
    # Trailing empty cells were trimmed, so an XLSX row may be shorter than its header.
    for row in rows:
        row.fields.extend([""] * (len(header) - len(row.fields)))
    names, duplicates = _header_names(header, lambda index: f"column {get_column_letter(index + 1)}")
    return Table(names, header_line, rows, "xlsx", duplicates)


def _is_ods(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read("mimetype").strip() == _ODS_MIMETYPE
    except (zipfile.BadZipFile, KeyError, OSError):
        return False


def cell_text(value: object) -> str:
    """Write an XLSX cell as the text a CSV would hold; floats keep every digit."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def _header_names(header: list[str], placeholder) -> tuple[list[str], set[str]]:
    """Strip header names, name empty header cells by position so no column shifts, list duplicates."""
    names: list[str] = []
    seen: set[str] = set()
    duplicates: set[str] = set()
    for index, raw in enumerate(header):
        name = raw.strip() or placeholder(index)
        if name in seen:
            duplicates.add(name)
        seen.add(name)
        names.append(name)
    return names, duplicates


def field_count_error(row: TableRow, header_size: int) -> RowError | None:
    """Return an error for a row whose field count differs from the header; trailing empty extras are fine."""
    count = len(row.fields)
    if count > header_size and not any(cell.strip() for cell in row.fields[header_size:]):
        del row.fields[header_size:]
        return None
    if count == header_size:
        return None
    if count > header_size:
        hint = "; two rows may be glued together by a missing line break"
    else:
        hint = "; the line looks cut off, as when the tool was stopped while writing it. Remove or complete it"
    return RowError(row.line, f"line {row.line}: {count} fields, header has {header_size}{hint}")


def row_cells(header: list[str], row: TableRow) -> dict[str, str]:
    """Pair each header name with the row's text; the first of duplicate columns wins."""
    cells: dict[str, str] = {}
    for name, value in zip(header, row.fields):
        cells.setdefault(name, value.strip())
    return cells


def parse_tabular(data: bytes, file_name: str) -> ParsedFile:
    """Read a generic CSV or XLSX file in which every data row is one run."""
    table = read_table(data, file_name)
    if not table.rows:
        raise FileImportError("no data rows: the file has a header but no values under it")

    parsed = ParsedFile(columns=list(table.header), duplicate_columns=set(table.duplicate_columns))
    for name in sorted(table.duplicate_columns):
        parsed.notes.append(f"column {name} appears more than once; its first occurrence is used.")
    for row in table.rows:
        error = field_count_error(row, len(table.header))
        if error is not None:
            parsed.errors.append(error)
            continue
        parsed.runs.append(SourceRun(line=row.line, label=f"line {row.line}", cells=row_cells(table.header, row)))
    return parsed
