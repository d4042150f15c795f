"""Radio alerts as STIX 2.1, ready to share.

Per alert: the ``cell-identity`` observable (telsec's SCO extension), an
indicator matching it, one sighting per time window with a ``location``
(latitude, longitude, precision in metres) as where it was sighted, and
``indicates`` relationships to the FiGHT/MoTIF false-base-station techniques;
one report holds them all.  Observers are not named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from telsec.radio.detect import RULES
from telsec.stix.build import Builder
from telsec.stix.telecom import cell_identity
from telsec.stix.timestamps import format_timestamp
from telsec.stix.tlp import Tlp

_AREA = {"gsm": "lac", "umts": "lac", "lte": "tac", "nr": "tac"}
_CELL = {"gsm": "cid", "umts": "cid", "lte": "eci", "nr": "nci"}


def _stamp(seconds: float) -> str:
    return format_timestamp(int(seconds * 1e6))


def cell_observable(alert: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The alert's cell as a ``cell-identity`` SCO, and a STIX pattern matching it."""
    rat = alert["rat"]
    mnc = f"{alert['mnc']:02d}"
    sco = cell_identity(
        rat, int(alert["mcc"]), mnc, **{_AREA[rat]: alert["area"], _CELL[rat]: alert["cell"]}
    )
    pattern = (
        f"[cell-identity:rat = '{rat}' AND cell-identity:mcc = '{alert['mcc']:03d}' AND "
        f"cell-identity:mnc = '{mnc}' AND cell-identity:{_AREA[rat]} = {alert['area']} AND "
        f"cell-identity:{_CELL[rat]} = {alert['cell']}]"
    )
    return sco, pattern


def stix_bundle(
    alerts: Iterable[dict[str, Any]],
    tlp: Tlp,
    *,
    producer: str | None = None,
    scanned: str = "cell observations",
    now: int | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """A bundle of the alerts, every object marked ``tlp``."""
    build = Builder(tlp, producer, namespace, now)
    objects: list[dict[str, Any]] = []
    count = 0
    for alert in alerts:
        count += 1
        sco, pattern = cell_observable(alert)
        key = f"radio/{alert['id']}"
        evidence = "; ".join(f"{e['title']} ({e['detail']})" for e in alert["evidence"])
        indicator = build.sdo(
            "indicator",
            build.stable_id("indicator", key),
            name=f"Suspected fake base station {alert['id']}",
            description=f"Score {alert['score']:.2f} from: {evidence}.",
            indicator_types=["malicious-activity"],
            pattern=pattern,
            pattern_type="stix",
            valid_from=_stamp(alert["first_seen"]),
            confidence=round(100 * alert["score"]),
            labels=sorted(e["rule"] for e in alert["evidence"]),
        )
        objects += [sco, indicator]
        for window in alert.get("track") or []:
            window_key = f"{key}/{window['start']:.0f}"
            place = build.sdo(
                "location",
                build.new_id("location", window_key),
                latitude=window["lat"],
                longitude=window["lon"],
                precision=max(1.0, float(window["radius_m"])),
                description=f"Estimated by {window['method']} from "
                f"{window['observations']} observations",
            )
            sighting = build.sdo(
                "sighting",
                build.new_id("sighting", window_key),
                sighting_of_ref=indicator["id"],
                first_seen=_stamp(window["start"]),
                last_seen=_stamp(window["end"]),
                count=max(1, int(window["observations"])),
                where_sighted_refs=[place["id"]],
            )
            objects += [place, sighting]
        techniques = sorted({t for e in alert["evidence"] for t in RULES[e["rule"]].techniques})
        objects += build.indicates(indicator["id"], techniques, key)
    return build.bundle(
        objects,
        f"Fake base stations in {scanned}: {count} suspected",
        "Cells that telsec's radio detector scored as fake base stations (SMS blasters), "
        "with the evidence, and where they were in each time window.",
        ["threat-report", "indicator"],
        scanned,
    )
