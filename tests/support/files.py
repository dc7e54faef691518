"""Registry files in tests: workbooks made and read back, files sent to an import."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

import httpx
import openpyxl

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(rows: list[list[Any]]) -> bytes:
    """An XLSX workbook of one sheet with these rows."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_body(text: str) -> str:
    """A CSV export's text after its byte-order mark and its '#' lines (how it was made, api/files/provenance.py): the
    header and the rows, as a reader that skips comment lines (pandas' comment='#') reads them."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("#"))


def sheet_rows(content: bytes) -> list[list[Any]]:
    """The rows of a workbook's first sheet."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


async def upload(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], content: bytes, name: str = "registry.xlsx"
) -> httpx.Response:
    """Send a file to an import, as the multipart field `file`."""
    return await client.post(path, headers=headers, files={"file": (name, content, "application/octet-stream")})


_BOMB_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>'
    ),
    "xl/worksheets/sheet1.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>'
        "</sheetData></worksheet>"
    ),
}


def shared_strings_workbook(texts: Iterable[str], *, prefix: str = "") -> bytes:
    """A valid XLSX workbook whose shared strings are `texts` (its sheet shows the first two), written as they come:
    a generator of many equal texts makes a zip bomb, small packed and huge unpacked. `prefix` writes the strings'
    elements with a namespace prefix (x:si), as XML allows."""
    out = io.BytesIO()
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    p = f"{prefix}:" if prefix else ""
    namespace = f'xmlns:{prefix}="{main}"' if prefix else f'xmlns="{main}"'
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _BOMB_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/sharedStrings.xml", "w") as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8"?><{p}sst {namespace}>'.encode())
            batch: list[str] = []
            for text in texts:
                batch.append(f"<{p}si><{p}t>{text}</{p}t></{p}si>")
                if len(batch) == 10_000:
                    part.write("".join(batch).encode())
                    batch.clear()
            part.write(f"{''.join(batch)}</{p}sst>".encode())
    return out.getvalue()
