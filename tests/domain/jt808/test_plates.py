"""Whether a registration's plate names the registry's vehicle."""

from __future__ import annotations

import pytest

from domain.jt808.plates import names_vehicle, normalised


def test_the_display_dot_spaces_and_case_do_not_matter() -> None:
    assert normalised("赣H·a 1234\x00\x00") == "赣HA1234"
    assert names_vehicle("赣HA1234", 1, plate="赣H·A1234", vin=None)
    assert names_vehicle("赣h a1234", 2, plate="赣H·A1234", vin="LSVAU2180N2183294")


@pytest.mark.parametrize("sent", ["赣HA1235", "赣H", "", "LSVAU2180N2183294"])
def test_another_plate_is_a_mismatch(sent: str) -> None:
    assert not names_vehicle(sent, 1, plate="赣H·A1234", vin="LSVAU2180N2183294")


def test_colour_0_compares_the_vin_when_the_registry_has_one() -> None:
    assert names_vehicle("lsvau2180n2183294", 0, plate="赣H·A1234", vin="LSVAU2180N2183294")
    assert not names_vehicle("LSVAU2180N2183295", 0, plate="赣H·A1234", vin="LSVAU2180N2183294")
    # The plate instead of a VIN with colour 0: not the VIN.
    assert not names_vehicle("赣HA1234", 0, plate="赣H·A1234", vin="LSVAU2180N2183294")
    # No VIN in the registry: nothing to compare with.
    assert names_vehicle("LSVAU2180N2183294", 0, plate="赣H·A1234", vin=None)
