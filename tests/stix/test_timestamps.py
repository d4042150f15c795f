from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telsec.stix.timestamps import (
    TimestampError,
    format_timestamp,
    parse_timestamp,
    version_key,
)

moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)


def stix_text(moment: datetime, digits: int) -> str:
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 0:
        return base + "Z"
    fraction = f"{moment.microsecond:06d}{moment.microsecond % 1000:03d}"[:digits]
    return f"{base}.{fraction}Z"


@given(moments, st.integers(min_value=0, max_value=9))
def test_version_key_is_the_normalised_timestamp(moment: datetime, digits: int) -> None:
    text = stix_text(moment, digits)
    assert version_key(text) == format_timestamp(parse_timestamp(text))


@given(moments)
def test_format_and_parse_round_trip(moment: datetime) -> None:
    us = int(moment.timestamp()) * 1_000_000 + moment.microsecond
    assert parse_timestamp(format_timestamp(us)) == us


@given(moments, moments)
def test_version_keys_sort_in_time_order(a: datetime, b: datetime) -> None:
    ka, kb = version_key(stix_text(a, 6)), version_key(stix_text(b, 3))
    ua, ub = parse_timestamp(ka), parse_timestamp(kb)
    assert (ka < kb) == (ua < ub)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-02-30T00:00:00Z",
        "2026-01-01 00:00:00Z",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00.1234567890Z",
        "x" * 10000,
    ],
)
def test_malformed_timestamps_are_rejected(text: str) -> None:
    with pytest.raises(TimestampError):
        parse_timestamp(text)
