"""Small builders the analysers share to turn their findings into STIX 2.1.

Ids are random unless a ``namespace`` is given, in which case they derive from
it and a key (the same analysis gives the same objects: loading twice adds
nothing).  Every object carries its TLP marking and, when the producing
organisation is known, its identity as ``created_by_ref``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from telsec.stix.ids import organisation_identity_id, telsec_id
from telsec.stix.techniques import technique_by_external_id
from telsec.stix.timestamps import format_timestamp, now_us
from telsec.stix.tlp import Tlp


@dataclass
class Builder:
    tlp: Tlp
    producer: str | None = None
    namespace: str | None = None
    now: int | None = None

    def __post_init__(self) -> None:
        self.created = format_timestamp(self.now if self.now is not None else now_us())
        self.producer_id = organisation_identity_id(self.producer) if self.producer else None

    def new_id(self, stix_type: str, key: str) -> str:
        if self.namespace:
            return telsec_id(stix_type, f"{self.namespace}/{key}")
        return f"{stix_type}--{uuid.uuid4()}"

    def stable_id(self, stix_type: str, key: str) -> str:
        """An id kept from one analysis to the next when the producer is known."""
        if self.producer:
            return telsec_id(stix_type, f"{self.producer}/{key}")
        return self.new_id(stix_type, key)

    def sdo(self, stix_type: str, stix_id: str, **properties: Any) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "type": stix_type,
            "spec_version": "2.1",
            "id": stix_id,
            "created": self.created,
            "modified": self.created,
            "object_marking_refs": [self.tlp.marking_id],
        }
        if self.producer_id:
            obj["created_by_ref"] = self.producer_id
        obj.update(properties)
        return obj

    def indicates(
        self, indicator_id: str, techniques: Iterable[str], key: str
    ) -> list[dict[str, Any]]:
        """``indicates`` relationships from an indicator to FiGHT/MoTIF attack-patterns."""
        out = []
        for external_id in techniques:
            pattern = technique_by_external_id(external_id)
            if pattern is None:
                continue
            out.append(
                self.sdo(
                    "relationship",
                    self.new_id("relationship", f"{key}/{external_id}"),
                    relationship_type="indicates",
                    source_ref=indicator_id,
                    target_ref=pattern["id"],
                )
            )
        return out

    def bundle(
        self,
        objects: list[dict[str, Any]],
        name: str,
        description: str,
        report_types: list[str],
        key: str,
    ) -> dict[str, Any]:
        """The objects and a report that holds them, as a bundle (empty: no report)."""
        if objects:
            objects = [
                *objects,
                self.sdo(
                    "report",
                    self.new_id("report", key),
                    name=name,
                    description=description,
                    report_types=report_types,
                    published=self.created,
                    object_refs=[o["id"] for o in objects],
                ),
            ]
        return {"type": "bundle", "id": self.new_id("bundle", key), "objects": objects}
