"""MITRE FiGHT and GSMA MoTIF techniques as STIX 2.1 attack-patterns.

Both frameworks are read from the MISP galaxy clusters shipped as package data
in ``telsec/stix/data`` (copied unchanged from MISP/misp-galaxy, CC0 1.0 /
BSD-2-Clause; see ``data/SOURCES.md``).  Each cluster value becomes one
``attack-pattern``:

* ``id`` is ``attack-pattern--<the MISP uuid>`` (MISP's uuids are stable
  UUIDv5s, so every node and every MISP instance agree on them); a value
  without a valid uuid gets ``telsec_id("attack-pattern", "<framework>/<ext id>")``;
* ``name`` and ``description`` come from the value (CRLF turned into LF, and
  FiGHT's site-relative links ``](/techniques/FGT...)`` made absolute);
* the first ``external_references`` entry is ``{source_name: "mitre-fight" |
  "gsma-motif", external_id: "FGT..." | "MOT...", url}``; the value's
  ``refs`` follow as ``{source_name: "reference", description, url}``;
* ``kill_chain_phases`` come from the value's tactics (``fight:Discovery`` ->
  ``{kill_chain_name: "mitre-fight", phase_name: "discovery"}``;
  ``Techniques:Defence-Evasion`` -> ``{"gsma-motif", "defence-evasion"}``);
* ``created_by_ref`` is the telsec identity, ``created``/``modified`` are fixed
  and the object is marked TLP:CLEAR.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from telsec.stix.ids import TELSEC_IDENTITY_ID, telsec_id
from telsec.stix.telecom import VOCABULARY_TIMESTAMP
from telsec.stix.tlp import TLP2_MARKING_IDS, Tlp

__all__ = [
    "FRAMEWORKS",
    "Framework",
    "load_techniques",
    "technique_by_external_id",
]


@dataclass(frozen=True)
class Framework:
    """One technique framework and the MISP galaxy cluster it is read from."""

    source_name: str  # external_references source_name and kill_chain_name
    data_file: str  # file name in telsec/stix/data
    external_id_prefix: str


FRAMEWORKS: Final = (
    Framework("mitre-fight", "mitre-fight-techniques.json", "FGT"),
    Framework("gsma-motif", "gsma-motif.json", "MOT"),
)

_FIGHT_URL: Final = "https://fight.mitre.org/techniques/{}"
_FIGHT_SITE: Final = "https://fight.mitre.org"
_URL_RE: Final = re.compile(r"https?://[^\s<>\"')\]]+")
_MOTIF_PAGE_RE: Final = re.compile(r"page (\d+) of (https?://\S+)")
_TLP_CLEAR_ID: Final = TLP2_MARKING_IDS[Tlp.CLEAR]


def _read_cluster(framework: Framework) -> dict[str, Any]:
    text = resources.files("telsec.stix").joinpath("data", framework.data_file).read_text("utf-8")
    cluster: dict[str, Any] = json.loads(text)
    return cluster


def _attack_pattern_id(framework: Framework, value: dict[str, Any], external_id: str) -> str:
    raw = value.get("uuid")
    if isinstance(raw, str):
        try:
            parsed = uuid.UUID(raw)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.variant == uuid.RFC_4122 and str(parsed) == raw.lower():
            return f"attack-pattern--{parsed}"
    return telsec_id("attack-pattern", f"{framework.source_name}/{external_id}")


def _phase(tactic: str) -> str:
    """``fight:Defense-Evasion`` -> ``defense-evasion``."""
    name = tactic.split(":", 1)[-1].strip().lower()
    return re.sub(r"[\s_]+", "-", name)


def _first_url(text: str) -> str | None:
    match = _URL_RE.search(text)
    return match.group(0).rstrip(".,;") if match else None


def _references(framework: Framework, external_id: str, refs: list[Any]) -> list[dict[str, Any]]:
    primary: dict[str, Any] = {"source_name": framework.source_name, "external_id": external_id}
    rest: list[dict[str, Any]] = []
    if framework.source_name == "mitre-fight":
        primary["url"] = _FIGHT_URL.format(external_id)
    for ref in refs:
        if not isinstance(ref, str) or not ref.strip():
            continue
        text = ref.strip()
        page = _MOTIF_PAGE_RE.fullmatch(text)
        if framework.source_name == "gsma-motif" and page and "url" not in primary:
            # "page 14 of https://.../FS.57-MoTIF-Principles-v1.0.pdf"
            primary["url"] = page.group(2)
            primary["description"] = f"GSMA FS.57 MoTIF Principles, page {page.group(1)}"
            continue
        entry: dict[str, Any] = {"source_name": "reference", "description": text}
        url = _first_url(text)
        if url:
            entry["url"] = url
        rest.append(entry)
    return [primary, *rest]


def _description(framework: Framework, text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if framework.source_name == "mitre-fight":
        text = text.replace("](/", f"]({_FIGHT_SITE}/")
    return text


def _attack_pattern(framework: Framework, value: dict[str, Any]) -> dict[str, Any]:
    meta = value.get("meta") or {}
    external_id = str(meta.get("external_id") or "").strip()
    name = str(value.get("value") or "").strip()
    if not external_id or not name:
        raise ValueError(f"{framework.data_file}: cluster value without external_id or value")
    obj: dict[str, Any] = {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": _attack_pattern_id(framework, value, external_id),
        "created_by_ref": TELSEC_IDENTITY_ID,
        "created": VOCABULARY_TIMESTAMP,
        "modified": VOCABULARY_TIMESTAMP,
        "name": name,
    }
    description = value.get("description")
    if isinstance(description, str) and description.strip():
        obj["description"] = _description(framework, description)
    tactics = meta.get("kill_chain") or []
    phases = list(dict.fromkeys(_phase(t) for t in tactics if isinstance(t, str) and t.strip()))
    if phases:
        obj["kill_chain_phases"] = [
            {"kill_chain_name": framework.source_name, "phase_name": phase} for phase in phases
        ]
    obj["external_references"] = _references(framework, external_id, meta.get("refs") or [])
    obj["object_marking_refs"] = [_TLP_CLEAR_ID]
    return obj


@cache
def _techniques() -> tuple[dict[str, Any], ...]:
    objects: list[dict[str, Any]] = []
    seen: set[str] = set()
    for framework in FRAMEWORKS:
        for value in _read_cluster(framework)["values"]:
            obj = _attack_pattern(framework, value)
            ext_id = obj["external_references"][0]["external_id"]
            if obj["id"] in seen or ext_id in seen:
                raise ValueError(f"{framework.data_file}: duplicate technique {ext_id}")
            seen.update((obj["id"], ext_id))
            objects.append(obj)
    return tuple(objects)


@cache
def _index() -> dict[str, dict[str, Any]]:
    return {obj["external_references"][0]["external_id"].upper(): obj for obj in _techniques()}


def load_techniques() -> list[dict[str, Any]]:
    """All FiGHT then MoTIF techniques as attack-patterns, in source-file order.

    Parsed once per process; each call returns fresh copies the caller may modify.
    """
    return copy.deepcopy(list(_techniques()))


def technique_by_external_id(ext_id: str) -> dict[str, Any] | None:
    """The attack-pattern of ``FGT5003`` / ``MOT1199.301`` (case-insensitive), or ``None``."""
    obj = _index().get(ext_id.strip().upper())
    return copy.deepcopy(obj) if obj is not None else None
