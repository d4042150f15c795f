"""TLP 2.0 marking definitions exactly as OASIS publishes them.

The five extension-based marking-definition objects (cti-stix-common-objects,
``extension-definition-specifications/tlp-2.0``) are reproduced byte-for-byte in
their properties.  The four TLP 1.0 marking definitions predefined by STIX 2.1
are recognised on input and mapped to their TLP 2.0 equivalents (WHITE -> CLEAR).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"


class Tlp(IntEnum):
    """TLP levels ordered from least to most restrictive."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @property
    def label(self) -> str:
        """The lowercase level name used by TLP 2.0 (``amber+strict``)."""
        return _LABELS[self]

    @property
    def display(self) -> str:
        """The level as people write it (``TLP:AMBER+STRICT``)."""
        return "TLP:" + _LABELS[self].upper()

    @property
    def marking_id(self) -> str:
        """The OASIS marking-definition id of this level."""
        return TLP2_MARKING_IDS[self]

    @classmethod
    def parse(cls, text: str) -> Tlp:
        """Parse ``amber+strict``, ``TLP:AMBER+STRICT``, ``amber_strict`` or ``white``."""
        key = text.strip().lower()
        if key.startswith("tlp:"):
            key = key[4:]
        key = key.replace("_", "+").replace("-", "+")
        if key == "white":
            key = "clear"
        for level, label in _LABELS.items():
            if label == key:
                return level
        raise ValueError(
            f"unknown TLP level {text!r}: expected one of clear, green, amber, amber+strict, red"
        )


_LABELS: dict[Tlp, str] = {
    Tlp.CLEAR: "clear",
    Tlp.GREEN: "green",
    Tlp.AMBER: "amber",
    Tlp.AMBER_STRICT: "amber+strict",
    Tlp.RED: "red",
}

TLP2_MARKING_IDS: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# STIX 2.1 section 7.2.1.4: the predefined TLP 1.0 marking definitions.
TLP1_MARKING_IDS: dict[str, Tlp] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Tlp.CLEAR,  # WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Tlp.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Tlp.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Tlp.RED,
}

MARKING_TO_TLP: dict[str, Tlp] = {
    **{mid: level for level, mid in TLP2_MARKING_IDS.items()},
    **TLP1_MARKING_IDS,
}


def marking_definition(level: Tlp) -> dict[str, Any]:
    """The OASIS TLP 2.0 marking-definition object for ``level``."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_MARKING_IDS[level],
        "created": TLP2_CREATED,
        "name": level.display,
        "extensions": {
            TLP2_EXTENSION_ID: {
                "extension_type": "property-extension",
                "tlp_2_0": level.label,
            }
        },
    }


def all_marking_definitions() -> list[dict[str, Any]]:
    """The five TLP 2.0 marking definitions, CLEAR to RED."""
    return [marking_definition(level) for level in Tlp]


def tlp_of(obj: dict[str, Any]) -> Tlp | None:
    """The most restrictive TLP level marked anywhere on ``obj``, or ``None``.

    Object-level (``object_marking_refs``) and granular markings both count: an
    object with a TLP:RED granular marking on one property is handled as RED as
    a whole, since the exchange serves objects, not parts of them.
    """
    found: Tlp | None = None
    refs = obj.get("object_marking_refs")
    if isinstance(refs, list):
        for ref in refs:
            level = MARKING_TO_TLP.get(ref) if isinstance(ref, str) else None
            if level is not None and (found is None or level > found):
                found = level
    granular = obj.get("granular_markings")
    if isinstance(granular, list):
        for marking in granular:
            ref = marking.get("marking_ref") if isinstance(marking, dict) else None
            level = MARKING_TO_TLP.get(ref) if isinstance(ref, str) else None
            if level is not None and (found is None or level > found):
                found = level
    return found
