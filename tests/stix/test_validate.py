"""telsec.stix.validate: examples, hostile input, and differential tests against stix2.

The reference verdict is ``stix2.parse(obj, allow_custom=True)``: an object is
valid for stix2 if that call returns without raising.  Our validator must give
the same verdict, except in the deliberate deviations listed in ``DEVIATIONS``,
each with the section of STIX 2.1 (OASIS Standard, Errata 01) that justifies it
and a concrete example in ``DEVIATION_EXAMPLES``.
"""

from __future__ import annotations

import copy
import string
import sys
import uuid
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import stix2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

import telsec.stix
from telsec.stix import validate as v
from telsec.stix.tlp import Tlp, marking_definition
from telsec.stix.validate import StixValidationError, validate

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------
# Deliberate deviations from stix2, each justified by the specification
# ---------------------------------------------------------------------------

DEVIATIONS: dict[str, tuple[str, str]] = {
    "json-types": (
        "STIX 2.1 sections 2.2, 2.3, 2.6, 2.7, 2.10, 2.12, 2.15",
        "stix2 coerces values of the wrong JSON type: str() for any string property, "
        "int('5') / int(5.7) / True for integers, 'true' / 't' / 1 for booleans, '1.5' for "
        "floats, a bare string for a one-item list, a JSON object's keys as a list, a JSON "
        "text or list of pairs for a dictionary, non-string hash values; it also accepts "
        "integers outside the 54-bit range of section 2.10.",
    ),
    "null-or-empty": (
        "STIX 2.1 sections 2.3 and 2.12 (empty dictionaries and lists are prohibited)",
        "stix2 silently drops properties whose value is null or [] and accepts an empty "
        "extensions dictionary; STIX has no null and prohibits empty lists/dictionaries.",
    ),
    "defaulted-required": (
        "STIX 2.1 section 3.2 (common properties table) and 4.7.1 (indicator valid_from)",
        "stix2 fills in a missing id, created, modified, indicator valid_from, and an SCO's "
        "spec_version, and judges an SDO/SRO without spec_version by STIX 2.0 rules; these "
        "properties are required in STIX 2.1.",
    ),
    "common-constraints": (
        "STIX 2.1 section 3.2 (modified, confidence)",
        "stix2 does not check that modified >= created, nor that confidence is in 0..100.",
    ),
    "timestamp-syntax": (
        "STIX 2.1 section 2.16.1 (YYYY-MM-DDTHH:mm:ss[.s+]Z, 1 or more sub-second digits)",
        "stix2 parses with strptime, which accepts one-digit fields and lowercase t/z, and "
        "rejects more than six fraction digits, which the specification allows.",
    ),
    "identifier-syntax": (
        "STIX 2.1 section 2.9 (object-type--UUID, RFC 4122 UUID) and 3.1 (type names)",
        "stix2 hands the UUID text to uuid.UUID(), which also accepts braces, a urn:uuid: "
        "prefix and missing hyphens, and does not check the type part of references.",
    ),
    "unchecked-objects": (
        "STIX 2.1 sections 3.2 (type, spec_version), 8 (a bundle is not a STIX object), "
        "11.2 (custom objects carry the common properties)",
        "with allow_custom=True stix2 returns objects of unknown types, and objects whose "
        "spec_version is not 2.1 or 2.0, without any check, and it parses bundles.",
    ),
    "extension-keys": (
        "STIX 2.1 sections 7.3 (extension-definition ids) and 11.3 (deprecated '-ext' names)",
        "stix2 accepts any key in 'extensions'.",
    ),
    "trailing-newline": (
        "STIX 2.1 sections 2.3, 2.7, 2.8 (allowed characters)",
        "stix2 checks dictionary keys, hash values and hex with re.match('...$'), which "
        "lets a trailing newline through.",
    ),
}

NOW = "2024-05-01T10:00:00.000Z"
LATER = "2024-05-02T10:00:00.000Z"


def _id(t: str) -> str:
    return f"{t}--{uuid.uuid4()}"


IDENTITY_ID = "identity--e5f1b90a-d9b6-40ab-81a9-8a29df4b6b65"
MALWARE_ID = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
INDICATOR_ID = "indicator--e2e1a340-4415-4ba8-9671-f7343fbf0836"
IPV4_ID = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"
GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"


def sdo(t: str, **props: Any) -> dict[str, Any]:
    return {
        "type": t,
        "spec_version": "2.1",
        "id": _id(t),
        "created": NOW,
        "modified": NOW,
        **props,
    }


def sco(t: str, **props: Any) -> dict[str, Any]:
    return {"type": t, "spec_version": "2.1", "id": _id(t), **props}


def stix2_ok(obj: object) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stix2.parse(copy.deepcopy(obj), allow_custom=True)
    except Exception:
        return False
    return True


def ours_ok(obj: object) -> bool:
    try:
        validate(obj)
    except StixValidationError:
        return False
    return True


def reason(obj: object) -> str:
    with pytest.raises(StixValidationError) as info:
        validate(obj)
    return str(info.value)


# ---------------------------------------------------------------------------
# Deviation examples: stix2 and we disagree, on purpose
# ---------------------------------------------------------------------------

IDENT = sdo("identity", name="ACME", identity_class="organization")
IPV4 = {"type": "ipv4-addr", "spec_version": "2.1", "id": IPV4_ID, "value": "198.51.100.3"}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, val in changes.items():
        if val is _DROP:
            out.pop(k, None)
        else:
            out[k] = val
    return out


_DROP = object()

# (deviation, example, our verdict); stix2's verdict is the opposite.
DEVIATION_EXAMPLES: list[tuple[str, dict[str, Any], bool]] = [
    ("json-types", _with(IDENT, name=123), False),
    ("json-types", _with(IDENT, labels="one-label"), False),
    ("json-types", _with(IDENT, revoked="true"), False),
    ("json-types", _with(IDENT, confidence="50"), False),
    ("json-types", _with(IDENT, confidence=50.7), False),
    ("json-types", _with(IPV4, resolves_to_refs=f"mac-addr--{uuid.uuid4()}"), False),
    ("json-types", sco("autonomous-system", number=2**60), False),
    ("json-types", sco("file", name="a", hashes={"x_custom": 5}), False),
    ("json-types", sco("process", environment_variables='{"PATH": "/bin"}'), False),
    ("null-or-empty", _with(IDENT, description=None), False),
    ("null-or-empty", _with(IDENT, labels=[]), False),
    ("null-or-empty", _with(IDENT, extensions={}), False),
    ("null-or-empty", _with(IDENT, x_custom=None), False),
    ("defaulted-required", _with(IDENT, created=_DROP), False),
    ("defaulted-required", _with(IDENT, id=_DROP), False),
    ("defaulted-required", _with(IPV4, id=_DROP), False),
    ("defaulted-required", _with(IDENT, spec_version=_DROP), False),
    (
        "defaulted-required",
        sdo("indicator", pattern="[url:value = 'x']", pattern_type="stix"),
        False,
    ),
    ("common-constraints", _with(IDENT, modified="2024-04-30T10:00:00.000Z"), False),
    ("common-constraints", _with(IDENT, confidence=101), False),
    ("timestamp-syntax", _with(IDENT, created="2024-5-1T10:0:0Z", modified=LATER), False),
    ("timestamp-syntax", _with(IDENT, created="2024-05-01t10:00:00z", modified=LATER), False),
    (
        "timestamp-syntax",
        _with(IDENT, created="2024-05-01T10:00:00.1234567Z", modified=LATER),
        True,
    ),
    ("identifier-syntax", _with(IDENT, id="identity--e5f1b90ad9b640ab81a98a29df4b6b65"), False),
    (
        "identifier-syntax",
        _with(IDENT, created_by_ref="identity--{e5f1b90a-d9b6-40ab-81a9-8a29df4b6b65}"),
        False,
    ),
    (
        "identifier-syntax",
        sdo("note", content="x", object_refs=["Not_A_Type--e5f1b90a-d9b6-40ab-81a9-8a29df4b6b65"]),
        False,
    ),
    ("unchecked-objects", {"type": "x-foo", "id": "not an id"}, False),
    ("unchecked-objects", {"type": "Not A Type!", "id": "x"}, False),
    ("unchecked-objects", _with(IDENT, spec_version="2.2"), False),
    ("unchecked-objects", {"type": "bundle", "id": _id("bundle"), "objects": [IDENT]}, False),
    ("extension-keys", _with(IDENT, extensions={"foo": {"bar": 1}}), False),
    ("trailing-newline", sco("file", hashes={"MD5": "d41d8cd98f00b204e9800998ecf8427e\n"}), False),
    ("trailing-newline", sco("process", environment_variables={"PATH\n": "/bin"}), False),
]


@pytest.mark.parametrize(
    ("deviation", "obj", "ours"),
    DEVIATION_EXAMPLES,
    ids=[f"{d}-{i}" for i, (d, _, _) in enumerate(DEVIATION_EXAMPLES)],
)
def test_deviation_examples(deviation: str, obj: dict[str, Any], ours: bool) -> None:
    assert deviation in DEVIATIONS
    assert ours_ok(obj) is ours
    assert stix2_ok(obj) is not ours, "stix2 now agrees: drop this deviation"


def test_every_deviation_has_an_example() -> None:
    assert {d for d, _, _ in DEVIATION_EXAMPLES} == set(DEVIATIONS)


# ---------------------------------------------------------------------------
# Plain examples, one valid and one broken per type
# ---------------------------------------------------------------------------

PATTERN = (
    "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']"
)

VALID_EXAMPLES: dict[str, dict[str, Any]] = {
    "attack-pattern": sdo(
        "attack-pattern",
        name="Spear Phishing",
        external_references=[{"source_name": "capec", "external_id": "CAPEC-163"}],
        kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
    ),
    "campaign": sdo(
        "campaign",
        name="Green Group Attacks Against Finance",
        first_seen="2016-04-06T20:03:00Z",
        last_seen="2016-05-06T20:03:00.5Z",
    ),
    "course-of-action": sdo("course-of-action", name="Add TCP port 80 Filter Rule"),
    "grouping": sdo(
        "grouping",
        name="The Black Vine Cyberespionage Group",
        context="suspicious-activity",
        object_refs=[INDICATOR_ID, MALWARE_ID, IPV4_ID],
    ),
    "identity": sdo(
        "identity",
        name="John Smith",
        identity_class="individual",
        sectors=["telecommunications"],
        created_by_ref=IDENTITY_ID,
        object_marking_refs=[GREEN],
    ),
    "incident": sdo("incident", name="SS7 location tracking of VIP subscribers"),
    "indicator": sdo(
        "indicator",
        name="File hash for malware variant",
        indicator_types=["malicious-activity"],
        pattern=PATTERN,
        pattern_type="stix",
        valid_from="2016-01-01T00:00:00Z",
        valid_until="2017-01-01T00:00:00Z",
    ),
    "infrastructure": sdo(
        "infrastructure", name="Poison Ivy C2", infrastructure_types=["command-and-control"]
    ),
    "intrusion-set": sdo("intrusion-set", name="Bobcat Breakin", goals=["steal passwords"]),
    "location": sdo("location", latitude=48.8566, longitude=2.3522, precision=100.0),
    "malware": sdo("malware", name="Cryptolocker", is_family=True, malware_types=["ransomware"]),
    "malware-analysis": sdo(
        "malware-analysis",
        product="microsoft",
        result="malicious",
        analysis_sco_refs=[f"file--{uuid.uuid4()}"],
    ),
    "note": sdo("note", content="This note indicates the ...", object_refs=[MALWARE_ID]),
    "observed-data": sdo(
        "observed-data",
        first_observed="2015-12-21T19:00:00Z",
        last_observed="2015-12-21T19:00:00Z",
        number_observed=50,
        object_refs=[IPV4_ID, f"domain-name--{uuid.uuid4()}"],
    ),
    "opinion": sdo("opinion", opinion="strongly-disagree", object_refs=[MALWARE_ID]),
    "report": sdo(
        "report",
        name="The Black Vine Cyberespionage Group",
        published="2016-01-20T17:00:00.000Z",
        report_types=["campaign"],
        object_refs=[INDICATOR_ID, MALWARE_ID],
    ),
    "threat-actor": sdo("threat-actor", name="Evil Org", threat_actor_types=["crime-syndicate"]),
    "tool": sdo("tool", name="VNC", tool_types=["remote-access"]),
    "vulnerability": sdo(
        "vulnerability",
        name="CVE-2016-1234",
        external_references=[{"source_name": "cve", "external_id": "CVE-2016-1234"}],
    ),
    "relationship": sdo(
        "relationship",
        relationship_type="indicates",
        source_ref=INDICATOR_ID,
        target_ref=MALWARE_ID,
    ),
    "sighting": sdo(
        "sighting",
        sighting_of_ref=INDICATOR_ID,
        where_sighted_refs=[IDENTITY_ID],
        count=3,
        first_seen="2015-12-21T19:00:00Z",
        last_seen="2015-12-21T19:00:00Z",
    ),
    "marking-definition": marking_definition(Tlp.AMBER),
    "language-content": sdo(
        "language-content",
        object_ref=MALWARE_ID,
        object_modified=NOW,
        contents={"de": {"name": "Bedrohungsakteur"}},
    ),
    "extension-definition": sdo(
        "extension-definition",
        created_by_ref=IDENTITY_ID,
        name="telsec global title",
        schema="https://example.com/schema.json",
        version="1.0.0",
        extension_types=["new-sco"],
    ),
    "artifact": sco("artifact", mime_type="application/zip", payload_bin="ZXhhbXBsZSBmaWxl"),
    "autonomous-system": sco("autonomous-system", number=15139, name="Slime Industries"),
    "directory": sco("directory", path="C:\\Windows\\System32"),
    "domain-name": sco("domain-name", value="example.com"),
    "email-addr": sco("email-addr", value="john@example.com", display_name="John Doe"),
    "email-message": sco(
        "email-message",
        is_multipart=True,
        subject="Check out this picture",
        body_multipart=[{"content_type": "text/plain", "body": "Cats are funny!"}],
        additional_header_fields={"X-Mailer": "Mutt"},
    ),
    "file": sco(
        "file",
        name="foo.dll",
        size=25536,
        hashes={"SHA-256": "ceafbfd424be2ca4a5f0402cae090dda2fb0526cf521b60b60077c0f622b285a"},
        extensions={"ntfs-ext": {"sid": "1234567"}},
    ),
    "ipv4-addr": IPV4,
    "ipv6-addr": sco("ipv6-addr", value="2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
    "mac-addr": sco("mac-addr", value="d2:fb:49:24:37:18"),
    "mutex": sco("mutex", name="__CLEANSWEEP__"),
    "network-traffic": sco(
        "network-traffic",
        src_ref=IPV4_ID,
        dst_port=53,
        protocols=["ipv4", "udp", "dns"],
        end="2024-01-01T00:00:00Z",
        is_active=False,
        extensions={"socket-ext": {"address_family": "AF_INET", "options": {"SO_TEST": 1}}},
    ),
    "process": sco("process", pid=1221, command_line="./gedit-bin --new-window"),
    "software": sco("software", name="Word", vendor="Microsoft", languages=["eng"]),
    "url": sco("url", value="https://example.com/research/index.html"),
    "user-account": sco("user-account", user_id="1001", account_login="jdoe", is_privileged=False),
    "windows-registry-key": sco(
        "windows-registry-key",
        key="hkey_local_machine\\system\\bar\\foo",
        values=[{"name": "Foo", "data": "qwerty", "data_type": "REG_SZ"}],
    ),
    "x509-certificate": sco(
        "x509-certificate",
        issuer="C=ZA, ST=Western Cape, L=Cape Town, O=Thawte Consulting cc",
        serial_number="36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06",
    ),
}

# One broken variant per type: (changes, fragment of the reason).
BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    "attack-pattern": ({"name": _DROP}, "'name' is required"),
    "campaign": ({"last_seen": "2016-04-06T20:02:59.999Z"}, "'last_seen'"),
    "course-of-action": ({"name": _DROP}, "'name' is required"),
    "grouping": ({"context": _DROP}, "'context' is required"),
    "identity": ({"created_by_ref": MALWARE_ID}, "'created_by_ref' must refer to an identity"),
    "incident": ({"name": _DROP}, "'name' is required"),
    "indicator": ({"pattern": "[file:hashes.'SHA-256' = 'aec0']"}, "not a valid STIX pattern"),
    "infrastructure": ({"name": _DROP}, "'name' is required"),
    "intrusion-set": ({"name": _DROP}, "'name' is required"),
    "location": ({"longitude": _DROP}, "'latitude' and 'longitude'"),
    "malware": ({"name": _DROP}, "'name' is required for malware families"),
    "malware-analysis": ({"product": _DROP}, "'product' is required"),
    "note": ({"object_refs": _DROP}, "'object_refs' is required"),
    "observed-data": ({"number_observed": 0}, "'number_observed'"),
    "opinion": ({"opinion": "maybe"}, "'opinion' must be one of"),
    "report": ({"published": _DROP}, "'published' is required"),
    "threat-actor": ({"name": _DROP}, "'name' is required"),
    "tool": ({"name": _DROP}, "'name' is required"),
    "vulnerability": ({"name": _DROP}, "'name' is required"),
    "relationship": ({"target_ref": GREEN}, "'target_ref' must refer to"),
    "sighting": ({"sighting_of_ref": IPV4_ID}, "'sighting_of_ref' must refer to an SDO"),
    "marking-definition": ({"extensions": _DROP}, "needs 'definition_type' and 'definition'"),
    "language-content": ({"contents": _DROP}, "'contents' is required"),
    "extension-definition": ({"extension_types": ["new-thing"]}, "'extension_types' item 0"),
    "artifact": ({"url": "https://example.com/x.zip"}, "exactly one of 'payload_bin' and 'url'"),
    "autonomous-system": ({"number": "AS15139"}, "'number' must be an integer"),
    "directory": ({"path": _DROP}, "'path' is required"),
    "domain-name": ({"resolves_to_refs": [MALWARE_ID]}, "'resolves_to_refs' item 0"),
    "email-addr": ({"value": _DROP}, "'value' is required"),
    "email-message": ({"body": "plain body"}, "'body' must not be used"),
    "file": ({"name": _DROP, "hashes": _DROP}, "needs at least one of hashes, name"),
    "ipv4-addr": ({"id": "ipv6-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"}, "'id' must be"),
    "ipv6-addr": ({"value": _DROP}, "'value' is required"),
    "mac-addr": ({"value": _DROP}, "'value' is required"),
    "mutex": ({"name": _DROP}, "'name' is required"),
    "network-traffic": ({"is_active": _DROP}, "'end' needs 'is_active' false"),
    "process": ({"pid": _DROP, "command_line": _DROP}, "needs at least one property"),
    "software": ({"name": _DROP}, "'name' is required"),
    "url": ({"value": _DROP}, "'value' is required"),
    "user-account": ({"account_created": "yesterday"}, "'account_created' must be a UTC"),
    "windows-registry-key": ({"values": [{"data_type": "REG_X"}]}, "'values' item 0"),
    "x509-certificate": ({"issuer": _DROP, "serial_number": _DROP}, "needs at least one of"),
}


def test_examples_cover_every_type() -> None:
    expected = set(v._SCHEMAS)
    assert set(VALID_EXAMPLES) == expected
    assert set(BROKEN) == expected


@pytest.mark.parametrize("t", sorted(VALID_EXAMPLES))
def test_valid_example(t: str) -> None:
    obj = VALID_EXAMPLES[t]
    validate(obj)
    assert stix2_ok(obj)


@pytest.mark.parametrize("t", sorted(BROKEN))
def test_broken_example(t: str) -> None:
    changes, fragment = BROKEN[t]
    obj = _with(VALID_EXAMPLES[t], **changes)
    message = reason(obj)
    assert message.startswith(f"{t}: ")
    assert fragment in message
    assert not stix2_ok(obj)


def test_tlp_marking_definitions() -> None:
    for level in Tlp:
        validate(marking_definition(level))
    tlp1 = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": GREEN,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "name": "TLP:GREEN",
        "definition": {"tlp": "green"},
    }
    validate(tlp1)
    assert stix2_ok(tlp1)
    for bad in (
        _with(tlp1, id=_id("marking-definition")),
        _with(tlp1, definition={"tlp": "purple"}),
        _with(tlp1, definition_type="color"),
        _with(tlp1, definition={"tlp": "green", "x_extra": 1}),
    ):
        assert not ours_ok(bad)
        assert not stix2_ok(bad)
    statement = _with(
        tlp1,
        id=_id("marking-definition"),
        definition_type="statement",
        definition={"statement": "Copyright 2024 ACME"},
    )
    validate(statement)
    assert stix2_ok(statement)


def test_not_objects() -> None:
    assert reason([IDENT]) == "a STIX object must be a JSON object, not a list"
    assert reason({"id": IPV4_ID}) == "'type' is required"
    assert "bundle is not a STIX object" in reason(
        {"type": "bundle", "id": _id("bundle"), "objects": []}
    )
    assert "'type' 'x--y'" in reason({"type": "x--y", "id": "x--y--" + str(uuid.uuid4())})
    for bad_type in ("ab", "-abc", "abc-", "Abc", "a" * 251, "1abc", "ab_c"):
        assert not ours_ok({"type": bad_type, "id": f"{bad_type}--{uuid.uuid4()}"})


def test_uuid_rules_match_stix2() -> None:
    base = "e5f1b90a-d9b6-40ab-81a9-8a29df4b6b65"
    for version in "0123456789abcdef":
        for variant in "0123456789abcdef":
            u = base[:14] + version + base[15:19] + variant + base[20:]
            for obj in (_with(IDENT, id=f"identity--{u}"), _with(IPV4, id=f"ipv4-addr--{u}")):
                assert ours_ok(obj) == stix2_ok(obj), u


def test_custom_types_get_common_checks() -> None:
    obj = {
        "type": "x-acme-widget",
        "spec_version": "2.1",
        "id": _id("x-acme-widget"),
        "created": NOW,
        "modified": NOW,
        "color": "red",
        "object_marking_refs": [GREEN],
    }
    validate(obj)
    assert "'confidence'" in reason(_with(obj, confidence=200))
    assert "'created_by_ref'" in reason(_with(obj, created_by_ref=MALWARE_ID))
    assert "'modified'" in reason(_with(obj, modified="2020-01-01T00:00:00Z"))
    assert "'id'" in reason(_with(obj, id=_id("x-other")))
    assert "begin with a-z" in reason(_with(obj, Color="red"))


_TOPLEVEL = {
    f"extension-definition--{uuid.uuid4()}": {"extension_type": "toplevel-property-extension"}
}
AGREEMENT_CASES: list[dict[str, Any]] = [
    # an unregistered toplevel-property-extension defines any extra property
    _with(IDENT, extensions=_TOPLEVEL, Weird=1),
    _with(IDENT, Weird=1),
    _with(IDENT, custom_properties={"x_a": 1}),
    _with(IDENT, custom_properties={"A": 1}),
    _with(IDENT, custom_properties=5),
    # predefined extensions are checked wherever they appear
    _with(IPV4, extensions={"archive-ext": {"contains_refs": [IPV4_ID]}}),
    _with(IPV4, extensions={"archive-ext": {"contains_refs": [f"file--{uuid.uuid4()}"]}}),
    _with(IPV4, extensions={"archive-ext": {"x_c": 1}}),
    _with(IPV4, extensions={"windows-process-ext": {}}),
    sco("process", extensions={"windows-process-ext": {"aslr_enabled": True}}),
    sco("process", extensions={"x-foo-ext": {"a": 1}}),
    sco("process"),
    sco("process", object_marking_refs=[GREEN]),
    sco("network-traffic", src_ref=IPV4_ID, protocols=["tcp"], extensions={"socket-ext": {}}),
    sco(
        "network-traffic",
        src_ref=IPV4_ID,
        protocols=["tcp"],
        extensions={"socket-ext": {"address_family": "AF_INET", "options": {"BAD": 1}}},
    ),
    sco("file", name="x", hashes={"SHA-224": "0" * 55}),
    sco("file", name="x", hashes={"ssdeep": "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"}),
    sco("artifact", url="https://example.com/a.zip", hashes={"MD5": "0" * 32}),
    sco("artifact", payload_bin="not base64!"),
    sco("email-message", is_multipart=False, body_multipart=[{"body": "x"}]),
    sco("email-message", is_multipart=True, body_multipart=[{"content_type": "text/plain"}]),
    sco("x509-certificate", x509_v3_extensions={"key_usage": "x"}),
    sco("windows-registry-key", values=[{"name": "a", "data_type": "REG_SZ"}]),
    _with(
        VALID_EXAMPLES["observed-data"], objects={"0": {"type": "ipv4-addr", "value": "1.2.3.4"}}
    ),
    _with(
        VALID_EXAMPLES["observed-data"],
        object_refs=_DROP,
        objects={"0": {"type": "ipv4-addr", "value": "1.2.3.4"}, "1": {"type": "x-thing"}},
    ),
    _with(
        VALID_EXAMPLES["observed-data"],
        object_refs=_DROP,
        objects={"0": {"type": "ipv4-addr", "resolves_to_refs": [IPV4_ID]}},
    ),
    _with(VALID_EXAMPLES["indicator"], pattern_type="snort", pattern="alert tcp any any"),
    _with(VALID_EXAMPLES["location"], latitude=_DROP, longitude=_DROP, precision=_DROP, region="x"),
    _with(VALID_EXAMPLES["location"], latitude=_DROP, longitude=_DROP, region="x"),
    _with(VALID_EXAMPLES["malware"], is_family=False, name=_DROP),
    _with(VALID_EXAMPLES["sighting"], sighting_of_ref=f"x-custom-sdo--{uuid.uuid4()}"),
    _with(VALID_EXAMPLES["sighting"], sighting_of_ref=f"relationship--{uuid.uuid4()}"),
    _with(VALID_EXAMPLES["relationship"], source_ref=f"x-custom--{uuid.uuid4()}"),
    _with(VALID_EXAMPLES["malware-analysis"], sample_ref=f"identity--{uuid.uuid4()}"),
    _with(VALID_EXAMPLES["malware-analysis"], sample_ref=f"x-blob--{uuid.uuid4()}"),
]


@pytest.mark.parametrize("obj", AGREEMENT_CASES, ids=range(len(AGREEMENT_CASES)))
def test_agrees_with_stix2_on_corner_cases(obj: dict[str, Any]) -> None:
    assert ours_ok(obj) == stix2_ok(obj)


# ---------------------------------------------------------------------------
# The telecom hook
# ---------------------------------------------------------------------------


def test_telecom_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    def check(obj: dict[str, Any]) -> None:
        if obj.get("number") != "+441234":
            raise ValueError("'number' must be +441234")

    monkeypatch.setattr(v, "_telecom", (frozenset({"x-fake-title"}), check))
    obj = sco("x-fake-title", number="+441234")
    validate(obj)
    assert reason(_with(obj, number="0")) == "x-fake-title: 'number' must be +441234"
    validate(sco("x-other-thing", number="0"))


def test_validate_works_without_telecom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v, "_telecom", v._UNLOADED)
    monkeypatch.setitem(sys.modules, "telsec.stix.telecom", None)  # import -> ImportError
    monkeypatch.delattr(telsec.stix, "telecom", raising=False)
    validate(IDENT)
    validate(sco("global-title", value="x"))
    assert v._telecom is None


# ---------------------------------------------------------------------------
# Hostile input: only StixValidationError, ever
# ---------------------------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": "x"}
    for _ in range(depth):
        node = {"a": node}
    return node


def _cyclic() -> dict[str, Any]:
    node: dict[str, Any] = {"a": 1}
    node["self"] = node
    return node


HOSTILE_VALUES: list[Any] = [
    None,
    0,
    -1,
    2**200,
    1.5,
    float("nan"),
    float("inf"),
    True,
    "",
    "x" * 1_000_000,
    "\x00",
    "\ud800",
    [],
    [None],
    [[[]]],
    {},
    {1: "x"},
    {None: None},
    {"": ""},
    _nested(5000),
    _cyclic(),
    ["x"] * 10000,
    {"tlp": "red"},
    {"source_name": "x"},
    object(),
]


def test_hostile_values_in_every_property() -> None:
    for t, example in VALID_EXAMPLES.items():
        keys = [*example, "granular_markings", "extensions", "objects", "definition", "x_custom"]
        for key in keys:
            for value in HOSTILE_VALUES:
                obj = dict(example)
                obj[key] = value
                try:
                    validate(obj)
                except StixValidationError:
                    pass


def test_hostile_containers() -> None:
    for obj in (
        None,
        "identity",
        42,
        [],
        {},
        {1: 2},
        {"type": None},
        {"type": ["identity"]},
        {"type": "identity"},
        {"type": "x" * 100_000, "id": "x"},
        {"type": "identity", **{f"x_{i}": i for i in range(10000)}},
        _with(IDENT, granular_markings=[{"marking_ref": GREEN, "selectors": ["a." * 5000 + "b"]}]),
        _with(IDENT, **{"x_deep": _nested(5000)}),
        _with(
            IDENT, granular_markings=[{"marking_ref": GREEN, "selectors": ["x_deep" + ".a" * 4000]}]
        )
        | {"x_deep": _nested(5000)},
        _with(IDENT, extensions={f"extension-definition--{uuid.uuid4()}": _nested(3000)}),
        sdo("indicator", pattern="[" * 3000, pattern_type="stix", valid_from=NOW),
        sdo(
            "indicator",
            pattern="(" * 200 + "[a:b = 1]" + ")" * 200,
            pattern_type="stix",
            valid_from=NOW,
        ),
    ):
        try:
            validate(obj)
        except StixValidationError:
            pass


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@SETTINGS
@given(st.sampled_from(sorted(VALID_EXAMPLES)), st.data())
def test_random_json_in_random_properties(t: str, data: st.DataObject) -> None:
    obj = copy.deepcopy(VALID_EXAMPLES[t])
    keys = sorted({*obj, "granular_markings", "extensions", "created_by_ref", "x_custom"})
    for key in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3)):
        obj[key] = data.draw(JSON_VALUES)
    try:
        validate(obj)
    except StixValidationError:
        pass


# ---------------------------------------------------------------------------
# Indicator patterns: the fast path never accepts what the parser rejects
# ---------------------------------------------------------------------------


def test_fast_path_recognises_common_patterns() -> None:
    for pattern in (
        "[ipv4-addr:value = '10.0.0.1']",
        PATTERN,
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
        "[domain-name:value = 'x' OR url:value = 'y']",
        "[network-traffic:dst_port = 443 AND network-traffic:src_ref.value = '10.0.0.1']",
        "[email-addr:value != 'a\\'b@example.com']",
    ):
        assert v._FAST_PATTERN_RE.fullmatch(pattern), pattern
        assert run_validator(pattern, "2.1") == []


# The fast path's own language, with at most three comparisons so that each
# example stays small enough for the (slow) ANTLR parser.
FAST_PATTERNS = st.from_regex(
    r"\[ ?" + v._COMPARISON + r"(?: (?:AND|OR) " + v._COMPARISON + r"){0,2} ?\]",
    fullmatch=True,
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(FAST_PATTERNS)
def test_fast_path_only_accepts_valid_patterns(pattern: str) -> None:
    assert v._FAST_PATTERN_RE.fullmatch(pattern)
    assert run_validator(pattern, "2.1") == []


PATTERN_ALPHABET = string.ascii_letters + string.digits + " '\\[]()-_.:=!<>*,0xX\n\t"


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(FAST_PATTERNS, st.data())
def test_fast_path_near_misses(pattern: str, data: st.DataObject) -> None:
    """Mutate accepted patterns; whatever the fast path still accepts must parse."""
    chars = list(pattern)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(chars)))
        op = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        c = data.draw(st.sampled_from(PATTERN_ALPHABET))
        if op == "insert":
            chars.insert(i, c)
        elif i < len(chars):
            if op == "delete":
                del chars[i]
            else:
                chars[i] = c
    mutated = "".join(chars)
    if v._FAST_PATTERN_RE.fullmatch(mutated):
        assert run_validator(mutated, "2.1") == []


def test_slow_path_patterns_match_stix2() -> None:
    for pattern, valid in (
        ("[file:name = 'x'] FOLLOWEDBY [file:name = 'y'] WITHIN 10 SECONDS", True),
        ("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", True),
        ("[file:name = 'x'] REPEATS 2 TIMES REPEATS 3 TIMES", False),
        ("[file:hashes.MD5 = 'nothex']", False),
        ("ipv4-addr:value = '1.2.3.4'", False),
        ("[ipv4-addr:value = ]", False),
        ("", False),
    ):
        obj = sdo("indicator", pattern=pattern, pattern_type="stix", valid_from=NOW)
        assert ours_ok(obj) is valid, pattern
        assert stix2_ok(obj) is valid, pattern
    obj = sdo("indicator", pattern="[a:b = 'c']", pattern_type="stix", valid_from=NOW)
    for version in ("2.0", "2.1", "9.9"):
        obj["pattern_version"] = version
        assert ours_ok(obj) == stix2_ok(obj)


# ---------------------------------------------------------------------------
# Differential tests: valid objects and their mutations, against stix2
# ---------------------------------------------------------------------------

TEXT = st.text(min_size=1, max_size=12)
WORD = st.from_regex(r"[a-z][a-z0-9-]{2,12}", fullmatch=True)
UINT = st.integers(0, 2**31)
HEX64 = st.from_regex(r"[0-9a-f]{64}", fullmatch=True)
MD5 = st.from_regex(r"[0-9a-f]{32}", fullmatch=True)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    dt = draw(st.datetimes(datetime(1990, 1, 1), datetime(2035, 12, 31)))
    digits = draw(st.integers(0, 6))
    frac = "." + f"{dt.microsecond:06d}"[:digits] if digits else ""
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def ref(*types: str) -> st.SearchStrategy[str]:
    return st.builds(lambda t, u: f"{t}--{u}", st.sampled_from(types), st.uuids(version=4))


def refs(*types: str) -> st.SearchStrategy[list[str]]:
    return st.lists(ref(*types), min_size=1, max_size=3)


TS = timestamps()
STRS = st.lists(TEXT, min_size=1, max_size=3)
SDO_TYPES = [
    "attack-pattern",
    "campaign",
    "identity",
    "indicator",
    "malware",
    "threat-actor",
    "tool",
]
SCO_TYPES = ["ipv4-addr", "domain-name", "file", "url", "artifact", "process"]

EXTERNAL_REFERENCE = st.fixed_dictionaries(
    {"source_name": TEXT},
    optional={
        "description": TEXT,
        "url": TEXT,
        "external_id": TEXT,
        "hashes": st.fixed_dictionaries({"SHA-256": HEX64}),
    },
).filter(lambda r: bool({"description", "url", "external_id"} & r.keys()))
KILL_CHAIN = st.fixed_dictionaries({"kill_chain_name": WORD, "phase_name": WORD})
SIMPLE_PATTERNS = st.one_of(
    st.builds("[ipv4-addr:value = '{}']".format, st.ip_addresses(v=4).map(str)),
    st.builds("[domain-name:value = '{}' OR url:value = '{}']".format, WORD, WORD),
    st.builds("[file:hashes.'SHA-256' = '{}']".format, HEX64),
    st.builds("[file:hashes.MD5 = '{}']".format, MD5),
    st.sampled_from(
        [
            "[file:name = 'a.exe'] FOLLOWEDBY [file:name = 'b.exe'] WITHIN 60 SECONDS",
            "[network-traffic:dst_port > 1024 AND network-traffic:protocols[*] = 'tcp']",
            "([ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value = '5.6.7.8']) REPEATS 2 TIMES",
            "[x-telecom-gt:value MATCHES '^44']",
            "[user-account:account_login LIKE 'adm%']",
        ]
    ),
)

# Per type: required properties, optional properties (both strategies).
SDO_SPECS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "attack-pattern": (
        {"name": TEXT},
        {
            "description": TEXT,
            "aliases": STRS,
            "kill_chain_phases": st.lists(KILL_CHAIN, min_size=1, max_size=2),
        },
    ),
    "campaign": (
        {"name": TEXT},
        {
            "description": TEXT,
            "aliases": STRS,
            "first_seen": TS,
            "last_seen": TS,
            "objective": TEXT,
        },
    ),
    "course-of-action": ({"name": TEXT}, {"description": TEXT}),
    "grouping": (
        {"context": WORD, "object_refs": refs("indicator", "ipv4-addr", "relationship", "x-foo")},
        {"name": TEXT, "description": TEXT},
    ),
    "identity": (
        {"name": TEXT},
        {
            "description": TEXT,
            "roles": STRS,
            "identity_class": WORD,
            "sectors": st.lists(WORD, min_size=1, max_size=2),
            "contact_information": TEXT,
        },
    ),
    "incident": ({"name": TEXT}, {"description": TEXT}),
    "indicator": (
        {"pattern": SIMPLE_PATTERNS, "pattern_type": st.just("stix"), "valid_from": TS},
        {
            "name": TEXT,
            "description": TEXT,
            "indicator_types": st.lists(WORD, min_size=1, max_size=2),
            "pattern_version": st.just("2.1"),
            "valid_until": TS,
            "kill_chain_phases": st.lists(KILL_CHAIN, min_size=1, max_size=2),
        },
    ),
    "infrastructure": (
        {"name": TEXT},
        {"infrastructure_types": STRS, "aliases": STRS, "first_seen": TS, "last_seen": TS},
    ),
    "intrusion-set": (
        {"name": TEXT},
        {
            "aliases": STRS,
            "goals": STRS,
            "resource_level": WORD,
            "primary_motivation": WORD,
            "secondary_motivations": STRS,
            "first_seen": TS,
            "last_seen": TS,
        },
    ),
    "location": (
        {"region": WORD},
        {"country": st.sampled_from(["ca", "de", "gb"]), "city": TEXT},
    ),
    "malware": (
        {"is_family": st.just(False)},
        {
            "name": TEXT,
            "malware_types": STRS,
            "aliases": STRS,
            "first_seen": TS,
            "last_seen": TS,
            "operating_system_refs": refs("software"),
            "sample_refs": refs("file", "artifact"),
            "capabilities": STRS,
        },
    ),
    "malware-analysis": (
        {"product": TEXT, "result": st.sampled_from(["malicious", "benign", "unknown"])},
        {
            "version": TEXT,
            "host_vm_ref": ref("software"),
            "analysis_sco_refs": refs("file", "ipv4-addr", "x-foo"),
            "submitted": TS,
            "modules": STRS,
        },
    ),
    "note": (
        {"content": TEXT, "object_refs": refs("malware", "ipv4-addr")},
        {"abstract": TEXT, "authors": STRS},
    ),
    "observed-data": (
        {
            "first_observed": TS,
            "last_observed": TS,
            "number_observed": st.integers(1, 999_999_999),
            "object_refs": refs("ipv4-addr", "file", "relationship", "x-foo"),
        },
        {},
    ),
    "opinion": (
        {
            "opinion": st.sampled_from(
                ["strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"]
            ),
            "object_refs": refs("report", "indicator"),
        },
        {"explanation": TEXT, "authors": STRS},
    ),
    "report": (
        {"name": TEXT, "published": TS, "object_refs": refs("indicator", "malware", "ipv4-addr")},
        {"description": TEXT, "report_types": STRS},
    ),
    "threat-actor": (
        {"name": TEXT},
        {
            "threat_actor_types": STRS,
            "aliases": STRS,
            "roles": STRS,
            "goals": STRS,
            "sophistication": WORD,
            "resource_level": WORD,
            "primary_motivation": WORD,
            "personal_motivations": STRS,
            "first_seen": TS,
            "last_seen": TS,
        },
    ),
    "tool": ({"name": TEXT}, {"tool_types": STRS, "aliases": STRS, "tool_version": TEXT}),
    "vulnerability": ({"name": TEXT}, {"description": TEXT}),
    "relationship": (
        {
            "relationship_type": WORD,
            "source_ref": ref(*SDO_TYPES),
            "target_ref": ref(*SDO_TYPES, *SCO_TYPES, "x-foo"),
        },
        {"description": TEXT, "start_time": TS, "stop_time": TS},
    ),
    "sighting": (
        {"sighting_of_ref": ref("indicator", "malware", "x-foo")},
        {
            "description": TEXT,
            "first_seen": TS,
            "last_seen": TS,
            "count": st.integers(0, 999_999_999),
            "observed_data_refs": refs("observed-data"),
            "where_sighted_refs": refs("identity", "location"),
            "summary": st.booleans(),
        },
    ),
    "language-content": (
        {"object_ref": ref(*SDO_TYPES), "contents": st.just({"de": {"name": "Name"}})},
        {"object_modified": TS},
    ),
    "extension-definition": (
        {
            "created_by_ref": ref("identity"),
            "name": TEXT,
            "schema": TEXT,
            "version": st.just("1.0"),
            "extension_types": st.lists(
                st.sampled_from(["new-sdo", "new-sco", "property-extension"]),
                min_size=1,
                max_size=2,
            ),
        },
        {"description": TEXT, "extension_properties": STRS},
    ),
}
SCO_SPECS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "artifact": (
        {"payload_bin": st.just("ZXhhbXBsZQ==")},
        {"mime_type": TEXT, "decryption_key": TEXT},
    ),
    "autonomous-system": ({"number": UINT}, {"name": TEXT, "rir": TEXT}),
    "directory": (
        {"path": TEXT},
        {"path_enc": WORD, "ctime": TS, "contains_refs": refs("file", "directory")},
    ),
    "domain-name": ({"value": TEXT}, {"resolves_to_refs": refs("ipv4-addr", "ipv6-addr")}),
    "email-addr": ({"value": TEXT}, {"display_name": TEXT, "belongs_to_ref": ref("user-account")}),
    "email-message": (
        {"is_multipart": st.just(False)},
        {
            "subject": TEXT,
            "body": TEXT,
            "date": TS,
            "from_ref": ref("email-addr"),
            "to_refs": refs("email-addr"),
            "received_lines": STRS,
            "additional_header_fields": st.just({"X-Mailer": "mutt"}),
        },
    ),
    "file": (
        {"name": TEXT},
        {
            "hashes": st.fixed_dictionaries({"MD5": MD5}, optional={"SHA-256": HEX64}),
            "size": UINT,
            "mime_type": TEXT,
            "mtime": TS,
            "parent_directory_ref": ref("directory"),
            "content_ref": ref("artifact"),
        },
    ),
    "ipv4-addr": (
        {"value": st.ip_addresses(v=4).map(str)},
        {"resolves_to_refs": refs("mac-addr"), "belongs_to_refs": refs("autonomous-system")},
    ),
    "ipv6-addr": ({"value": st.ip_addresses(v=6).map(str)}, {"resolves_to_refs": refs("mac-addr")}),
    "mac-addr": ({"value": st.just("d2:fb:49:24:37:18")}, {}),
    "mutex": ({"name": TEXT}, {}),
    "network-traffic": (
        {
            "protocols": st.lists(WORD, min_size=1, max_size=3),
            "src_ref": ref("ipv4-addr", "domain-name"),
        },
        {
            "dst_ref": ref("ipv6-addr", "mac-addr"),
            "src_port": st.integers(0, 65535),
            "dst_port": st.integers(0, 65535),
            "src_byte_count": UINT,
            "start": TS,
        },
    ),
    "process": (
        {"pid": UINT},
        {
            "cwd": TEXT,
            "command_line": TEXT,
            "created_time": TS,
            "image_ref": ref("file"),
            "child_refs": refs("process"),
        },
    ),
    "software": ({"name": TEXT}, {"cpe": TEXT, "languages": STRS, "vendor": TEXT, "version": TEXT}),
    "url": ({"value": TEXT}, {}),
    "user-account": (
        {"user_id": TEXT},
        {
            "account_login": TEXT,
            "account_type": WORD,
            "is_privileged": st.booleans(),
            "account_created": TS,
        },
    ),
    "windows-registry-key": ({"key": TEXT}, {"number_of_subkeys": UINT, "modified_time": TS}),
    "x509-certificate": (
        {"serial_number": TEXT},
        {"issuer": TEXT, "subject_public_key_exponent": UINT},
    ),
}

# The JSON kind of every property the generators produce (for mutations).
KINDS: dict[str, str] = {
    "created": "ts",
    "modified": "ts",
    "first_seen": "ts",
    "last_seen": "ts",
    "valid_from": "ts",
    "valid_until": "ts",
    "published": "ts",
    "first_observed": "ts",
    "last_observed": "ts",
    "start_time": "ts",
    "stop_time": "ts",
    "submitted": "ts",
    "object_modified": "ts",
    "ctime": "ts",
    "mtime": "ts",
    "date": "ts",
    "start": "ts",
    "created_time": "ts",
    "account_created": "ts",
    "modified_time": "ts",
    "revoked": "bool",
    "is_family": "bool",
    "summary": "bool",
    "is_multipart": "bool",
    "is_privileged": "bool",
    "defanged": "bool",
    "confidence": "int",
    "number_observed": "int",
    "count": "int",
    "number": "int",
    "size": "int",
    "src_port": "int",
    "dst_port": "int",
    "src_byte_count": "int",
    "pid": "int",
    "number_of_subkeys": "int",
    "subject_public_key_exponent": "int",
    "latitude": "float",
    "longitude": "float",
    "precision": "float",
    "created_by_ref": "ref",
    "source_ref": "ref",
    "target_ref": "ref",
    "sighting_of_ref": "ref",
    "object_ref": "ref",
    "host_vm_ref": "ref",
    "belongs_to_ref": "ref",
    "from_ref": "ref",
    "parent_directory_ref": "ref",
    "content_ref": "ref",
    "src_ref": "ref",
    "dst_ref": "ref",
    "image_ref": "ref",
    "object_refs": "refs",
    "object_marking_refs": "refs",
    "observed_data_refs": "refs",
    "where_sighted_refs": "refs",
    "operating_system_refs": "refs",
    "sample_refs": "refs",
    "analysis_sco_refs": "refs",
    "contains_refs": "refs",
    "resolves_to_refs": "refs",
    "belongs_to_refs": "refs",
    "to_refs": "refs",
    "child_refs": "refs",
    "labels": "strs",
    "aliases": "strs",
    "roles": "strs",
    "sectors": "strs",
    "goals": "strs",
    "indicator_types": "strs",
    "infrastructure_types": "strs",
    "malware_types": "strs",
    "capabilities": "strs",
    "modules": "strs",
    "authors": "strs",
    "report_types": "strs",
    "threat_actor_types": "strs",
    "secondary_motivations": "strs",
    "personal_motivations": "strs",
    "tool_types": "strs",
    "extension_properties": "strs",
    "received_lines": "strs",
    "languages": "strs",
    "protocols": "strs",
    "contents": "dict",
    "additional_header_fields": "dict",
    "hashes": "hashes",
    "external_references": "objlist",
    "kill_chain_phases": "objlist",
    "granular_markings": "objlist",
    "opinion": "enum",
    "extension_types": "enums",
}
# Values stix2 rejects too (no coercion applies) and values stix2 coerces.
NONCOERCIBLE: dict[str, list[Any]] = {
    "ts": [123, True, {"a": 1}, ["2020-01-01T00:00:00Z"]],
    "bool": ["yes", 2, {"a": 1}, [True]],
    "int": ["abc", "1.5", {"a": 1}, [1]],
    "float": ["abc", {"a": 1}, [1.0]],
    "ref": [123, True, {"a": 1}, ["identity--e5f1b90a-d9b6-40ab-81a9-8a29df4b6b65"]],
    "refs": [123, True, {"a": 1}],
    "strs": [123, True],
    "dict": [123, "abc", [1]],
    "hashes": [123, "abc", [1]],
    "objlist": ["abc", 123, {"source_name": "x", "url": "y"}],
    "enum": [123, {"a": 1}],
    "enums": [123, True],
    "str": [],
}
COERCIBLE: dict[str, list[Any]] = {
    "str": [123, True, {"a": 1}, ["x"]],
    "bool": ["true", "F", 1, 0],
    "int": ["5", 5.0, True],
    "float": ["1.5", True],
    "strs": ["one-string"],
    "refs": [IPV4_ID],
    "dict": ['{"a": 1}', [["a", 1]]],
}

# Required properties per type, and which of them stix2 fills in itself.
DEFAULTED = {"id", "created", "modified", "spec_version", "valid_from"}
REQUIRED: dict[str, set[str]] = {
    **{t: {"id", "spec_version", "created", "modified", *req} for t, (req, _) in SDO_SPECS.items()},
    **{t: {"id", *req} for t, (req, _) in SCO_SPECS.items()},
}
for _t in (
    "location",
    "malware-analysis",
    "artifact",
    "process",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
    "file",
):
    REQUIRED[_t] -= set(SDO_SPECS.get(_t, SCO_SPECS.get(_t, ({}, {})))[0])
REQUIRED["malware"] = {"id", "spec_version", "created", "modified", "is_family"}
REQUIRED["network-traffic"] = {"id", "protocols"}

# Reference properties and a type each must not accept.
BAD_REF_TYPE: dict[str, str] = {
    "created_by_ref": "malware",
    "object_marking_refs": "identity",
    "sighting_of_ref": "ipv4-addr",
    "source_ref": "marking-definition",
    "target_ref": "sighting",
    "observed_data_refs": "indicator",
    "where_sighted_refs": "malware",
    "operating_system_refs": "file",
    "sample_refs": "software",
    "host_vm_ref": "file",
    "analysis_sco_refs": "identity",
    "contains_refs": "url",
    "resolves_to_refs": "url",
    "belongs_to_refs": "ipv4-addr",
    "belongs_to_ref": "email-addr",
    "from_ref": "url",
    "to_refs": "url",
    "parent_directory_ref": "file",
    "content_ref": "file",
    "src_ref": "url",
    "dst_ref": "url",
    "image_ref": "process",
    "child_refs": "file",
}
# (property, out-of-range value, deviation or None)
OUT_OF_RANGE: list[tuple[str, Any, str | None]] = [
    ("confidence", 101, "common-constraints"),
    ("confidence", -1, "common-constraints"),
    ("number_observed", 0, None),
    ("number_observed", 1_000_000_000, None),
    ("count", -1, None),
    ("count", 1_000_000_000, None),
    ("src_port", 65536, None),
    ("dst_port", -1, None),
    ("size", -1, None),
    ("latitude", 90.5, None),
    ("longitude", -180.5, None),
    ("precision", -0.1, None),
]


def _fix_order(obj: dict[str, Any], first: str, last: str, strict: bool) -> None:
    if first in obj and last in obj:
        a, b = obj[first], obj[last]
        ka, kb = v._ts_key(a), v._ts_key(b)
        if kb < ka:
            obj[first], obj[last] = b, a
        elif strict and ka == kb:
            del obj[last]


ORDERED = [
    ("created", "modified", False),
    ("first_seen", "last_seen", False),
    ("first_observed", "last_observed", False),
    ("valid_from", "valid_until", True),
    ("start_time", "stop_time", True),
]

CUSTOM_VALUES = st.one_of(TEXT, st.integers(-1000, 1000), st.booleans(), STRS, st.just({"k": "v"}))


@st.composite
def valid_objects(draw: st.DrawFn) -> dict[str, Any]:
    t = draw(st.sampled_from(sorted([*SDO_SPECS, *SCO_SPECS])))
    is_sdo = t in SDO_SPECS
    required, optional = (SDO_SPECS if is_sdo else SCO_SPECS)[t]
    obj: dict[str, Any] = {"type": t, "id": f"{t}--{draw(st.uuids(version=4))}"}
    if is_sdo:
        obj.update(spec_version="2.1", created=draw(TS), modified=draw(TS))
        common: dict[str, Any] = {
            "created_by_ref": ref("identity"),
            "revoked": st.booleans(),
            "labels": STRS,
            "external_references": st.lists(EXTERNAL_REFERENCE, min_size=1, max_size=2),
            "object_marking_refs": st.just([GREEN]),
        }
        if t not in ("extension-definition",):
            common["confidence"] = st.integers(0, 100)
        if t not in ("language-content", "extension-definition"):
            common["lang"] = st.sampled_from(["en", "de", "fr"])
    else:
        if draw(st.booleans()):
            obj["spec_version"] = "2.1"
        common = {"defanged": st.booleans(), "object_marking_refs": st.just([GREEN])}
    extra = {k: strategy for k, strategy in common.items() if k not in required}
    obj.update(draw(st.fixed_dictionaries(required, optional={**optional, **extra})))
    for first, last, strict in ORDERED:
        _fix_order(obj, first, last, strict)
    for name, value in draw(
        st.dictionaries(
            st.from_regex(r"x_[a-z0-9_]{1,10}", fullmatch=True), CUSTOM_VALUES, max_size=2
        )
    ).items():
        obj[name] = value
    if t != "extension-definition" and draw(st.booleans()):
        obj["extensions"] = {
            f"extension-definition--{draw(st.uuids(version=4))}": {
                "extension_type": "property-extension",
                "rank": draw(st.integers(0, 10)),
            }
        }
    selectable = sorted(
        k
        for k, val in obj.items()
        if len(k) >= 3
        and isinstance(val, (str, list))
        and val
        and k != "granular_markings"
        and k not in ("external_references", "kill_chain_phases")
    )
    if selectable and draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(selectable), min_size=1, max_size=3, unique=True))
        selectors = [f"{k}.[0]" if isinstance(obj[k], list) and obj[k][0] else k for k in chosen]
        obj["granular_markings"] = [{"marking_ref": GREEN, "selectors": selectors}]
    return obj


def _replace_ref(value: Any, bad_type: str) -> Any:
    bad = f"{bad_type}--{uuid.uuid4()}"
    return [*value, bad] if isinstance(value, list) else bad


@st.composite
def mutants(draw: st.DrawFn) -> tuple[dict[str, Any], str | None, str]:
    """A broken variant of a valid object: (object, deviation tag or None, what)."""
    obj = draw(valid_objects())
    t = obj["type"]
    keys = sorted(k for k in obj if k != "type")
    kinds = ["constraint", "wrong-type", "timestamp", "id", "custom-name", "extension", "null"]
    if any(k in BAD_REF_TYPE for k in obj):
        kinds.append("ref")
    if "modified" in obj:
        kinds.append("order")
    if t == "indicator":
        kinds.append("pattern")
    if (
        t in ("sighting", "observed-data", "location", "network-traffic", "file")
        or "confidence" in obj
    ):
        kinds.append("range")
    kinds.append("drop")
    kind = draw(st.sampled_from(kinds))
    if kind == "drop":
        own = sorted(REQUIRED[t] - DEFAULTED)
        key = draw(st.sampled_from(own if own and draw(st.booleans()) else sorted(REQUIRED[t])))
        if key not in obj:
            return obj, None, "nothing to drop"
        del obj[key]
        sdo_like = t in SDO_SPECS
        tag = "defaulted-required" if key in DEFAULTED and (sdo_like or key == "id") else None
        return obj, tag, f"drop {key}"
    if kind == "wrong-type":
        candidates = [
            k for k in keys if k in KINDS or (isinstance(obj[k], str) and not k.startswith("x_"))
        ]
        key = draw(st.sampled_from(candidates))
        k_kind = KINDS.get(key, "str")
        pool = [(val, None) for val in NONCOERCIBLE.get(k_kind, [])]
        pool += [(val, "json-types") for val in COERCIBLE.get(k_kind, [])]
        if not pool:
            return obj, None, "no wrong value"
        value, tag = draw(st.sampled_from(pool))
        obj[key] = value
        return obj, tag, f"{key} = {value!r}"
    if kind == "null":
        optional = [k for k in keys if k not in REQUIRED[t]] or keys
        key = draw(st.sampled_from(optional))
        obj[key] = draw(st.sampled_from([None, []]))
        return obj, "null-or-empty", f"{key} = {obj[key]!r}"
    if kind == "timestamp":
        ts_keys = [k for k in keys if KINDS.get(k) == "ts"]
        if not ts_keys:
            return obj, None, "no timestamp"
        key = draw(st.sampled_from(ts_keys))
        value, tag = draw(
            st.sampled_from(
                [
                    ("2021-02-29T00:00:00Z", None),
                    ("2021-13-01T00:00:00Z", None),
                    ("2021-01-01T24:00:00Z", None),
                    ("2021-01-01T00:00:60Z", None),
                    ("2021-01-01T00:00:00", None),
                    ("2021-01-01 00:00:00Z", None),
                    ("2021-01-01T00:00:00+00:00", None),
                    ("0000-01-01T00:00:00Z", None),
                    ("2021-01-01T00:00:00.Z", None),
                    ("2021-01-01", None),
                    ("2021-01-01T00:00:00z", "timestamp-syntax"),
                    ("2021-1-01T00:00:00Z", "timestamp-syntax"),
                ]
            )
        )
        obj[key] = value
        return obj, tag, f"{key} = {value!r}"
    if kind == "id":
        u = obj["id"].split("--", 1)[1]
        value, tag = draw(
            st.sampled_from(
                [
                    (f"malware--{u}" if t != "malware" else f"tool--{u}", None),
                    (f"{t}--{u[:19]}c{u[20:]}", None),
                    (f"{t}--{u[:19]}7{u[20:]}", None),
                    (f"{t}--{u[:-1]}g", None),
                    (f"{t}--{u[:-1]}", None),
                    (f"{t}-{u}", None),
                    (f"{t}--{u.upper()}", None),
                    (f"{t}--{u.replace('-', '')}", "identifier-syntax"),
                    (f"{t}--{{{u}}}", "identifier-syntax"),
                ]
            )
        )
        obj["id"] = value
        return obj, tag, f"id = {value!r}"
    if kind == "custom-name":
        name = draw(st.sampled_from(["_private", "Upper", "1st", "-x", "", "ümlaut"]))
        obj[name] = "value"
        return obj, None, f"custom property {name!r}"
    if kind == "extension":
        key, tag = draw(
            st.sampled_from(
                [
                    ("extension-definition--not-a-uuid", None),
                    (f"extension-definition--{str(uuid.uuid4())[:-1]}", None),
                    ("foo", "extension-keys"),
                    ("x-acme-ext", None),
                ]
            )
        )
        obj["extensions"] = {key: {"extension_type": "property-extension", "x": 1}}
        if t == "extension-definition":  # no 'extensions' property: a custom property
            return obj, None, f"custom 'extensions' {key!r}"
        return obj, tag, f"extension {key!r}"
    if kind == "ref":
        key = draw(st.sampled_from([k for k in keys if k in BAD_REF_TYPE]))
        obj[key] = _replace_ref(obj[key], BAD_REF_TYPE[key])
        return obj, None, f"{key} -> {BAD_REF_TYPE[key]}"
    if kind == "order":
        created = datetime.strptime(obj["created"][:19], "%Y-%m-%dT%H:%M:%S")
        obj["modified"] = (created - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return obj, "common-constraints", "modified < created"
    if kind == "pattern":
        obj["pattern"] = draw(
            st.sampled_from(
                [
                    obj["pattern"][:-1],
                    obj["pattern"].replace("[", "", 1),
                    "[ipv4-addr:value = ]",
                    "[file:hashes.MD5 = 'abc']",
                    "[file:hashes.'SHA-256' = 5]",
                    "[ipv4-addr:value = '1' AND]",
                    "[true:value = 'x']",
                    "[ipv4-addr:value = '1'] WITHIN 5 SECONDS WITHIN 6 SECONDS",
                ]
            )
        )
        return obj, None, f"pattern {obj['pattern']!r}"
    if kind == "range":
        options = [
            (k, val, tag)
            for k, val, tag in OUT_OF_RANGE
            if k in obj or (t in ("location",) and k in ("latitude", "longitude", "precision"))
        ]
        if not options:
            return obj, None, "nothing out of range"
        key, value, tag = draw(st.sampled_from(options))
        if t == "location" and key in ("latitude", "longitude", "precision"):
            obj.update(latitude=0.0, longitude=0.0)
        obj[key] = value
        return obj, tag, f"{key} = {value!r}"
    # constraint breakers
    breakers: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
        (
            "bad selector",
            lambda o: (
                o.update(granular_markings=[{"marking_ref": GREEN, "selectors": ["description"]}])
                if "description" not in o
                else o.update(granular_markings=[{"marking_ref": GREEN, "selectors": ["nope"]}])
            ),
        ),
        (
            "selector on lang+marking",
            lambda o: o.update(
                granular_markings=[{"marking_ref": GREEN, "lang": "en", "selectors": ["id"]}]
            ),
        ),
        ("bad external reference", lambda o: o.update(external_references=[{"source_name": "x"}])),
    ]
    specific: dict[str, list[tuple[str, Callable[[dict[str, Any]], None]]]] = {
        "location": [
            ("no place", lambda o: [o.pop(k, None) for k in ("region", "country")]),
            ("lat without long", lambda o: o.update(latitude=1.0)),
        ],
        "malware": [
            ("family without name", lambda o: (o.pop("name", None), o.update(is_family=True)))
        ],
        "observed-data": [
            (
                "objects and refs",
                lambda o: o.update(objects={"0": {"type": "ipv4-addr", "value": "1.2.3.4"}}),
            )
        ],
        "relationship": [("stop == start", lambda o: o.update(start_time=NOW, stop_time=NOW))],
        "indicator": [("until == from", lambda o: o.update(valid_until=o["valid_from"]))],
        "artifact": [
            ("payload and url", lambda o: o.update(url="https://x", hashes={"MD5": "0" * 32}))
        ],
        "network-traffic": [
            ("end without is_active", lambda o: o.update(end=LATER, start=NOW)),
            ("no src/dst", lambda o: [o.pop(k, None) for k in ("src_ref", "dst_ref")]),
        ],
        "email-message": [("multipart with body", lambda o: o.update(is_multipart=True, body="x"))],
        "file": [("no name or hashes", lambda o: [o.pop(k, None) for k in ("name", "hashes")])],
        "campaign": [("last before first", lambda o: o.update(first_seen=LATER, last_seen=NOW))],
        "sighting": [("last before first", lambda o: o.update(first_seen=LATER, last_seen=NOW))],
        "malware-analysis": [
            ("no result", lambda o: [o.pop(k, None) for k in ("result", "analysis_sco_refs")])
        ],
    }
    name, breaker = draw(st.sampled_from(breakers + specific.get(t, [])))
    breaker(obj)
    return obj, None, name


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(valid_objects())
def test_valid_objects_agree_with_stix2(obj: dict[str, Any]) -> None:
    try:
        validate(obj)
    except StixValidationError as exc:
        pytest.fail(f"rejected a valid object: {exc}")
    assert stix2_ok(obj), "stix2 rejects an object the generator thinks valid"


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutants())
def test_mutants_agree_with_stix2(mutant: tuple[dict[str, Any], str | None, str]) -> None:
    obj, deviation, what = mutant
    ours = ours_ok(obj)
    if deviation is None:
        assert ours == stix2_ok(obj), f"{what}: ours={ours}"
    else:
        assert deviation in DEVIATIONS
        assert not ours, f"{what} ({deviation}) should be rejected"


SELECTOR_PARTS = [
    *("name description labels id spec_version pattern_version hashes md5 extensions sid".split()),
    *("ntfs-ext socket-ext options x_list x_dict external_references source_name values".split()),
    *("object_refs created revoked defanged body_multipart body definition tlp contents".split()),
    *("de tlp_2_0 sectors type a b so_test [0] [1] [2] [00]".split()),
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d",
]


@SETTINGS
@given(
    st.sampled_from(sorted(VALID_EXAMPLES)),
    st.lists(
        st.lists(st.sampled_from(SELECTOR_PARTS), min_size=1, max_size=4).map(".".join),
        min_size=1,
        max_size=2,
    ),
    st.sampled_from([None, ["a", "a", "b"], [{"a": 1}, {"a": 1}, {"b": 2}], {"a": {"b": "c"}}]),
)
def test_granular_selectors_agree_with_stix2(
    t: str, selectors: list[str], custom: list[Any] | dict[str, Any] | None
) -> None:
    """Selectors must name a present, non-empty property exactly as stix2 resolves them."""
    obj = copy.deepcopy(VALID_EXAMPLES[t])
    if custom is not None:
        obj["x_list" if isinstance(custom, list) else "x_dict"] = custom
    if t == "file":
        obj["hashes"]["md5"] = "0" * 32  # stix2 renames it MD5 before resolving selectors
    obj["granular_markings"] = [{"marking_ref": GREEN, "selectors": selectors}]
    assert ours_ok(obj) == stix2_ok(obj)


SMALL_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([1.5, "", "x", "true", "5", IPV4_ID, IDENTITY_ID, GREEN, NOW, "stix"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["a", "tlp", "source_name", "url", "body", "name", "SO_X", "MD5", "x y"]
            ),
            children,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def _json_type_ok(prop: Any, value: Any) -> bool:
    """Whether ``value`` has the JSON type stix2's property class stands for."""
    from stix2 import properties as p

    if value is None or value == [] or value == {}:
        return False
    if isinstance(prop, p.ListProperty):
        if not isinstance(value, list):
            return False
        inner = prop.contained
        if isinstance(inner, p.Property):
            return all(_json_type_ok(inner, item) for item in value)
        return all(isinstance(item, dict) for item in value)
    if isinstance(
        prop,
        (p.StringProperty, p.TimestampProperty, p.ReferenceProperty, p.IDProperty, p.HexProperty),
    ):
        return isinstance(value, str)
    if isinstance(prop, p.BooleanProperty):
        return isinstance(value, bool)
    if isinstance(prop, p.IntegerProperty):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(prop, p.FloatProperty):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(prop, (p.DictionaryProperty, p.EmbeddedObjectProperty, p.ObservableProperty)):
        return isinstance(value, dict)
    return True


@SETTINGS
@given(st.sampled_from(sorted(VALID_EXAMPLES)), st.data())
def test_random_values_disagree_only_by_deviation(t: str, data: st.DataObject) -> None:
    """Put random JSON into random properties; any disagreement must be a listed deviation."""
    from stix2.v21 import OBJ_MAP, OBJ_MAP_OBSERVABLE

    cls = {**OBJ_MAP, **OBJ_MAP_OBSERVABLE}[t]
    obj = copy.deepcopy(VALID_EXAMPLES[t])
    keys = sorted({*obj, "granular_markings", "extensions", "x_custom", "objects", "labels"})
    keys.remove("type")
    for key in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True)):
        obj[key] = data.draw(SMALL_JSON)
    ours, theirs = ours_ok(obj), stix2_ok(obj)
    if ours == theirs:
        return
    assert not ours, "we accept what stix2 rejects"
    badly_typed = [
        k
        for k, val in obj.items()
        if k in cls._properties and not _json_type_ok(cls._properties[k], val)
    ]
    null_custom = [k for k, val in obj.items() if k not in cls._properties and val in (None, [])]
    other_version = obj.get("spec_version", "2.1") != "2.1"
    exts = obj.get("extensions")
    bad_ext_key = isinstance(exts, dict) and any(
        not (k in v._EXTENSIONS or k.startswith("extension-definition--") or k.endswith("-ext"))
        for k in exts
    )
    # json-types / null-or-empty / defaulted-required / unchecked-objects / extension-keys
    assert badly_typed or null_custom or other_version or bad_ext_key, reason(obj)


# ---------------------------------------------------------------------------
# Consistency of the tables with stix2's own class definitions
# ---------------------------------------------------------------------------


def test_property_tables_match_stix2_classes() -> None:
    from stix2.v21 import EXT_MAP, OBJ_MAP, OBJ_MAP_OBSERVABLE

    from telsec.stix.telecom import EXTENSION_IDS, TELECOM_TYPES

    TELECOM_EXTENSION_IDS = set(EXTENSION_IDS.values())

    defaulted_required = {"id", "created", "modified", "spec_version", "valid_from"}
    for t, cls in {**OBJ_MAP, **OBJ_MAP_OBSERVABLE}.items():
        if t == "bundle" or t in TELECOM_TYPES:
            # Custom types registered by other tests (e.g. the telecom SCOs) are
            # not part of the specification's tables.
            continue
        schema = v._SCHEMAS[t]
        theirs = set(cls._properties)
        assert set(schema.props) == theirs, t
        required = {k for k, p in cls._properties.items() if p.required} | {"type"}
        assert required <= schema.required, t
        assert schema.required - required <= defaulted_required, t
    for name, cls in EXT_MAP.items():
        if name in TELECOM_EXTENSION_IDS:
            continue
        schema = v._EXTENSIONS[name]
        assert set(schema.props) == set(cls._properties), name
        assert schema.required == {k for k, p in cls._properties.items() if p.required}, name


def test_ref_categories_match_stix2() -> None:
    from stix2.utils import is_sco, is_sdo

    for t in v._SDO_TYPES:
        assert is_sdo(t, "2.1")
    for t in v._SCO_TYPES:
        assert is_sco(t, "2.1")


def test_timestamp_ordering_key() -> None:
    assert v._ts_key("2020-01-01T00:00:00Z") == v._ts_key("2020-01-01T00:00:00.000Z")
    assert v._ts_key("2020-01-01T00:00:00.05Z") < v._ts_key("2020-01-01T00:00:00.5Z")
    assert v._ts_key("2020-01-01T00:00:00Z") < v._ts_key("2020-01-01T00:00:00.001Z")
    assert v._ts_key("2020-01-01T00:00:00.999Z") < v._ts_key("2020-01-01T00:00:01Z")


@pytest.mark.parametrize(
    "text",
    [
        "2020-02-29T00:00:00Z",
        "2000-02-29T23:59:59.999999999Z",
        "1900-02-28T00:00:00Z",
        "2021-12-31T00:00:00.1Z",
    ],
)
def test_calendar_valid_timestamps(text: str) -> None:
    assert v._timestamp_ok(text)


@pytest.mark.parametrize(
    "text",
    [
        "2021-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2021-04-31T00:00:00Z",
        "2021-00-10T00:00:00Z",
        "2021-01-00T00:00:00Z",
        "\uff12\uff10\uff12\uff11-01-01T00:00:00Z",  # fullwidth digits
        "2021-01-01T00:00:00Z\n",
    ],
)
def test_calendar_invalid_timestamps(text: str) -> None:
    assert not v._timestamp_ok(text)


def test_reasons_are_readable() -> None:
    ind = VALID_EXAMPLES["indicator"]
    assert reason(_with(ind, pattern=_DROP)) == "indicator: 'pattern' is required"
    assert reason(_with(IDENT, confidence=300)) == (
        "identity: 'confidence' must be an integer in 0..100, not 300"
    )
    assert reason(_with(IDENT, external_references=[{"source_name": "x"}])) == (
        "identity: 'external_references' item 0 needs at least one of description, external_id, url"
    )
