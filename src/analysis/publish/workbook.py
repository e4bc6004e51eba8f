"""reports/tables.xlsx: every table of the processed snapshot as one sheet of an Excel workbook
(frozen header row, column widths to fit), for researchers who filter and sort in Excel.

Deterministic: the same tables give the same bytes (fixed document dates and zip entry times)."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path

WORKBOOK = "tables.xlsx"
FIXED_TIME = datetime(2000, 1, 1)  # document properties: a workbook's bytes must not depend on the clock
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_WIDTH, MIN_WIDTH, SAMPLE_ROWS = 60, 6, 500
BAD_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")


def display_width(value) -> int:
    """Columns a value takes in Excel: wide (CJK) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(value))


def sheet_names(names: list[str]) -> dict[str, str]:
    """Table name → a valid, unique Excel sheet name (at most 31 characters)."""
    result: dict[str, str] = {}
    for name in names:
        base = BAD_SHEET_CHARACTERS.sub("_", name)[:31] or "table"
        sheet, n = base, 1
        while sheet.lower() in {s.lower() for s in result.values()}:
            n += 1
            sheet = f"{base[:31 - len(str(n)) - 1]}~{n}"
        result[name] = sheet
    return result


def workbook_bytes(tables: dict[str, object]) -> bytes:
    """The .xlsx bytes of `tables` (name → DataFrame), one sheet each in the given order."""
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    book.properties.creator = "analysis"
    book.properties.created = FIXED_TIME
    bold = Font(bold=True)
    for name, sheet in sheet_names(list(tables)).items():
        frame = tables[name]
        ws = book.create_sheet(sheet)
        ws.freeze_panes = "A2"
        sample = frame.head(SAMPLE_ROWS)
        for number, column in enumerate(frame.columns, start=1):
            widths = [display_width(column), *(display_width(v) for v in sample[column] if not pd.isna(v))]
            ws.column_dimensions[get_column_letter(number)].width = max(MIN_WIDTH, min(MAX_WIDTH, max(widths) + 2))

        def cell(value, header: bool = False, ws=ws):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                return None
            if hasattr(value, "item"):  # numpy scalar → Python
                value = value.item()
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            c = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                c.data_type = "s"  # text that starts with = stays text, never a formula
            if header:
                c.font = bold
            return c

        ws.append([cell(str(c), header=True) for c in frame.columns])
        for row in frame.itertuples(index=False, name=None):
            ws.append([cell(v) for v in row])
    raw = io.BytesIO()
    book.save(raw)
    return _fixed_times(raw.getvalue())


def _fixed_times(data: bytes) -> bytes:
    """The workbook with the clock taken out: dcterms:modified (openpyxl sets it to now on save)
    and every zip entry's time fixed."""
    out = io.BytesIO()
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=ZIP_TIME), content,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def write_workbook(processed: Path, out: Path, names: list[str] | None = None, max_rows: int | None = None) -> Path:
    """`out` (an .xlsx) from the CSV tables `names` of `processed` (default: every *.csv there).
    A table of more than `max_rows` rows (a 1,000-plan corpus' plan pairs or tokens) gets no sheet:
    the first sheet, `README`, lists it with its row count and CSV file instead."""
    import pandas as pd

    from analysis.files import read_csv, write_bytes_atomic

    files = sorted(names) if names is not None else sorted(p.name for p in processed.glob("*.csv"))
    tables = {Path(name).stem: read_csv(processed / name) for name in files if name.endswith(".csv")}
    large = {name: len(frame) for name, frame in tables.items() if max_rows is not None and len(frame) > max_rows}
    if large:
        readme = pd.DataFrame({
            "table": list(large), "rows": list(large.values()),
            "note": [f"more than {max_rows} rows: open data/processed/{name}.csv" for name in large],
        })
        tables = {"README": readme, **{k: v for k, v in tables.items() if k not in large}}
    write_bytes_atomic(out, workbook_bytes(tables))
    return out
