"""TAXII 2.1 URL filters (section 3.4), parsed strictly: a malformed one is an error."""

from __future__ import annotations

import re
from collections.abc import Iterable

from telsec.exchange.store import Filters
from telsec.stix.timestamps import TimestampError, format_timestamp, parse_timestamp

_TYPE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,248}[a-z0-9]$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ID = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,248}[a-z0-9]--" + _UUID + "$")
_SPEC_VERSION = re.compile(r"^[0-9]{1,3}\.[0-9]{1,3}$")
KNOWN_MATCH = {"id", "type", "version", "spec_version"}
MAX_VALUES = 1000


class FilterError(ValueError):
    """A filter the server cannot accept; the message says which and why."""


def _values(raw: Iterable[str], name: str) -> list[str]:
    values: list[str] = []
    for item in raw:
        for value in item.split(","):
            value = value.strip()
            if not value:
                raise FilterError(f"{name} has an empty value")
            values.append(value)
    if len(values) > MAX_VALUES:
        raise FilterError(f"{name} has more than {MAX_VALUES} values")
    return values


def parse_filters(
    params: list[tuple[str, str]], *, default_version: str = "last", allow_id: bool = True
) -> Filters:
    """Build :class:`Filters` from the query string's (name, value) pairs."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    added_after = None
    if "added_after" in grouped:
        if len(grouped["added_after"]) != 1:
            raise FilterError("added_after may be given once")
        try:
            added_after = parse_timestamp(grouped["added_after"][0])
        except TimestampError as exc:
            raise FilterError(f"added_after: {exc}") from None
    for name in grouped:
        if name.startswith("match[") and name.endswith("]") and name[6:-1] not in KNOWN_MATCH:
            raise FilterError(
                f"unsupported filter {name}: this server supports "
                + ", ".join(f"match[{m}]" for m in sorted(KNOWN_MATCH))
            )
    ids = _values(grouped.get("match[id]", []), "match[id]")
    if ids and not allow_id:
        raise FilterError("match[id] is not supported on this endpoint")
    for value in ids:
        if not _ID.match(value):
            raise FilterError(f"match[id]: {value[:100]!r} is not a STIX identifier")
    types = _values(grouped.get("match[type]", []), "match[type]")
    for value in types:
        if not _TYPE.match(value):
            raise FilterError(f"match[type]: {value[:100]!r} is not a STIX type name")
    versions: list[str] = []
    for value in _values(grouped.get("match[version]", []), "match[version]"):
        if value in ("first", "last", "all"):
            versions.append(value)
            continue
        try:
            versions.append(format_timestamp(parse_timestamp(value)))
        except TimestampError:
            raise FilterError(
                f"match[version]: {value[:100]!r} is not first, last, all or a timestamp"
            ) from None
    spec_versions = _values(grouped.get("match[spec_version]", []), "match[spec_version]")
    for value in spec_versions:
        if not _SPEC_VERSION.match(value):
            raise FilterError(f"match[spec_version]: {value[:100]!r} is not a version like 2.1")
    return Filters(
        added_after_us=added_after,
        ids=tuple(dict.fromkeys(ids)),
        types=tuple(dict.fromkeys(types)),
        versions=tuple(dict.fromkeys(versions)) or (default_version,),
        spec_versions=tuple(dict.fromkeys(spec_versions)),
    )


def parse_limit(raw: list[str], maximum: int) -> int:
    """The page size asked for, capped at the server's maximum."""
    if not raw:
        return maximum
    if len(raw) != 1 or not (raw[0].isascii() and raw[0].isdigit()) or len(raw[0]) > 12:
        raise FilterError("limit must be a positive integer")
    value = int(raw[0])
    if value < 1:
        raise FilterError("limit must be a positive integer")
    return min(value, maximum)
