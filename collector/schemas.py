"""JSON Schemas of the device payloads, generated from the pydantic models that the collector validates with.

    python -m collector.schemas [--check] [DIR]

writes `reading.schema.json` and `position.schema.json` into DIR (default `docs/schemas`); with `--check`
it writes nothing and exits 1 if the files in DIR differ from what it would write. The schemas describe
what a payload may look like; the collector checks more than a schema can say (the device in the topic,
the time against the moment of receipt, the payload's size in bytes): docs/device-protocol.md has it all.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from collector import position, reading
from collector.contract import Limits
from domain.topics import POSITION, READING

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A name, not a location: change to the published address once the schemas are served somewhere.
ID_PREFIX = "urn:yiwang:schema:"
DEFAULT_DIR = Path("docs/schemas")
SUFFIX = ".schema.json"


@dataclass(frozen=True, slots=True)
class FamilySchema:
    """What the schema of one topic family is made of."""

    device: str
    name: str
    model: type[BaseModel]
    title: str
    description: str
    examples: tuple[Any, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}{SUFFIX}"

    @property
    def topic(self) -> str:
        return f"<root>/{self.device}/<{self.device}_id>/{self.name}"


FAMILIES: tuple[FamilySchema, ...] = (
    FamilySchema(
        device=READING.device,
        name=READING.name,
        model=reading.ReadingPayload,
        title="Yiwang meter reading",
        description=(
            "The cumulative register of one meter at one time, in the unit registered for the meter."
            " A payload is one reading, or an array of readings for a backlog."
        ),
        examples=(
            {"time": "2026-03-02T16:15:00+08:00", "register": 12873.42},
            [
                {"meter": "m-0001", "time": 1772438400000, "register": 12871.05},
                {"meter": "m-0001", "time": 1772439300000, "register": 12873.42},
            ],
        ),
    ),
    FamilySchema(
        device=POSITION.device,
        name=POSITION.name,
        model=position.PositionPayload,
        title="Yiwang vehicle position",
        description=(
            "A GNSS fix (WGS-84) and the state of one vehicle at the fix time, in JT/T 808 units after scaling."
            " A payload is one report, or an array of reports for a blind-zone upload."
        ),
        examples=(
            {
                "time": "2026-03-02T16:25:40+08:00",
                "latitude": 29.291536,
                "longitude": 117.207118,
                "speed": 42.5,
                "heading": 87,
                "odometer": 18234.6,
                "ignition": True,
                "altitude": 41,
                "satellites": 14,
                "accuracy": 3.5,
                "soc": 76,
                "alarm": 0,
                "status": 3,
            },
            [
                {
                    "vehicle": "v-0042",
                    "time": 1772437270000,
                    "latitude": 29.280113,
                    "longitude": 117.190764,
                    "speed": 36.0,
                    "heading": 12,
                    "odometer": 18221.3,
                    "ignition": True,
                    "blind": True,
                },
                {
                    "vehicle": "v-0042",
                    "time": 1772437280000,
                    "latitude": 29.281022,
                    "longitude": 117.190951,
                    "speed": 38.5,
                    "heading": 11,
                    "odometer": 18221.4,
                    "ignition": True,
                    "blind": True,
                },
            ],
        ),
    ),
)


def family_schema(family: FamilySchema, limits: Limits | None = None) -> dict[str, Any]:
    """The schema of one family: one item, or an array of 1 to `limits.max_items` items.

    Args:
        family: the family to describe.
        limits: whose `max_items` bounds the array; the collector's defaults if not given.
    """
    limits = limits or Limits()
    item = family.model.model_json_schema(by_alias=True, mode="validation", ref_template="#/$defs/{model}")
    definitions: dict[str, Any] = item.pop("$defs", {})
    item_name = family.model.__name__
    definitions[item_name] = item
    ref = {"$ref": f"#/$defs/{item_name}"}
    return {
        "$schema": DIALECT,
        "$id": f"{ID_PREFIX}{family.name}",
        "$comment": (
            f"Generated from {family.model.__module__}.{item_name} by `python -m collector.schemas`; do not edit."
        ),
        "title": family.title,
        "description": (
            f"{family.description} Topic {family.topic}; an id in the payload must equal the topic's."
            f" The collector also refuses payloads over {limits.max_payload_bytes} bytes, times more than"
            f" {limits.max_future.total_seconds():g} s after receipt or before {limits.oldest.isoformat()}"
            " (defaults). See docs/device-protocol.md."
        ),
        "oneOf": [
            ref,
            {"type": "array", "items": ref, "minItems": 1, "maxItems": limits.max_items},
        ],
        "examples": list(family.examples),
        "$defs": definitions,
    }


def render(schema: dict[str, Any]) -> str:
    """The file text: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate(limits: Limits | None = None) -> dict[str, str]:
    """File name to file text, for every family."""
    return {family.filename: render(family_schema(family, limits)) for family in FAMILIES}


def stale(directory: Path, expected: dict[str, str]) -> list[str]:
    """What in `directory` differs from `expected`: missing, changed, or a schema file no family makes."""
    problems: list[str] = []
    for name, text in expected.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path} is out of date")
    if directory.is_dir():
        problems.extend(
            f"{path} is not generated by any family"
            for path in sorted(directory.glob(f"*{SUFFIX}"))
            if path.name not in expected
        )
    return problems


def write(directory: Path, expected: dict[str, str]) -> list[Path]:
    """Write every schema file; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, text in expected.items():
        path = directory / name
        with path.open("w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m collector.schemas", description="Generate the JSON Schemas of the device payloads."
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if DIR is not up to date")
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR, metavar="DIR", help="default: %(default)s")
    args = parser.parse_args(argv)
    directory: Path = args.dir
    expected = generate()
    if args.check:
        problems = stale(directory, expected)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"regenerate with: python -m collector.schemas {directory}", file=sys.stderr)
            return 1
        print(f"{directory}: {len(expected)} schemas up to date")
        return 0
    for path in write(directory, expected):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
