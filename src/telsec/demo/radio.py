"""The demo's radio report: telsec's own detector output on a simulated city.

A UK provider (Thames Telecom) scans a day of observations of its simulated
city (drive tests, phones, UE measurement reports; every blaster scenario)
and reports the suspected fake base stations to Ofcom, as
``telsec radio scan --publish uk-reports --tlp amber`` would.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from telsec.radio.detect import detect, parse_config
from telsec.radio.report import stix_bundle
from telsec.radio.schema import Rejections, clean_inventory
from telsec.radio.simulate import OPERATOR_TOML, START, simulate
from telsec.radio.store import clean_observations
from telsec.stix.tlp import Tlp

PRODUCER = "Thames Telecom"
COLLECTION = "uk-reports"


def _shift(alert: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The alert moved in time (the simulation has a fixed clock; the demo lays its
    data out before the moment it is loaded)."""
    moved = dict(
        alert, first_seen=alert["first_seen"] + seconds, last_seen=alert["last_seen"] + seconds
    )
    moved["track"] = [
        dict(w, start=w["start"] + seconds, end=w["end"] + seconds) for w in alert["track"]
    ]
    return moved


def radio_alerts(anchor_us: int) -> list[dict[str, Any]]:
    """The detector's alerts; the observations end about a day before ``anchor_us``."""
    observations, inventory, _truth = simulate("all", seed=2025, observers=12)
    inventory = inventory.rename(
        {"radio": "rat", "net": "mnc", "range": "range_m", "unit": "pci"}
    ).with_columns(pl.col("rat").str.to_lowercase())
    found = detect(
        clean_observations(observations.drop("_truth", "_malicious"), Rejections()),
        clean_inventory(inventory, Rejections()),
        parse_config(OPERATOR_TOML),
    )
    offset = round(anchor_us / 1e6 - 2 * 86400 - START)
    return [_shift(a, offset) for a in found.alerts]


def radio_report(anchor_us: int, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """STIX objects of the scan (``alerts`` from :func:`radio_alerts`)."""
    bundle = stix_bundle(
        alerts,
        Tlp.AMBER,
        producer=PRODUCER,
        scanned=f"{PRODUCER} cell observations (simulated city)",
        now=anchor_us - 86400 * 1_000_000,
        namespace="demo/radio",
    )
    objects: list[dict[str, Any]] = bundle["objects"]
    return objects
