"""Whether a registration (0x0100) names the vehicle whose terminal id its phone number is.

Not a proof of anything (a plate is painted on the car, a VIN stamped on it): a check that a terminal installed in
one vehicle, or configured with another's phone number by mistake, is not registered for the wrong one.
"""

from __future__ import annotations

# JT/T 697.7 plate colour 0: the vehicle has no plate yet, and the field holds its VIN.
UNPLATED = 0


def normalised(plate: str) -> str:
    """A plate as compared: the registry writes 赣H·A1234 for display, terminals send 赣HA1234, some with spaces or
    in lower case; the NUL padding of a fixed-width field is dropped too."""
    return "".join(c for c in plate if c not in "·\u00b7 \x00\t").upper()


def names_vehicle(sent: str, plate_color: int, *, plate: str, vin: str | None) -> bool:
    """Whether the plate (or, with colour 0, the VIN) a terminal sent is the registry's for its vehicle. A VIN
    sent for a vehicle the registry has none for cannot be checked, and is taken."""
    if plate_color == UNPLATED:
        return vin is None or normalised(sent) == normalised(vin)
    return normalised(sent) == normalised(plate)
