"""The demo data set: valid STIX, consistent references, TLP mix, versions, determinism."""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
import stix2
from stix2patterns.validator import validate as validate_pattern

from telsec.demo.objects import (
    COALITION_COLLECTIONS,
    COLLECTIONS,
    DEMO_ORGANISATIONS,
    GB_OPERATORS,
    REGULATORS,
    demo_objects,
)
from telsec.stix.ids import organisation_identity_id
from telsec.stix.techniques import load_techniques
from telsec.stix.telecom import TELECOM_TYPES, check, check_red_recipients, red_recipients
from telsec.stix.timestamps import parse_timestamp
from telsec.stix.tlp import MARKING_TO_TLP, TLP2_MARKING_IDS, Tlp, tlp_of

NOW = 1_767_225_600_000_000 + 123_456  # 2026-01-01T00:00:00.123456Z
DAY = 86_400_000_000
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TIMESTAMP_PROPERTIES = (
    "created",
    "modified",
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
    "published",
)
SCO_TYPES = TELECOM_TYPES | {"domain-name", "url", "ipv4-addr"}

Obj = dict[str, Any]
Data = dict[str, list[tuple[str, list[Obj]]]]


@cache
def _cached() -> Data:
    return demo_objects(NOW)


@pytest.fixture
def data() -> Data:
    return _cached()


def _all(data: Data) -> Iterator[tuple[str, str, Obj]]:
    for collection, batches in data.items():
        for producer, objects in batches:
            for obj in objects:
                yield collection, producer, obj


def _objects(data: Data) -> list[Obj]:
    return [obj for _, _, obj in _all(data)]


def _is_sco(obj: Obj) -> bool:
    return obj["type"] in SCO_TYPES


def _refs(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(property, id) for every ``*_ref`` / ``*_refs`` value anywhere in ``value``."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _refs(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item, key)
    elif isinstance(value, str) and (key.endswith("_ref") or key.endswith("_refs")):
        yield key, value


# ---------------------------------------------------------------- shape


def test_collections_and_size(data: Data) -> None:
    assert tuple(data) == COLLECTIONS
    assert set(COLLECTIONS) == {
        "coalition-signalling",
        "coalition-fraud",
        "coalition-radio",
        "uk-reports",
    }
    total = len(_objects(data))
    assert 150 <= total <= 300, total
    for collection, batches in data.items():
        assert batches, collection
        assert all(objects for _, objects in batches), collection


def test_organisations() -> None:
    names = [name for name, _ in DEMO_ORGANISATIONS]
    assert len(set(names)) == len(names)
    countries = dict(DEMO_ORGANISATIONS)
    assert {k: countries[k] for k in REGULATORS} == {
        "Ofcom": "GB",
        "FCC": "US",
        "ISED": "CA",
        "ACMA": "AU",
        "NCSC-NZ": "NZ",
    }
    assert all(countries[name] == "GB" for name in GB_OPERATORS)
    assert "Maple Wireless" in countries
    assert all(re.fullmatch("[A-Z]{2}", c) for c in countries.values())


def test_producers_per_api_root(data: Data) -> None:
    for collection in COALITION_COLLECTIONS:
        producers = {p for p, _ in data[collection]}
        assert producers <= set(REGULATORS), collection
    assert {p for p, _ in data["uk-reports"]} <= {"Ofcom", *GB_OPERATORS}
    everyone = {p for batches in data.values() for p, _ in batches}
    assert set(REGULATORS) <= everyone


# ---------------------------------------------------------------- validity


def test_every_object_parses_with_stix2(data: Data) -> None:
    for obj in _objects(data):
        parsed = stix2.parse(obj, allow_custom=True)
        if not isinstance(parsed, dict):
            assert parsed["id"] == obj["id"]


def test_every_object_passes_the_telsec_validator(data: Data) -> None:
    if importlib.util.find_spec("telsec.stix.validate") is None:
        pytest.skip("telsec.stix.validate not present")
    module = importlib.import_module("telsec.stix.validate")
    validate: Callable[[Obj], Any] | None = getattr(module, "validate", None)
    if validate is None:
        pytest.skip("telsec.stix.validate has no validate()")
    for obj in _objects(data):
        validate(obj)


def test_telecom_scos_pass_check(data: Data) -> None:
    seen: Counter[str] = Counter()
    for obj in _objects(data):
        if obj["type"] in TELECOM_TYPES:
            check(obj)
            seen[obj["type"]] += 1
    assert set(seen) == TELECOM_TYPES


def test_standard_sco_ids_are_deterministic(data: Data) -> None:
    classes = {"domain-name": stix2.DomainName, "url": stix2.URL, "ipv4-addr": stix2.IPv4Address}
    for obj in _objects(data):
        if obj["type"] in classes:
            assert classes[obj["type"]](value=obj["value"]).id == obj["id"]


def test_no_attack_patterns_or_markings_included(data: Data) -> None:
    types = {obj["type"] for obj in _objects(data)}
    assert "attack-pattern" not in types
    assert "marking-definition" not in types
    assert "extension-definition" not in types


def test_timestamps(data: Data) -> None:
    for obj in _objects(data):
        for name in TIMESTAMP_PROPERTIES:
            if name not in obj:
                continue
            assert STAMP.match(obj[name]), (obj["id"], name, obj[name])
            if name == "valid_until":
                continue
            us = parse_timestamp(obj[name])
            assert NOW - 14 * DAY <= us < NOW, (obj["id"], name, obj[name])
        if "created" in obj:
            assert obj["created"] <= obj["modified"]
        for first, last in (("first_seen", "last_seen"), ("first_observed", "last_observed")):
            if first in obj and last in obj:
                assert obj[first] <= obj[last], obj["id"]
        if obj["type"] == "indicator" and "valid_until" in obj:
            assert obj["valid_from"] < obj["valid_until"]


def test_timestamps_spread_over_two_weeks(data: Data) -> None:
    created = [parse_timestamp(o["created"]) for o in _objects(data) if "created" in o]
    assert NOW - min(created) > 12 * DAY
    assert NOW - max(created) < 2 * DAY


# ---------------------------------------------------------------- references


def test_every_reference_resolves(data: Data) -> None:
    known = {obj["id"] for obj in _objects(data)}
    orgs = {organisation_identity_id(name) for name, _ in DEMO_ORGANISATIONS}
    markings = set(MARKING_TO_TLP)
    techniques = {t["id"] for t in load_techniques()}
    used_techniques = set()
    for obj in _objects(data):
        for prop, ref in _refs(obj):
            if ref in techniques:
                used_techniques.add(ref)
                continue
            assert ref in known or ref in orgs or ref in markings, (obj["id"], prop, ref)
    assert len(used_techniques) >= 10


def test_nothing_refers_to_a_later_object(data: Data) -> None:
    created: dict[str, str] = {}
    for obj in _objects(data):
        if "created" in obj:
            created.setdefault(obj["id"], obj["created"])
    for obj in _objects(data):
        if "created" not in obj:
            continue
        for prop, ref in _refs(obj):
            if prop != "created_by_ref" and ref in created:
                assert created[ref] <= obj["created"], (obj["id"], prop, ref)


def test_reference_types(data: Data) -> None:
    by_id = {obj["id"]: obj for obj in _objects(data)}
    techniques = {t["id"] for t in load_techniques()}
    for obj in _objects(data):
        if obj["type"] == "sighting":
            assert obj["sighting_of_ref"].startswith("indicator--")
            assert all(
                r.split("--")[0] in ("identity", "location") for r in obj["where_sighted_refs"]
            )
            for ref in obj.get("observed_data_refs", []):
                assert ref.startswith("observed-data--")
            assert 0 <= obj["count"] <= 999_999_999
        if obj["type"] == "observed-data":
            for ref in obj["object_refs"]:
                assert by_id[ref]["type"] in SCO_TYPES
        if obj["type"] == "relationship" and obj["target_ref"].startswith("attack-pattern--"):
            assert obj["target_ref"] in techniques
            assert obj["relationship_type"] in ("indicates", "uses")


def test_expected_links(data: Data) -> None:
    objects = _objects(data)
    by_id = {obj["id"]: obj for obj in objects}
    techniques = {t["id"]: t["external_references"][0]["external_id"] for t in load_techniques()}
    indicated = {
        techniques[r["target_ref"]]
        for r in objects
        if r["type"] == "relationship"
        and r["relationship_type"] == "indicates"
        and r["target_ref"] in techniques
    }
    # SS7 location tracking, SMS interception, false base station.
    assert {"FGT5012.004", "FGT1557.502", "FGT1583.501"} <= indicated
    related = [
        r
        for r in objects
        if r["type"] == "relationship"
        and r["relationship_type"] == "related-to"
        and by_id[r["source_ref"]]["type"] == "campaign"
        and by_id.get(r["target_ref"], {}).get("type") == "indicator"
        and "cell-identity" in by_id[r["target_ref"]]["pattern"]
    ]
    assert related
    types = Counter(obj["type"] for obj in objects)
    for stix_type in ("campaign", "intrusion-set", "report", "note", "location", "observed-data"):
        assert types[stix_type] >= 1, stix_type
    assert types["campaign"] >= 4
    assert types["intrusion-set"] >= 2


def test_patterns_are_valid_and_match_the_observables(data: Data) -> None:
    objects = _objects(data)
    values: set[tuple[str, str, str]] = set()
    for obj in objects:
        if _is_sco(obj):
            for name, value in obj.items():
                if isinstance(value, str):
                    values.add((obj["type"], name, value))
    comparison = re.compile(r"([a-z0-9-]+):([a-z_]+) = '([^']*)'")
    for obj in objects:
        if obj["type"] != "indicator":
            continue
        assert validate_pattern(obj["pattern"], stix_version="2.1", ret_errs=True) == (True, [])
        for stix_type, prop, value in comparison.findall(obj["pattern"]):
            assert (stix_type, prop, value) in values, (obj["id"], obj["pattern"])
    fake = (".example", ".test")
    for obj in objects:
        if obj["type"] == "domain-name":
            assert obj["value"].endswith(fake)
        if obj["type"] == "url":
            host = obj["value"].split("/")[2]
            assert host.endswith(fake)


# ---------------------------------------------------------------- producers and TLP


def test_producers_create_their_objects(data: Data) -> None:
    for collection, batches in data.items():
        seen: set[str] = set()
        for producer, objects in batches:
            org = organisation_identity_id(producer)
            if producer not in seen:
                seen.add(producer)
                identities = [o for o in objects if o["id"] == org]
                assert identities, (collection, producer)
                identity = identities[0]
                assert identity["type"] == "identity"
                assert identity["name"] == producer
                assert identity["identity_class"] == "organization"
                sector = (
                    "government-public-services" if producer in REGULATORS else "telecommunications"
                )
                assert identity["sectors"] == [sector]
            for obj in objects:
                if not _is_sco(obj):
                    assert obj["created_by_ref"] == org, (collection, producer, obj["id"])


def test_no_id_shared_by_two_producers_in_a_collection(data: Data) -> None:
    for collection, batches in data.items():
        owner: dict[str, str] = {}
        for producer, objects in batches:
            for obj in objects:
                if _is_sco(obj):
                    continue
                assert owner.setdefault(obj["id"], producer) == producer, (collection, obj["id"])


def test_tlp_mix(data: Data) -> None:
    levels = Counter(tlp_of(obj) for obj in _objects(data))
    assert levels[Tlp.GREEN] == max(levels.values())
    assert levels[Tlp.AMBER] >= 5
    assert 2 <= levels[Tlp.AMBER_STRICT]
    assert 2 <= levels[Tlp.RED] <= 3
    assert levels[Tlp.CLEAR] >= 3
    assert levels[None] >= 10
    for obj in _objects(data):
        for ref in obj.get("object_marking_refs", []):
            assert ref in TLP2_MARKING_IDS.values()


def test_red_objects_name_recipients(data: Data) -> None:
    orgs = {organisation_identity_id(name) for name, _ in DEMO_ORGANISATIONS}
    for collection, producer, obj in _all(data):
        if tlp_of(obj) is Tlp.RED:
            check_red_recipients(obj)
            recipients = red_recipients(obj)
            assert recipients, obj["id"]
            assert set(recipients) <= orgs
            assert organisation_identity_id(producer) not in recipients
            if collection in COALITION_COLLECTIONS:
                assert set(recipients) <= {organisation_identity_id(r) for r in REGULATORS}
        else:
            assert not red_recipients(obj), obj["id"]


# ---------------------------------------------------------------- versions


def test_versions_and_revocation(data: Data) -> None:
    versions: dict[tuple[str, str], list[Obj]] = {}
    for collection, _, obj in _all(data):
        if "modified" in obj:
            versions.setdefault((collection, obj["id"]), []).append(obj)
    multi = {key: objs for key, objs in versions.items() if len({o["modified"] for o in objs}) > 1}
    assert len({oid for _, oid in multi}) >= 2
    revoked = [o for objs in versions.values() for o in objs if o.get("revoked")]
    assert len(revoked) >= 1
    for objs in versions.values():
        stamps = [o["modified"] for o in objs]
        # Posted in order; a revoked version is the last one.
        assert stamps == sorted(stamps)
        for i, obj in enumerate(objs):
            if obj.get("revoked"):
                assert i == len(objs) - 1
        assert len({o["created"] for o in objs}) == 1


# ---------------------------------------------------------------- determinism


def test_deterministic() -> None:
    first = demo_objects(NOW)
    assert demo_objects(NOW) == first
    later = demo_objects(NOW + 3 * DAY + 17_000)

    def ids(data: Data) -> list[list[list[str]]]:
        return [[[o["id"] for o in objects] for _, objects in data[c]] for c in COLLECTIONS]

    assert ids(later) == ids(first)
    shifted = _cached()
    assert [o.get("created") for o in _objects(later)] != [
        o.get("created") for o in _objects(shifted)
    ]


def test_references_resolve_within_each_collection_in_posting_order(data: Data) -> None:
    orgs = {organisation_identity_id(name) for name, _ in DEMO_ORGANISATIONS}
    techniques = {t["id"] for t in load_techniques()}
    markings = set(MARKING_TO_TLP)
    for collection, batches in data.items():
        posted: set[str] = set()
        for _, objects in batches:
            for obj in objects:
                posted.add(obj["id"])
                for prop, ref in _refs(obj):
                    if ref in orgs or ref in techniques or ref in markings:
                        continue
                    assert ref in posted, (collection, obj["id"], prop, ref)
