"""What a vehicle is to the fleet: what it runs on, where it is in its life, and what the map shows it doing;
who may drive it."""

from __future__ import annotations

from typing import Final, Literal, get_args

VehicleEnergy = Literal["gasoline", "diesel", "battery_electric", "plug_in_hybrid"]
# New energy (新能源), as the purchase rules count it (at least 30% of each year's purchases, 2024): the energies of
# a vehicle that carries a traction battery.
NEW_ENERGY: Final[frozenset[VehicleEnergy]] = frozenset({"battery_electric", "plug_in_hybrid"})

# Where a vehicle is in its life: in service, in the workshop, or gone for good (auctioned or scrapped).
Lifecycle = Literal["active", "maintenance", "retired"]
RetiredHow = Literal["auctioned", "scrapped"]

# The vehicle types the product names in both languages (车辆类型: 轿车, 中型客车...). A vehicle's type is free text in
# the registry: a type not listed here is shown as it was entered.
VehicleType = Literal["sedan", "suv", "mpv", "minibus", "pickup", "van"]
VEHICLE_TYPES: Final[tuple[VehicleType, ...]] = get_args(VehicleType)

# What a vehicle is doing, as the dispatcher's map shows it: in the workshop; silent longer than the offline
# setting; on a dispatched request (派车, not yet left) or under way on one (in_service, 出车); else available.
LiveState = Literal["available", "dispatched", "in_service", "maintenance", "offline"]
LIVE_STATES: Final[tuple[LiveState, ...]] = get_args(LiveState)

# 准驾车型 of the Chinese driving licence; official cars need C1, mid-size buses B1, large buses A1.
LicenceClass = Literal["A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6", "D", "E", "F", "M", "N", "P"]

# VIN (车架号, ISO 3779 and GB 16735): 17 letters and digits, without I, O and Q, which read as 1 and 0.
VIN_PATTERN: Final = r"^[A-HJ-NPR-Z0-9]{17}$"
