"""The demo's signalling report is the analyser's own output, valid and stable."""

from __future__ import annotations

import stix2

from telsec.demo.signalling import PRODUCER, signalling_report
from telsec.signalling.generate import LEASED, ROGUE
from telsec.stix.ids import organisation_identity_id
from telsec.stix.tlp import Tlp
from telsec.stix.validate import validate

NOW = 1_767_225_600_000_000


def test_the_report_names_the_generated_attackers_and_loads_once() -> None:
    objects = signalling_report(NOW)
    for obj in objects:
        validate(obj)
    stix2.parse({"type": "bundle", "id": "bundle--" + "0" * 8 + "-0000-4000-8000-" + "0" * 12,
                 "objects": objects}, allow_custom=True)  # fmt: skip
    patterns = " ".join(o["pattern"] for o in objects if o["type"] == "indicator")
    assert f"'{LEASED.gt_prefix}" in patterns and ROGUE.realm in patterns
    producer = organisation_identity_id(PRODUCER)
    assert all(o["created_by_ref"] == producer for o in objects if "created" in o)
    assert all(
        o["object_marking_refs"] == [Tlp.AMBER.marking_id] for o in objects if "created" in o
    )
    assert signalling_report(NOW) == objects  # same ids: loading twice adds nothing


def test_the_radio_report_is_the_detectors_output_and_loads_once() -> None:
    from telsec.demo.radio import PRODUCER as RADIO_PRODUCER
    from telsec.demo.radio import radio_report

    objects = radio_report(NOW)
    for obj in objects:
        validate(obj)
    indicators = [o for o in objects if o["type"] == "indicator"]
    assert indicators and all("cell-identity:rat = 'gsm'" in o["pattern"] for o in indicators)
    producer = organisation_identity_id(RADIO_PRODUCER)
    assert all(o["created_by_ref"] == producer for o in objects if "created" in o)
    # laid out before the moment the demo is loaded
    assert all(o["last_seen"] < "2026-01-01" for o in objects if o["type"] == "sighting")
    assert radio_report(NOW) == objects
