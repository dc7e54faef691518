"""The published contract agrees with the code: the committed schemas, the collector, and device-protocol.md.

Pure unit tests: the collector's routing and parsing are called directly, without broker or database.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from collector import schemas
from collector.contract import Limits
from collector.families import PARSERS, route
from collector.invalid import InvalidMessage
from collector.run import limits_from
from domain import topics
from domain.dead_letter import Reason
from yiwang.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "device-protocol.md"
SCHEMA_DIR = REPO / "docs" / "schemas"
ROOT = "yiwang"
# When the collector is taken to receive every example (the document says so).
RECEIVED = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
LIMITS = Limits()
DEVICE_IDS = {"meter": "m-0001", "vehicle": "v-0042"}
# What a schema can see; the other reasons depend on the topic, the moment of receipt or the registry.
SCHEMA_REFUSES = {Reason.BAD_SHAPE, Reason.INVALID_FIELD, Reason.IMPOSSIBLE_COORDINATES}

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))", re.ASCII
)


def is_rfc3339(value: object) -> bool:
    """RFC 3339 section 5.6 `date-time`, strictly (jsonschema checks it only with an optional package)."""
    if not isinstance(value, str):
        return True  # formats apply to strings only
    match = _RFC3339.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    offset_hour, offset_minute = (int(g) if g else 0 for g in match.groups()[6:])
    try:
        datetime(year, month, day)
    except ValueError:
        return False
    return hour <= 23 and minute <= 59 and second <= 60 and offset_hour <= 23 and offset_minute <= 59


FORMATS = FormatChecker(formats=())
FORMATS.checks("date-time")(is_rfc3339)


def committed(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}{schemas.SUFFIX}").read_text(encoding="utf-8"))
    return schema


@functools.cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(committed(name), format_checker=FORMATS)


def schema_errors(name: str, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<payload>'}: {e.message}"
        for e in validator(name).iter_errors(instance)
    ]


def collect(topic: str, payload: bytes) -> tuple[int, list[Reason]]:
    """What the collector makes of one message, as its writer does before it touches the database:
    the rows it would store and the reasons of what it refuses."""
    try:
        family, device_id = route(ROOT, topic)
        rows, rejected = PARSERS[family](device_id, payload, RECEIVED, LIMITS)
    except InvalidMessage as exc:
        return 0, [exc.reason]
    return len(rows), [r.reason for r in rejected]


def items_of(value: Any) -> int:
    return len(value) if isinstance(value, list) else 1


# --- the committed schemas ---------------------------------------------------------------------------------


def test_the_committed_schemas_are_up_to_date() -> None:
    problems = schemas.stale(SCHEMA_DIR, schemas.generate())
    assert not problems, "\n".join([*problems, "regenerate with: python -m collector.schemas"])


def test_every_topic_family_has_a_schema() -> None:
    assert {(f.device, f.name) for f in topics.FAMILIES} == {(f.device, f.name) for f in schemas.FAMILIES}


def test_generation_is_deterministic_and_canonical() -> None:
    first, second = schemas.generate(), schemas.generate()
    assert first == second
    for text in first.values():
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("family", schemas.FAMILIES, ids=lambda f: f.name)
def test_each_schema_is_valid_json_schema_2020_12_with_its_metadata(family: schemas.FamilySchema) -> None:
    schema = committed(family.name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:yiwang:schema:{family.name}"
    assert schema["title"]
    assert family.topic in schema["description"]
    assert len(schema["examples"]) >= 2


@pytest.mark.parametrize("family", schemas.FAMILIES, ids=lambda f: f.name)
def test_each_schema_takes_one_item_or_an_array_within_the_item_limit(family: schemas.FamilySchema) -> None:
    single = next(e for e in family.examples if isinstance(e, dict))
    check = validator(family.name)
    assert check.is_valid(single)
    assert check.is_valid([single])
    assert check.is_valid([single] * LIMITS.max_items)
    assert not check.is_valid([single] * (LIMITS.max_items + 1))
    assert not check.is_valid([])
    assert not check.is_valid([[single]])
    assert not check.is_valid("a string")


@pytest.mark.parametrize(
    ("family", "example"),
    [(f, e) for f in schemas.FAMILIES for e in f.examples],
    ids=lambda v: v.name if isinstance(v, schemas.FamilySchema) else "",
)
def test_the_schema_examples_validate_and_are_stored_by_the_collector(
    family: schemas.FamilySchema, example: Any
) -> None:
    assert schema_errors(family.name, example) == []
    topic = topics.topic(ROOT, family.device, DEVICE_IDS[family.device], family.name)
    assert collect(topic, orjson.dumps(example)) == (items_of(example), [])


def test_the_check_command_fails_until_the_directory_is_regenerated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "schemas"
    assert schemas.main(["--check", str(target)]) == 1
    assert "is missing" in capsys.readouterr().err

    assert schemas.main([str(target)]) == 0
    assert schemas.main(["--check", str(target)]) == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(schemas.generate())

    reading = target / "reading.schema.json"
    reading.write_text(reading.read_text(encoding="utf-8").replace('"minimum": 0', '"minimum": 1'), encoding="utf-8")
    capsys.readouterr()
    assert schemas.main(["--check", str(target)]) == 1
    err = capsys.readouterr().err
    assert f"{reading} is out of date" in err
    assert "python -m collector.schemas" in err

    assert schemas.main([str(target)]) == 0
    (target / "tariff.schema.json").write_text("{}\n", encoding="utf-8")
    assert schemas.main(["--check", str(target)]) == 1
    assert "tariff.schema.json is not generated" in capsys.readouterr().err


# --- the schemas and the collector agree item by item ------------------------------------------------------

# Times inside the bounds, in forms both accept, and forms both refuse. The schema cannot judge a time against
# the moment of receipt, and the collector reads some non-RFC 3339 ISO forms: those are left out on purpose.
GOOD_TIMES = ["2026-03-02T16:15:00+08:00", "2026-03-02T08:15:00.5Z", "2026-03-01T21:00:00-11:30", 1772439300000]
BAD_TIMES = ["2026-03-02T16:15:00", "2026-03-02", "yesterday", "", True, None, [1772439300000], "1772439300000"]
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet="0123456789.:-+TZ abc", max_size=4),
    st.sampled_from([-500, 9000, 90, -90, 180, -180, 360, 400, 255, 100, 100000, 10000, 2**32 - 1, 2**32]),
)
DELETE = object()
INTEGER_FIELDS = {"satellites", "alarm", "status"}
BASE = {
    "reading": {"time": "2026-03-02T16:15:00+08:00", "register": 12873.42},
    "position": {
        "time": "2026-03-02T16:25:40+08:00",
        "latitude": 29.291536,
        "longitude": 117.207118,
        "speed": 42.5,
        "heading": 87,
        "odometer": 18234.6,
        "ignition": True,
    },
}
FIELDS = {
    "reading": ["register", "colour"],
    "position": [
        *("latitude", "longitude", "speed", "heading", "odometer", "ignition", "altitude", "satellites"),
        *("accuracy", "soc", "fuel", "alarm", "status", "blind", "colour"),
    ],
}


@st.composite
def items(draw: st.DrawFn, family: str) -> dict[str, Any]:
    item = dict(BASE[family])
    changes = draw(st.dictionaries(st.sampled_from(FIELDS[family]), st.one_of(ANY_VALUE, st.just(DELETE)), max_size=3))
    for field, value in changes.items():
        if value is DELETE:
            item.pop(field, None)
        else:
            item[field] = value
    if draw(st.booleans()):
        item["time"] = draw(st.sampled_from(GOOD_TIMES + BAD_TIMES))
    return item


@pytest.mark.parametrize("family", ["reading", "position"])
@given(data=st.data())
def test_the_schema_and_the_collector_agree_on_any_item(family: str, data: st.DataObject) -> None:
    item = data.draw(items(family))
    # Known difference: JSON Schema cannot tell 14 from 14.0; the collector refuses 14.0 for an integer.
    assume(not any(isinstance(item.get(f), float) and item[f].is_integer() for f in INTEGER_FIELDS))
    device = next(f.device for f in schemas.FAMILIES if f.name == family)
    topic = topics.topic(ROOT, device, DEVICE_IDS[device], family)
    stored, reasons = collect(topic, orjson.dumps(item))
    errors = schema_errors(family, item)
    assert (stored == 1) == (not errors), f"collector: {reasons}, schema: {errors}"


# --- device-protocol.md ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    line: int
    info: str
    caption: str
    text: str

    @property
    def invalid(self) -> bool:
        return self.info.split()[1:] == ["invalid"]

    @property
    def topic(self) -> str | None:
        return next((t for t in re.findall(r"`([^`]+)`", self.caption) if "/" in t), None)

    @property
    def reason(self) -> Reason | None:
        values = {r.value for r in Reason}
        return next((Reason(t) for t in re.findall(r"`([^`]+)`", self.caption) if t in values), None)


def doc_examples() -> list[Example]:
    """Every ```json fence of the document with the paragraph just before it."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("```json"):
            start = i
            end = lines.index("```", start + 1)
            j = start - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            paragraph: list[str] = []
            while j >= 0 and lines[j].strip() and not lines[j].startswith("```"):
                paragraph.insert(0, lines[j])
                j -= 1
            examples.append(
                Example(start + 1, lines[start][3:].strip(), " ".join(paragraph), "\n".join(lines[start + 1 : end]))
            )
            i = end
        i += 1
    return examples


EXAMPLES = doc_examples()
VALID = [e for e in EXAMPLES if not e.invalid]
INVALID = [e for e in EXAMPLES if e.invalid]


def example_id(example: Example) -> str:
    return f"line{example.line}-{example.reason or 'valid'}"


def test_the_document_has_valid_and_invalid_examples_of_both_families() -> None:
    for family in ("reading", "position"):
        assert any(e.topic and e.topic.endswith(family) for e in VALID), f"no valid {family} example"
        assert any(e.topic and e.topic.endswith(family) for e in INVALID), f"no invalid {family} example"


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_each_example_is_labelled_with_its_topic_and_verdict(example: Example) -> None:
    assert example.info in ("json", "json invalid"), "a fence is ```json or ```json invalid"
    assert example.topic, "the paragraph before an example names its topic in backticks"
    assert example.topic.startswith(f"{ROOT}/")
    assert example.caption.startswith("**Invalid**") == example.invalid, "an invalid example says so in its caption"
    assert (example.reason is not None) == example.invalid, "an invalid example names its reason, a valid one none"


@pytest.mark.parametrize("example", VALID, ids=example_id)
def test_each_valid_example_passes_the_schema_and_is_stored_by_the_collector(example: Example) -> None:
    assert example.topic
    value = orjson.loads(example.text)
    family = example.topic.rsplit("/", 1)[-1]
    assert schema_errors(family, value) == []
    assert collect(example.topic, example.text.encode()) == (items_of(value), [])


@pytest.mark.parametrize("example", INVALID, ids=example_id)
def test_each_invalid_example_is_refused_by_the_collector_for_its_documented_reason(example: Example) -> None:
    assert example.topic
    assert example.reason
    stored, reasons = collect(example.topic, example.text.encode())
    assert reasons, "the collector stores it all"
    assert set(reasons) == {example.reason}
    if example.reason is Reason.MALFORMED_JSON:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(example.text)
        return
    value = orjson.loads(example.text)
    assert stored + len(reasons) == max(items_of(value), 1), "every item is either stored or refused"
    errors = schema_errors(example.topic.rsplit("/", 1)[-1], value)
    if example.reason in SCHEMA_REFUSES:
        assert errors, "the schema lets through what the collector refuses"
    else:
        assert errors == [], "only the collector can see this: the schema must not refuse it"


def test_the_document_explains_every_reason() -> None:
    text = DOC.read_text(encoding="utf-8")
    for reason in Reason:
        assert re.search(rf"^\| `{reason.value}` +\|", text, re.MULTILINE), f"{reason.value} is not in the table"


@pytest.mark.parametrize("family", schemas.FAMILIES, ids=lambda f: f.name)
def test_the_document_describes_every_field_of_each_family(family: schemas.FamilySchema) -> None:
    text = DOC.read_text(encoding="utf-8")
    section = re.split(r"\n##+ ", text.split(f"### {family.name.capitalize()} (`<root>/{family.device}/")[1])[0]
    documented = set(re.findall(r"^\| `(\w+)` +\|", section, re.MULTILINE))
    fields = {info.alias or name for name, info in family.model.model_fields.items()}
    assert documented == fields


def test_the_documented_defaults_are_the_code_defaults() -> None:
    text = DOC.read_text(encoding="utf-8")
    defaults = Settings.model_construct()
    assert limits_from(defaults) == LIMITS, "the collector runs with the Limits defaults"
    assert f"| {defaults.max_payload_bytes} bytes " in text
    assert f"| {LIMITS.max_items} items " in text
    assert f"| {defaults.max_future_seconds:g} s " in text
    assert f"| `{defaults.oldest_time}` " in text
    assert f"default `{defaults.mqtt_topic_root}`" in text
    assert f"`{RECEIVED.isoformat().replace('+00:00', 'Z')}`" in text, "the examples' time of receipt"


def test_the_document_links_every_schema() -> None:
    text = DOC.read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\((schemas/[^)]+)\)", text))
    assert linked == {f"schemas/{name}" for name in schemas.generate()}
    assert all((DOC.parent / link).is_file() for link in linked)
