"""The Chinese words staff read for the product's codes (类别 学校 for `school`); the codes themselves are what
the API, CSV for systems and English files use. One table per code list, so that a file, a sheet and a page name
each code alike: the words are the vocabulary's (domain/vocabulary/zh.json, which the web pages read too), keyed by
the codes of each list in domain/energy.py, domain/entries.py, domain/vehicles.py, domain/registry.py,
domain/trips.py, domain/supervision.py and domain/energy_events.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, get_args

from domain.energy import CATEGORIES, NO_FIGURE_REASONS, EnergyType, QuotaStatus, SubItem
from domain.energy_events import ENERGY_EVENT_KINDS
from domain.entries import EntryPurpose, EntrySource
from domain.registry import OrganisationKind, SurveyCategory
from domain.supervision import ALERT_KINDS, AreaKind, Level
from domain.trips import DERIVED as DERIVED_CODES
from domain.vehicles import VEHICLE_TYPES, Lifecycle, RetiredHow, VehicleEnergy
from domain.vocabulary import Language, table

__all__ = ["Language", "label"]

CATEGORY: Final = table("category", CATEGORIES)
# The statistics survey's categories (domain/registry.py's SurveyCategory), as its summary columns name them.
SURVEY_CATEGORY: Final = table("survey_category", get_args(SurveyCategory))
# Every energy (`other`: entered only, from bills in kgce: no meter counts it).
ENERGY_TYPE: Final = table("energy", (*get_args(EnergyType), "other"))
ENTRY_SOURCE: Final = table("entry_source", get_args(EntrySource))
ENTRY_PURPOSE: Final = table("entry_purpose", get_args(EntryPurpose))
SUB_ITEM: Final = table("sub_item", get_args(SubItem))
QUOTA_STATUS: Final = table("quota_status", get_args(QuotaStatus))
NO_FIGURE: Final = table("reason", NO_FIGURE_REASONS)
ORGANISATION_KIND: Final = table("organisation_kind", get_args(OrganisationKind))
VEHICLE_ENERGY: Final = table("energy", get_args(VehicleEnergy))
# A vehicle's type is free text: a type not in the list shows as entered (label() gives the code back).
VEHICLE_TYPE: Final = table("vehicle_type", VEHICLE_TYPES)
LIFECYCLE: Final = table("lifecycle", get_args(Lifecycle))
RETIRED_HOW: Final = table("retired_how", get_args(RetiredHow))
# The supervisor's alerts, and the energy events (domain/energy_events.py): the same alerts, about an institution.
ALERT_KIND: Final = table("alert", (*ALERT_KINDS, *ENERGY_EVENT_KINDS))
ALERT_LEVEL: Final = table("level", get_args(Level))
AREA_KIND: Final = table("area.kind", get_args(AreaKind))
# What of a trip was derived from motion rather than reported (domain/trips.py `Derived`).
DERIVED: Final = table("derived", DERIVED_CODES)


def label(labels: Mapping[str, str], code: str, language: Language) -> str:
    """A code as a file in `language` shows it: its Chinese label (the code itself if it has none), or the code."""
    return labels.get(code, code) if language == "zh" else code
