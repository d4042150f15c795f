"""FiGHT / MoTIF techniques as attack-patterns, and the published vocabulary."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import stix2
from stix2 import v21

from telsec.stix.ids import TELSEC_IDENTITY_ID
from telsec.stix.techniques import FRAMEWORKS, load_techniques, technique_by_external_id
from telsec.stix.telecom import VOCABULARY_TIMESTAMP, extension_definitions
from telsec.stix.tlp import TLP2_MARKING_IDS, Tlp, all_marking_definitions
from telsec.stix.vocabulary import vocabulary_objects

SHARED_VOCAB = Path(__file__).resolve().parents[3] / "shared" / "data" / "vocab"


def _cluster(data_file: str) -> dict[str, Any]:
    text = resources.files("telsec.stix").joinpath("data", data_file).read_text("utf-8")
    cluster: dict[str, Any] = json.loads(text)
    return cluster


def _primary(obj: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = obj["external_references"][0]
    return ref


@pytest.mark.parametrize("framework", FRAMEWORKS, ids=lambda f: f.source_name)
def test_package_data_is_an_unchanged_copy(framework: Any) -> None:
    shared = SHARED_VOCAB / framework.data_file
    if not shared.exists():
        pytest.skip("shared/data not present (installed package)")
    packaged = resources.files("telsec.stix").joinpath("data", framework.data_file).read_bytes()
    assert hashlib.sha256(packaged).digest() == hashlib.sha256(shared.read_bytes()).digest()


def test_counts_match_the_source_files() -> None:
    techniques = load_techniques()
    by_source = Counter(_primary(t)["source_name"] for t in techniques)
    for framework in FRAMEWORKS:
        values = _cluster(framework.data_file)["values"]
        assert by_source[framework.source_name] == len(values)
    assert by_source == {"mitre-fight": 142, "gsma-motif": 50}
    assert len(techniques) == 192


def test_external_ids_and_ids_unique() -> None:
    techniques = load_techniques()
    ext_ids = [_primary(t)["external_id"] for t in techniques]
    assert len(set(ext_ids)) == len(ext_ids)
    ids = [t["id"] for t in techniques]
    assert len(set(ids)) == len(ids)
    for technique in techniques:
        primary = _primary(technique)
        prefix = {"mitre-fight": "FGT", "gsma-motif": "MOT"}[primary["source_name"]]
        assert primary["external_id"].startswith(prefix)


def test_ids_are_the_misp_uuids() -> None:
    techniques = {_primary(t)["external_id"]: t for t in load_techniques()}
    for framework in FRAMEWORKS:
        for value in _cluster(framework.data_file)["values"]:
            technique = techniques[value["meta"]["external_id"]]
            assert technique["id"] == f"attack-pattern--{uuid.UUID(value['uuid'])}"
            assert technique["name"] == value["value"].strip()


def test_every_technique_valid_under_stix2() -> None:
    for technique in load_techniques():
        parsed = stix2.parse(technique, allow_custom=False)
        assert isinstance(parsed, v21.AttackPattern)
        assert technique["created_by_ref"] == TELSEC_IDENTITY_ID
        assert technique["created"] == technique["modified"] == VOCABULARY_TIMESTAMP
        assert technique["object_marking_refs"] == [TLP2_MARKING_IDS[Tlp.CLEAR]]
        for phase in technique["kill_chain_phases"]:
            assert phase["kill_chain_name"] == _primary(technique)["source_name"]
            assert phase["phase_name"] == phase["phase_name"].lower()
            assert " " not in phase["phase_name"]


def test_kill_chain_phases_match_source_tactics() -> None:
    techniques = {_primary(t)["external_id"]: t for t in load_techniques()}
    for framework in FRAMEWORKS:
        for value in _cluster(framework.data_file)["values"]:
            tactics = [t.split(":", 1)[1].lower() for t in value["meta"]["kill_chain"]]
            phases = [
                p["phase_name"]
                for p in techniques[value["meta"]["external_id"]]["kill_chain_phases"]
            ]
            assert phases == list(dict.fromkeys(tactics))


def test_lookup_by_external_id() -> None:
    fight = technique_by_external_id("FGT5029")
    assert fight is not None
    assert fight["name"] == "Exploit Semi-public Facing Application"
    assert _primary(fight) == {
        "source_name": "mitre-fight",
        "external_id": "FGT5029",
        "url": "https://fight.mitre.org/techniques/FGT5029",
    }
    assert "](/techniques/" not in fight["description"]
    assert "\r" not in fight["description"]
    motif = technique_by_external_id(" mot3001.301 ")
    assert motif is not None
    assert motif["name"] == "Broadcast Channel"
    assert motif["kill_chain_phases"] == [
        {"kill_chain_name": "gsma-motif", "phase_name": "reconnaissance"}
    ]
    assert _primary(motif)["url"].endswith("FS.57-MoTIF-Principles-v1.0.pdf")
    assert technique_by_external_id("T1190") is None
    assert technique_by_external_id("") is None


def test_results_are_copies() -> None:
    first = load_techniques()
    first[0]["name"] = "changed"
    technique = technique_by_external_id(_primary(first[1])["external_id"])
    assert technique is not None
    technique["name"] = "changed too"
    assert load_techniques()[0]["name"] != "changed"
    assert load_techniques()[1]["name"] != "changed too"


def test_vocabulary_objects_in_dependency_order_and_valid() -> None:
    objects = vocabulary_objects()
    types = [o["type"] for o in objects]
    assert types[:5] == ["marking-definition"] * 5
    assert objects[:5] == all_marking_definitions()
    assert objects[5]["id"] == TELSEC_IDENTITY_ID
    assert objects[5]["identity_class"] == "system"
    assert objects[5]["name"] == "telsec"
    assert objects[6:10] == extension_definitions()
    assert types[10:] == ["attack-pattern"] * 192
    ids = [o["id"] for o in objects]
    assert len(set(ids)) == len(ids)
    seen: set[str] = set()
    for obj in objects:
        # everything referenced is published before (except the OASIS TLP 2.0
        # extension-definition, which OASIS publishes)
        for ref in [obj.get("created_by_ref"), *obj.get("object_marking_refs", [])]:
            assert ref is None or ref in seen, (obj["id"], ref)
        seen.add(obj["id"])
        stix2.parse(obj, allow_custom=True)
    assert vocabulary_objects() == objects  # deterministic
