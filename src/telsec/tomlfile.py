"""Settings files (TOML), read strictly.

A signalling policy or a radio configuration is written by hand.  A setting the
reader does not know is a typo that would silently drop what was meant, and a
value of the wrong type would be read as something else (a bare string where a
list belongs as a list of its characters, ``"false"`` as true).  Both are
refused, saying where and what, with the caller's error class.
"""

from __future__ import annotations

import math
from typing import Any


def table(data: Any, where: str, error: type[ValueError]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise error(f"{where}: expected a table")
    return data


def tables(data: dict[str, Any], key: str, error: type[ValueError]) -> list[Any]:
    """The ``[[key]]`` tables (missing: none); each is checked by the caller."""
    value = data.get(key, [])
    if not isinstance(value, list):
        raise error(f"{key}: expected [[{key}]] tables")
    return value


def refuse_unknown(
    data: dict[str, Any], known: set[str], where: str, error: type[ValueError]
) -> None:
    unknown = set(data) - known
    if unknown:
        raise error(
            f"{where}: unknown setting(s) {', '.join(sorted(unknown))} "
            f"(expected: {', '.join(sorted(known))})"
        )


def strings(data: dict[str, Any], key: str, where: str, error: type[ValueError]) -> list[str]:
    """A list of strings (missing: empty)."""
    value = _list(data, key, where, error)
    for item in value:
        if not isinstance(item, str):
            raise error(f"{where}: {key} must be strings (in quotes), not {item!r}")
    return value


def whole_numbers(data: dict[str, Any], key: str, where: str, error: type[ValueError]) -> list[int]:
    """A list of whole numbers of 0 or more (missing: empty)."""
    value = _list(data, key, where, error)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise error(f"{where}: {key} must be whole numbers, not {item!r}")
    return value


def _list(data: dict[str, Any], key: str, where: str, error: type[ValueError]) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise error(f"{where}: {key} must be a list, e.g. {key} = [...]")
    return value


def number(
    data: dict[str, Any],
    key: str,
    default: float,
    where: str,
    error: type[ValueError],
    *,
    whole: bool = False,
    at_most: float = math.inf,
) -> float:
    """A finite number above 0 (and at most ``at_most``), or ``default`` if missing;
    with ``whole``, a whole number."""
    value = data.get(key, default)
    kinds = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise error(f"{where}: {key} must be {'a whole number' if whole else 'a number'}, "
                    f"not {value!r}")  # fmt: skip
    if not (0 < value <= at_most) or not math.isfinite(value):
        bound = "" if at_most == math.inf else f" and at most {at_most:g}"
        raise error(f"{where}: {key} must be above 0{bound}, not {value!r}")
    return value


def flag(
    data: dict[str, Any], key: str, default: bool, where: str, error: type[ValueError]
) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise error(f"{where}: {key} must be true or false (no quotes), not {value!r}")
    return value
