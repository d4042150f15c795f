"""STIX / TAXII timestamps.

Inside telsec a point in time is an integer count of microseconds since the
Unix epoch (UTC).  On the wire it is RFC 3339 in UTC with a ``Z``:
``2026-11-23T10:00:00.123456Z``.  Object versions are keyed by their
``modified`` timestamp normalised to exactly six fraction digits, so that
``...01Z``, ``...01.0Z`` and ``...01.000000Z`` name the same version and the
strings sort in time order.
"""

from __future__ import annotations

import re
import time
from calendar import timegm
from datetime import UTC, datetime

_TIMESTAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$")


class TimestampError(ValueError):
    """Not a STIX timestamp."""


def now_us() -> int:
    """The current UTC time in microseconds."""
    return time.time_ns() // 1000


def readable(us: int | None) -> str:
    """Microseconds since the epoch as people read them (UTC, to the second); "" for None."""
    if us is None:
        return ""
    t = time.gmtime(us // 1_000_000)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )


def format_timestamp(us: int) -> str:
    """Render microseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    seconds, micros = divmod(us, 1_000_000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{micros:06d}Z"
    )


def parse_timestamp(text: str) -> int:
    """Parse a STIX timestamp into microseconds since the epoch.

    Fraction digits beyond the sixth are truncated.  Raises
    :class:`TimestampError` for anything that is not a valid UTC timestamp.
    """
    match = _TIMESTAMP.match(text) if isinstance(text, str) else None
    if match is None:
        raise TimestampError(f"not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z): {text!r:.80}")
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError as exc:
        raise TimestampError(f"not a valid date and time: {text!r:.80} ({exc})") from None
    seconds = timegm(
        (int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0)
    )
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    return seconds * 1_000_000 + micros


def version_key(text: str) -> str:
    """Normalise an already-validated STIX timestamp to six fraction digits.

    This is the hot-path form of ``format_timestamp(parse_timestamp(text))``:
    string surgery only, no calendar arithmetic.
    """
    length = len(text)
    if length == 24:  # the usual millisecond form: ...SS.mmmZ
        return text[:23] + "000Z"
    if length == 27:
        return text
    if text[19:20] == ".":
        return text[:20] + text[20:-1][:6].ljust(6, "0") + "Z"
    return text[:19] + ".000000Z"
