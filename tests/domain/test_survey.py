"""The survey's pure core: the field list read from data, an institution's forms filled from its facts and declared
figures (missing is not zero), the summaries with their coverage and the department hierarchy."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import domain
from domain.survey import (
    Department,
    FieldList,
    Figure,
    FormsError,
    Inputs,
    Institution,
    InstitutionForms,
    Room,
    fill,
    parse,
    summarise,
)

FORMS = Path(domain.__file__).parent / "survey_forms.toml"


@pytest.fixture(scope="module")
def fields() -> FieldList:
    return parse(FORMS.read_text(encoding="utf-8"))


def _cells(forms: InstitutionForms) -> dict[tuple[str, str | None], tuple[Decimal | None, Decimal | None, str | None]]:
    return {
        (cell.row.code, cell.room): (cell.value, cell.cost, cell.reason) for form in forms.forms for cell in form.rows
    }


def _city(year: int = 2025) -> Inputs:
    D = Decimal
    return Inputs(
        year=year,
        institutions=[
            Institution(
                "a1",
                "甲局",
                "org-a",
                True,
                department_id="root",
                division_code="360102",
                category="state_organ",
                facts={"floor_area_m2": D("1000"), "headcount": D("20")},
            ),
            Institution(
                "a2",
                "乙校",
                "org-a",
                True,
                department_id="child",
                division_code="360102",
                category="education",
                facts={"floor_area_m2": D("500"), "headcount": None},
            ),
            Institution("a3", "不在名录", "org-a", False, department_id="root", facts={"floor_area_m2": D("9")}),
            Institution("a4", "未填年度", "org-a", None, department_id="root"),
        ],
        rooms=[
            Room(
                "a2",
                "主机房",
                {
                    "floor_area_m2": D("50"),
                    "it_power_kw": D("20"),
                    "cooling_power_kw": D("10"),
                    "electricity_kwh": None,
                },
            )
        ],
        figures=[
            Figure("a1", "electricity", "building", D("22500"), D("15000.50"), "meters"),
            Figure("a1", "gasoline", "vehicle", D("1200"), None),
            Figure("a1", "raw_coal", "building", D("3000"), D("2400")),
            Figure("a3", "electricity", "building", D("999"), None),
        ],
        vehicles={"a1": {"total": 3, "gasoline": 2, "diesel": 0, "new_energy": 1}},
        departments=[
            Department("root", "委员会", None),
            Department("child", "委属局", "root"),
            Department("x", "其他", None),
        ],
    )


def test_the_field_list_in_the_package_parses_and_reflects_the_revisions(fields: FieldList) -> None:
    basic = {row.code for row in fields.form("basic").rows_of(2025)}
    assert not {"B02", "B20"} & basic  # 用地面积 and 充电桩数量 removed in 2025
    assert {"B02", "B20", "B30"} <= {row.code for row in fields.form("basic").rows_of(2024)}
    assert "B33" not in {row.code for row in fields.form("basic").rows_of(2021)}  # added 2022
    [heat] = [row for row in fields.form("energy").rows_of(2025) if row.code == "E08"]
    assert heat.zh == "热力消费量（按热量收费）"
    assert "D05" not in {row.code for row in fields.form("data_centre").rows_of(2025)}  # UPS装机容量
    assert "D07" not in {row.code for row in fields.form("data_centre").rows_of(2022)}
    assert [form.key for form in fields.forms] == ["basic", "energy", "data_centre", "heating"]
    assert [s.key for s in fields.summaries] == ["department", "division", "category"]
    assert all(row.confirmed or row.unconfirmed for form in fields.forms for row in form.rows)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('value = "fact:floor_area_m2"', 'value = "fact:area"'), "is no source"),
        (('value = "declared:electricity"', 'value = "declared:electricity/heating"'), "is no source"),
        (('code = "B03"', 'code = "B01"'), "asked twice"),
        (
            ('value = "fact:staff_quota"\nconfirmed = "platform form code (2020)"', 'value = "fact:staff_quota"'),
            "confirmed",
        ),
        (('value = "none"\nreason = "not recorded in Yiwang"\n', 'value = "none"\n'), "says why"),
        (('"H16"]', '"H99"]'), "no form has"),
    ],
)
def test_a_broken_field_list_is_refused_saying_where(change: tuple[str, str], message: str) -> None:
    text = FORMS.read_text(encoding="utf-8")
    assert change[0] in text, change[0]
    with pytest.raises(FormsError, match=message):
        parse(text.replace(change[0], change[1], 1))


def test_forms_hold_the_figures_and_null_with_the_reason_where_nothing_was_reported(fields: FieldList) -> None:
    filled = fill(fields, _city())
    assert [f.institution.id for f in filled] == ["a1", "a2"]  # a3 not in the registry, a4 says nothing
    a1, a2 = (_cells(f) for f in filled)
    assert a1[("B01", None)] == (Decimal("1000"), None, None)
    assert a1[("B03", None)] == (Decimal("20"), None, None)
    assert a1[("B04", None)] == (None, None, "no_fact")  # 编制人数 not given: null, not 0
    assert [a1[(code, None)][0] for code in ("B10", "B11", "B13")] == [3, 2, 1]
    assert a1[("B12", None)][0] == 0  # the registry's count: a real zero
    assert a1[("E01", None)] == (Decimal("22500"), Decimal("15000.50"), None)
    assert a1[("E02", None)] == (None, None, "not_reported")
    assert a1[("E03", None)][0] == Decimal("3.000")  # 3,000 kg of coal in t
    assert a1[("E05", None)][:2] == (Decimal("1200"), None)  # gasoline: the vehicle part, no cost reported
    assert a1[("E051", None)][0] == Decimal("1200")
    assert a1[("E052", None)] == (None, None, "not_reported")
    assert a1[("E09", None)] == (None, None, "not_reported")
    assert a1[("D01", None)][0] == 0
    assert [cell for cell in a1 if cell[1] is not None] == []  # no machine room, no room rows
    # The meters count a1's electricity: heating's share of it is unknown, not 0.
    assert a1[("H11", None)] == (None, None, "heating_unmetered")
    assert a1[("H12", None)] == (None, None, "heating_not_entered")  # coal from entries, none for heating
    assert a1[("H13", None)] == (None, None, "not_reported")  # no gas at all
    assert a1[("H17", None)] == (None, None, "no_source")
    assert a2[("B03", None)] == (None, None, "no_fact")
    assert a2[("D01", None)][0] == 1
    assert a2[("D02", "主机房")][0] == Decimal("50")
    assert a2[("D04", "主机房")] == (None, None, "part_missing")  # 配电 not given: the total is unknown
    assert a2[("D06", "主机房")] == (None, None, "no_fact")


def test_summaries_add_up_what_was_reported_and_say_who_did_not(fields: FieldList) -> None:
    city = _city()
    filled = fill(fields, city)
    by_department = {g.key: g for g in summarise(fields, city, filled, "department")}
    assert list(by_department) == ["root", "child", "x"]  # a parent before those under it; a4/a3 surveyed by none
    root = {row.row.code: row for row in by_department["root"].rows}
    assert by_department["root"].institutions == ("a1", "a2")  # its own and its child's
    assert root["S01"].value == 2
    assert (root["B01"].value, root["B01"].reporting, root["B01"].expected) == (Decimal("1500"), 2, 2)
    assert (root["B03"].value, root["B03"].reporting, root["B03"].missing) == (Decimal("20"), 1, ("a2",))
    assert not root["B03"].complete
    assert (root["E01"].value, root["E01"].cost, root["E01"].missing) == (
        Decimal("22500"),
        Decimal("15000.50"),
        ("a2",),
    )
    assert (root["D02"].value, root["D02"].expected) == (Decimal("50"), 1)  # summed over machine rooms
    assert (root["D06"].value, root["D06"].reason, root["D06"].missing) == (None, "nobody_reported", ("a2/主机房",))
    child = {row.row.code: row for row in by_department["child"].rows}
    assert (child["E01"].value, child["E01"].reason) == (None, "nobody_reported")  # never 0
    other = {row.row.code: row for row in by_department["x"].rows}
    assert (other["S01"].value, other["B01"].reason) == (0, "nothing_to_add")

    by_category = {g.key: g for g in summarise(fields, city, filled, "category")}
    assert list(by_category) == [
        "total",
        "state_organ",
        "public_institution",
        "education",
        "science",
        "culture",
        "health",
        "sports",
        "other_institution",
        "association",
    ]
    assert by_category["total"].institutions == ("a1", "a2")
    assert by_category["public_institution"].institutions == ("a2",)
    assert by_category["education"].institutions == ("a2",)
    by_division = {g.key: g.institutions for g in summarise(fields, city, filled, "division")}
    assert by_division == {"360102": ("a1", "a2")}


def test_a_department_covers_every_level_under_it_and_a_cycle_in_the_data_ends_the_walk(fields: FieldList) -> None:
    departments = [
        Department("a", "A", None),
        Department("b", "B", "a"),
        Department("c", "C", "b"),
        Department("x", "X", "y"),  # x and y under each other: bad data, never an endless walk
        Department("y", "Y", "x"),
    ]
    institutions = [
        Institution(f"i-{d.id}", d.name, "org", True, department_id=d.id, facts={"floor_area_m2": Decimal(1)})
        for d in departments
    ]
    city = Inputs(year=2025, institutions=institutions, departments=departments)
    groups = {g.key: g.institutions for g in summarise(fields, city, fill(fields, city), "department")}
    assert groups["a"] == ("i-a", "i-b", "i-c")
    assert groups["b"] == ("i-b", "i-c")
    assert groups["c"] == ("i-c",)
    # A cycle has no top: its departments are listed with no parent (after the others) and cover each other.
    assert groups["x"] == ("i-x", "i-y")


def test_the_heating_form_reads_the_entries_for_heating_and_vehicles_their_statements(fields: FieldList) -> None:
    D = Decimal
    city = Inputs(
        year=2025,
        institutions=[Institution("a1", "甲局", "org-a", True)],
        figures=[
            # 400 GJ of heat from bills, 300 of them for heating (12,000 yuan), 2 t of coal for heating without a cost.
            Figure("a1", "heat", "building", D("400000"), D("16000"), "entries", D("300000"), D("12000")),
            Figure("a1", "raw_coal", "building", D("2000"), None, "entries", D("2000"), None),
            # Metered electricity with a heating bill's cost beside it: the cost is known, the quantity is not.
            Figure("a1", "electricity", "building", D("5000"), D("900"), "meters", None, D("300")),
            Figure("a1", "electricity", "vehicle", D("50"), D("60"), "fuel_statements"),
            Figure("a1", "other", "building", D("1500"), None, "entries", D("500"), None),
        ],
    )
    [a1] = (_cells(f) for f in fill(fields, city))
    costs = {code: cost for (code, _), (_, cost, _) in a1.items()}
    assert a1[("H15", None)][0] == D("300.000")  # 300,000 MJ in GJ
    assert costs["H15"] == D("12000")
    assert a1[("E08", None)][:2] == (D("400.000"), D("16000"))  # the heating part stays in the whole
    assert a1[("H12", None)][0] == D("2.000")
    assert costs["H12"] is None
    assert a1[("H11", None)] == (None, D("300"), "heating_unmetered")
    assert a1[("H16", None)][0] == D("0.500")  # 500 kgce in tce
    assert a1[("E09", None)][0] == D("1.500")
    assert a1[("E01", None)][:2] == (D("5050"), D("960"))  # the building's and the cars' charging
    assert a1[("E011", None)][:2] == (D("50"), D("60"))
    assert a1[("H10", None)] == (None, None, "not_reported")
    reasons = {
        (cell.row.code, cell.cost_reason) for form in fill(fields, city)[0].forms for cell in form.rows if cell.row.cost
    }
    assert ("H12", "no_cost") in reasons


def test_a_row_of_every_purpose_with_one_part_unknown_is_null_never_the_sum_of_the_rest(fields: FieldList) -> None:
    """Metered electricity with no bill's cost beside the cars' charging bought for 960 yuan: 电's cost is not 960
    (that is the charging alone); a gasoline bill stating only its cost beside fuel cards: 汽油's quantity is not the
    cards' alone."""
    D = Decimal
    city = Inputs(
        year=2025,
        institutions=[Institution("a1", "甲局", "org-a", True)],
        figures=[
            Figure("a1", "electricity", "building", D("100000"), None, "meters"),
            Figure("a1", "electricity", "vehicle", D("800"), D("960"), "fuel_statements"),
            Figure("a1", "gasoline", "building", None, D("500"), "entries"),
            Figure("a1", "gasoline", "vehicle", D("29.2"), D("250"), "fuel_statements"),
        ],
    )
    [form] = fill(fields, city)
    cells = {cell.row.code: cell for f in form.forms for cell in f.rows}
    assert (cells["E01"].value, cells["E01"].cost, cells["E01"].cost_reason) == (D("100800"), None, "part_missing")
    assert (cells["E05"].value, cells["E05"].reason) == (None, "part_missing")
    assert cells["E05"].cost == D("750")
    assert cells["E011"].cost == D("960")  # the part that is known is still shown on its own row
