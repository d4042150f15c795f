"""Every object a telsec server publishes as its own vocabulary.

The same objects, byte for byte, on every node: all ids are fixed or
deterministic and all timestamps fixed.
"""

from __future__ import annotations

from typing import Any

from telsec.stix.ids import TELSEC_IDENTITY_ID
from telsec.stix.techniques import load_techniques
from telsec.stix.telecom import VOCABULARY_TIMESTAMP, extension_definitions
from telsec.stix.tlp import TLP2_MARKING_IDS, Tlp, all_marking_definitions

__all__ = ["telsec_identity", "vocabulary_objects"]


def telsec_identity() -> dict[str, Any]:
    """The identity that creates telsec's vocabulary objects."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": TELSEC_IDENTITY_ID,
        "created": VOCABULARY_TIMESTAMP,
        "modified": VOCABULARY_TIMESTAMP,
        "name": "telsec",
        "description": "The telsec exchange itself, producer of its vocabulary objects.",
        "identity_class": "system",
        "object_marking_refs": [TLP2_MARKING_IDS[Tlp.CLEAR]],
    }


def vocabulary_objects() -> list[dict[str, Any]]:
    """The vocabulary in dependency order.

    The five TLP 2.0 marking definitions come first, since everything telsec
    publishes itself is marked TLP:CLEAR; then the telsec identity (the
    ``created_by_ref`` of all that follows); the four extension-definitions
    (global-title, cell-identity, sms-sender, red-recipients); and the MITRE
    FiGHT and GSMA MoTIF attack-patterns.
    """
    return [
        *all_marking_definitions(),
        telsec_identity(),
        *extension_definitions(),
        *load_techniques(),
    ]
