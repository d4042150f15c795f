"""The observation store: each row once, in memory or spilled to disk, read back
unchanged; detection over a spilled store is detection over the frame."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from telsec.radio.detect import detect, parse_config
from telsec.radio.readers import read_observations, read_observations_into
from telsec.radio.schema import (
    OBSERVATION_SCHEMA,
    Rejections,
    conform,
)
from telsec.radio.simulate import OPERATOR_TOML
from telsec.radio.store import ObservationStore
from tests.radio.cities import city

CONFIG = parse_config(OPERATOR_TOML)


def _rows(values: list[tuple[int, float, str]]) -> pl.DataFrame:
    """Observations of cell ``c`` at time ``1000 + t`` by observer ``s``."""
    base = {"lat": 51.5, "lon": -0.1, "rat": "lte", "mcc": 234, "mnc": 20, "area": 1}
    rows = [
        {**base, "time": 1000.0 + t, "source": s, "cell": c, "signal": -80.0} for c, t, s in values
    ]
    return conform(pl.DataFrame(rows), OBSERVATION_SCHEMA)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(1, 3), st.sampled_from([0.0, 1.0]), st.sampled_from(["a", "b"])),
            max_size=12,
        ),
        max_size=5,
    ),
    st.integers(1, 20),
)
def test_each_row_is_kept_once_in_the_order_added_whether_spilled_or_not(
    batches: list[list[tuple[int, float, str]]], memory_rows: int
) -> None:
    counts = Rejections()
    with ObservationStore(counts, memory_rows=memory_rows) as store:
        for batch in batches:
            if batch:
                store.add(_rows(batch))
        everything = [row for batch in batches for row in batch]
        expected = (
            pl.concat([_rows(b) for b in batches if b]).unique(maintain_order=True)
            if everything
            else None
        )
        kept = store.frame()
        if expected is None:
            assert kept.is_empty() and store.height == 0
            return
        assert kept.equals(expected)
        assert store.height == expected.height
        assert counts.rejected["duplicate row"] == len(everything) - expected.height
        chunks = list(store.chunks(3))
        assert all(0 < c.height <= 3 for c in chunks)
        assert pl.concat(chunks).equals(kept)


def test_spilled_rows_live_in_a_temporary_folder_removed_on_close(tmp_path: Path) -> None:
    store = ObservationStore(memory_rows=2, directory=tmp_path)
    store.add(_rows([(1, 0.0, "a"), (2, 0.0, "a")]))
    assert not store.spilled and not any(tmp_path.iterdir())
    store.add(_rows([(3, 0.0, "a")]))
    assert store.spilled
    (folder,) = tmp_path.iterdir()
    assert len(list(folder.glob("*.parquet"))) == 2  # the held rows, then the new
    assert store.frame()["cell"].to_list() == [1, 2, 3]
    store.close()
    assert not any(tmp_path.iterdir())


def test_a_file_read_twice_is_kept_once_and_its_rows_counted(tmp_path: Path) -> None:
    path = tmp_path / "obs.jsonl"
    _rows([(1, 0.0, "a"), (2, 1.0, "b"), (2, 1.0, "b")]).write_ndjson(path)
    first, second = Rejections(), Rejections()
    with ObservationStore(memory_rows=1) as store:
        first.merge(read_observations_into(store, path))
        second.merge(read_observations_into(store, path))
        assert store.height == 2
    assert (first.read, first.rejected["duplicate row"]) == (3, 1)
    assert (second.read, second.rejected["duplicate row"]) == (3, 3)
    assert read_observations(path)[0].height == 2


def test_detection_over_a_spilled_store_is_detection_over_the_frame() -> None:
    clean, inventory, _truth = city("vehicle-blaster", 5)
    whole = detect(clean, inventory, CONFIG)
    with ObservationStore(memory_rows=50_000) as store:
        for start in range(0, clean.height, 40_000):
            store.add(clean.slice(start, 40_000))
        assert store.spilled and store.height == clean.height
        told: list[tuple[int, int]] = []
        spilled = detect(
            store, inventory, CONFIG, chunk_rows=30_000, progress=lambda *a: told.append(a)
        )
        # two passes over the rows, in chunks, told as they go
        assert told[-1] == (2 * clean.height, 2 * clean.height)
        steps = [b - a for (a, _), (b, _) in zip([(0, 0), *told], told, strict=False)]
        assert all(0 < step <= 30_000 for step in steps)
    assert whole.alerts
    assert (spilled.cells, spilled.observations) == (whole.cells, whole.observations)
    assert spilled.alerts == whole.alerts


def test_each_technology_has_its_own_floor_and_its_own_silences() -> None:
    """A fix's floor is the weakest cell of each technology reported there (an LTE
    RSRP reads 20 to 30 dB below a GSM RSSI of the same power), and a fix that
    listed no GSM cell is no silence of a GSM transmitter: the phone was not
    measuring GSM."""
    from telsec.radio.detect import _silent

    def row(source: str, t: float, rat: str, cell: int, signal: float) -> dict[str, object]:
        place = {"time": 1000.0 + t, "lat": 51.5, "lon": -0.1 + t * 1e-3, "source": source}
        return {**place, "rat": rat, "mcc": 234, "mnc": 20, "area": 1, "cell": cell,
                "signal": signal}  # fmt: skip

    frame = conform(
        pl.DataFrame(
            [
                row("both", 0, "gsm", 1, -70.0),  # the suspect, heard here
                row("both", 10, "gsm", 2, -75.0),
                row("both", 10, "gsm", 3, -95.0),
                row("both", 10, "lte", 4, -112.0),
                row("lte-only", 20, "lte", 4, -100.0),
                row("lte-only", 20, "lte", 5, -118.0),
            ]
        ),
        OBSERVATION_SCHEMA,
    )
    with ObservationStore.of(frame) as store:
        fixes = store.fixes().sort("time")
    assert fixes.select("source", "floor_gsm", "floor_lte", "floor_umts").rows() == [
        ("both", -70.0, None, None),
        ("both", -95.0, -112.0, None),
        ("lte-only", None, -118.0, None),
    ]
    suspect = frame.filter(pl.col("cell") == 1)
    times, _lat, _lon, floors = _silent(fixes, suspect, suspect, 300.0)
    assert times.tolist() == [1010.0]  # the GSM list without it; not the LTE-only fix
    assert floors.tolist() == [-95.0]
