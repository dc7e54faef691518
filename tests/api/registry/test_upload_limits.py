"""An upload that would cost more to read than the largest import is refused before it is parsed: a zip bomb of
shared strings through the real API, and each bound of the check on its own."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import httpx
import pytest

from api import errors
from api.registry import spreadsheets
from api.registry.spreadsheets import MAX_SHARED_STRINGS, FileRefused, check_workbook
from tests.support.api import AsUser
from tests.support.files import shared_strings_workbook, upload, workbook

_STATUS = Path("/proc/self/status")


def _megabytes(field: str) -> int:
    """VmRSS or VmHWM (the peak) of this process, which serves the API in the tests, in MB."""
    line = next(line for line in _STATUS.read_text().splitlines() if line.startswith(f"{field}:"))
    return int(line.split()[1]) // 1024


def _reset_peak() -> None:
    """Set VmHWM to the present RSS (Linux's clear_refs): what follows shows its own peak."""
    Path("/proc/self/clear_refs").write_text("5")


async def test_a_zip_bomb_of_shared_strings_is_refused_before_it_is_read(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    staff = await as_user("energy_staff")
    # 395 KB that unpack to 116 MB: a million texts of 100 letters. Read, they took 7 s of CPU and 240 MB that
    # stayed with the process.
    bomb = shared_strings_workbook("a" * 100 for _ in range(1_000_000))
    assert len(bomb) < 500 * 1024
    before = _megabytes("VmRSS")
    _reset_peak()
    response = await upload(client, "/registry/institutions", staff, bomb)
    assert response.status_code == 413, response.text
    assert "xl/sharedStrings.xml" in response.json()["detail"]
    assert _megabytes("VmHWM") - before < 50  # the peak while refusing it, not only what stayed
    # The API goes on: a real file is imported.
    fine = await upload(client, "/registry/institutions", staff, workbook([["id"], ["no-such-institution"]]))
    assert fine.status_code == 422, fine.text  # read and checked: the row names no organisation


def _zip(parts: dict[str, bytes]) -> zipfile.ZipFile:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def test_a_real_workbook_passes_the_check() -> None:
    rows = [["id", "name"], *([f"i-{n}", f"第{n}中学"] for n in range(5000))]
    with zipfile.ZipFile(io.BytesIO(workbook(rows))) as archive:
        check_workbook(archive)
    with zipfile.ZipFile(io.BytesIO(shared_strings_workbook(f"text {n}" for n in range(10_000)))) as archive:
        check_workbook(archive)


def test_too_many_parts_are_refused() -> None:
    with pytest.raises(errors.TooLarge, match="parts"):
        check_workbook(_zip({f"part{n}.xml": b"<a/>" for n in range(spreadsheets.MAX_PARTS + 1)}))


def test_more_unpacked_bytes_than_an_import_takes_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 1024 * 1024)
    random = bytes(range(256)) * 5000  # packs hardly at all: the ratio is not what refuses it
    with pytest.raises(errors.TooLarge, match="unpacks to"):
        check_workbook(_zip({"a.xml": random}))


def test_more_shared_strings_than_an_import_takes_are_refused_whatever_their_prefix() -> None:
    # Distinct texts, so that the part packs like real ones do and only the count refuses it.
    for prefix in ("", "x"):
        texts = (f"{n:x}" for n in range(MAX_SHARED_STRINGS + 1))
        with (
            zipfile.ZipFile(io.BytesIO(shared_strings_workbook(texts, prefix=prefix))) as archive,
            pytest.raises(errors.TooLarge, match="shared strings"),
        ):
            check_workbook(archive)


def test_the_check_reads_a_bomb_in_bounded_memory() -> None:
    # Distinct texts below the ratio bound, just within the count: the check streams 5 MB through expat.
    bomb = shared_strings_workbook(f"{n:07x}" for n in range(MAX_SHARED_STRINGS))
    tracemalloc.start()
    try:
        with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
            check_workbook(archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_a_doctype_is_refused() -> None:
    laughs = b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">]><sst><si><t>&a;</t></si></sst>'
    parts = {
        "[Content_Types].xml": b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Override PartName="/s.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "s.xml": laughs,
    }
    with pytest.raises(FileRefused, match="DOCTYPE"):
        check_workbook(_zip(parts))
