"""The demo's analyser reports (signalling, radio, fraud) are the analysers' own
output, valid, stable, and linked to one another."""

from __future__ import annotations

import stix2

from telsec.demo.signalling import PRODUCER, signalling_report, signalling_sources
from telsec.signalling.generate import LEASED, ROGUE
from telsec.stix.ids import organisation_identity_id
from telsec.stix.tlp import Tlp
from telsec.stix.validate import validate

NOW = 1_767_225_600_000_000


def test_the_report_names_the_generated_attackers_and_loads_once() -> None:
    objects = signalling_report(NOW, signalling_sources(NOW))
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
    # same ids: loading twice adds nothing
    assert signalling_report(NOW, signalling_sources(NOW)) == objects


def test_the_radio_report_is_the_detectors_output_and_loads_once() -> None:
    from telsec.demo.radio import PRODUCER as RADIO_PRODUCER
    from telsec.demo.radio import radio_alerts, radio_report

    objects = radio_report(NOW, radio_alerts(NOW))
    for obj in objects:
        validate(obj)
    indicators = [o for o in objects if o["type"] == "indicator"]
    assert indicators and all("cell-identity:rat = 'gsm'" in o["pattern"] for o in indicators)
    producer = organisation_identity_id(RADIO_PRODUCER)
    assert all(o["created_by_ref"] == producer for o in objects if "created" in o)
    # laid out before the moment the demo is loaded
    assert all(o["last_seen"] < "2026-01-01" for o in objects if o["type"] == "sighting")
    assert radio_report(NOW, radio_alerts(NOW)) == objects


def test_the_fraud_report_links_the_demos_blaster_and_gts() -> None:
    from telsec.demo import fraud, radio
    from telsec.radio.report import cell_observable
    from telsec.stix.telecom import global_title

    alerts, sources = radio.radio_alerts(NOW), signalling_sources(NOW)
    objects = fraud.fraud_report(NOW, fraud.fraud_campaigns(NOW, alerts, sources))
    for obj in objects:
        validate(obj)
    related = {o["target_ref"] for o in objects if o.get("relationship_type") == "related-to"}
    cells = {cell_observable(a)[0]["id"] for a in alerts}
    flagged = {global_title(s.source)["id"] for s in sources if s.kind == "gt"}
    assert related & cells and related & flagged
    # the radio and signalling reports of the demo share those very objects
    shared = {o["id"] for o in radio.radio_report(NOW, alerts)}
    shared |= {o["id"] for o in signalling_report(NOW, sources)}
    assert related <= shared
    names = [o["name"] for o in objects if o["type"] == "campaign"]
    assert any("Royal Mail" in n for n in names) and any("USPS" in n for n in names)
    assert all(o["last_seen"] < "2026-01-01" for o in objects if o["type"] == "campaign")
