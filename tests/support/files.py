"""Registry files in tests: workbooks made and read back, files sent to an import."""

from __future__ import annotations

import io
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


def sheet_rows(content: bytes) -> list[list[Any]]:
    """The rows of a workbook's first sheet."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


async def upload(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], content: bytes, name: str = "registry.xlsx"
) -> httpx.Response:
    """Send a file to an import, as the multipart field `file`."""
    return await client.post(path, headers=headers, files={"file": (name, content, "application/octet-stream")})
