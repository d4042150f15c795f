"""Simulated cities for the radio tests: observations and inventory as a scan
reads them (checked, the simulator's truth columns dropped), and the truth."""

from __future__ import annotations

import functools
from typing import Any

import polars as pl

from telsec.radio.schema import Rejections, clean_inventory
from telsec.radio.simulate import simulate
from telsec.radio.store import clean_observations


@functools.cache
def city(
    scenario: str, seed: int, observers: int = 20
) -> tuple[pl.DataFrame, pl.DataFrame, list[dict[str, Any]]]:
    """(observations, inventory, blasters' truth) of one simulated city."""
    obs, inventory, truth = simulate(scenario, seed, observers)
    inventory = inventory.rename(
        {"radio": "rat", "net": "mnc", "range": "range_m", "unit": "pci"}
    ).with_columns(pl.col("rat").str.to_lowercase())
    return (
        clean_observations(obs.drop("_truth", "_malicious"), Rejections()),
        clean_inventory(inventory, Rejections()),
        truth,
    )
