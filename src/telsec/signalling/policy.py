"""The home network's signalling policy, from a TOML file.

Who we are (PLMNs, GT ranges, point codes), who our roaming partners are,
allow and deny lists, leased or prohibited GT ranges, and the rules'
thresholds.  ``examples/signalling-policy.toml`` is a commented example.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telsec.tomlfile import number, refuse_unknown, strings, table, tables, whole_numbers


class PolicyError(ValueError):
    """The policy file is missing, not TOML, or not shaped as documented."""


@dataclass(frozen=True)
class Operator:
    name: str
    plmns: tuple[str, ...]  # "MCC-MNC"
    gt_prefixes: tuple[str, ...]
    point_codes: tuple[int, ...] = ()
    #: ISO country code, for the velocity rule.
    country: str | None = None
    #: Diameter realms beyond the 3GPP ones its PLMNs imply (TS 23.003 19.2).
    diameter_realms: tuple[str, ...] = ()

    def imsi_prefixes(self) -> tuple[str, ...]:
        return tuple(p.replace("-", "") for p in self.plmns)

    @property
    def realms(self) -> tuple[str, ...]:
        """``epc.mncXXX.mccYYY.3gppnetwork.org`` for each PLMN, then the configured ones."""
        derived = []
        for plmn in self.plmns:
            mcc, _, mnc = plmn.partition("-")
            derived.append(f"epc.mnc{mnc:0>3}.mcc{mcc}.3gppnetwork.org")
        return (*derived, *self.diameter_realms)

    def has_realm(self, realm: str) -> bool:
        realm = realm.lower()
        return any(realm == r or realm.endswith("." + r) for r in self.realms)


@dataclass(frozen=True)
class Thresholds:
    fan_out_subscribers: int = 5
    fan_out_window_s: float = 600.0
    sri_sm_followup_s: float = 60.0
    max_speed_kmh: float = 1000.0


@dataclass(frozen=True)
class Policy:
    home: Operator
    partners: tuple[Operator, ...] = ()
    allow_gts: frozenset[str] = frozenset()
    deny_gts: frozenset[str] = frozenset()
    leased_prefixes: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)

    def is_home_gt(self, gt: str | None) -> bool:
        return bool(gt) and gt.startswith(self.home.gt_prefixes)  # type: ignore[union-attr]

    def operator_of_gt(self, gt: str | None) -> Operator | None:
        if not gt:
            return None
        for op in (self.home, *self.partners):
            if gt.startswith(op.gt_prefixes):
                return op
        return None

    def operator_of_imsi(self, imsi: str | None) -> Operator | None:
        if not imsi:
            return None
        for op in (self.home, *self.partners):
            if imsi.startswith(op.imsi_prefixes()):
                return op
        return None

    def is_home_realm(self, realm: str | None) -> bool:
        return bool(realm) and self.home.has_realm(realm)  # type: ignore[arg-type]

    def operator_of_realm(self, realm: str | None) -> Operator | None:
        if not realm:
            return None
        for op in (self.home, *self.partners):
            if op.has_realm(realm):
                return op
        return None

    def is_leased(self, gt: str | None) -> bool:
        return bool(gt) and any(gt.startswith(p) for p in self.leased_prefixes)  # type: ignore[union-attr]


_OPERATOR_KEYS = {"name", "country", "plmn", "gt_prefixes", "point_codes", "diameter_realms"}
_LIST_KEYS = {"allow_gts", "deny_gts", "leased_prefixes"}
_TABLES = {"home", "partners", "lists", "thresholds"}


def _digits(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = tuple(item.strip() for item in strings(data, key, where, PolicyError))
    if not all(value.isdigit() for value in values):
        raise PolicyError(f"{where}: {key} must be digit strings")
    return values


def _operator(data: Any, where: str) -> Operator:
    data = table(data, where, PolicyError)
    refuse_unknown(data, _OPERATOR_KEYS, where, PolicyError)
    for key in ("name", "gt_prefixes"):
        if key not in data:
            raise PolicyError(f"{where}: missing {key!r}")
    name, country = data["name"], data.get("country")
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(f"{where}: name must be a non-empty string")
    if country is not None and not (isinstance(country, str) and len(country) == 2):
        raise PolicyError(f'{where}: country must be a two-letter ISO code, e.g. country = "GB"')
    plmns = tuple(strings(data, "plmn", where, PolicyError))
    for plmn in plmns:
        mcc, _, mnc = plmn.partition("-")
        if not (len(mcc) == 3 and mcc.isdigit() and len(mnc) in (2, 3) and mnc.isdigit()):
            raise PolicyError(f"{where}: PLMN {plmn!r} is not MCC-MNC (e.g. 234-15)")
    prefixes = _digits(data, "gt_prefixes", where)
    if not prefixes:
        raise PolicyError(f"{where}: gt_prefixes must name at least one GT prefix")
    point_codes = tuple(whole_numbers(data, "point_codes", where, PolicyError))
    realms = tuple(
        r.lower().strip(".") for r in strings(data, "diameter_realms", where, PolicyError)
    )
    return Operator(name, plmns, prefixes, point_codes, country.upper() if country else None,
                    realms)  # fmt: skip


def _thresholds(data: Any) -> Thresholds:
    where, default = "[thresholds]", Thresholds()
    limits = table(data, where, PolicyError)
    refuse_unknown(limits, set(Thresholds.__dataclass_fields__), where, PolicyError)
    fan_out = number(limits, "fan_out_subscribers", default.fan_out_subscribers, where,
                     PolicyError, whole=True)  # fmt: skip
    return Thresholds(
        fan_out_subscribers=int(fan_out),
        **{
            key: float(number(limits, key, getattr(default, key), where, PolicyError))
            for key in ("fan_out_window_s", "sri_sm_followup_s", "max_speed_kmh")
        },
    )


def parse_policy(text: str) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}") from None
    if "home" not in data:
        raise PolicyError("the policy needs a [home] table")
    refuse_unknown(data, _TABLES, "the policy", PolicyError)
    home = _operator(data["home"], "[home]")
    partners = tables(data, "partners", PolicyError)
    lists = table(data.get("lists", {}), "[lists]", PolicyError)
    refuse_unknown(lists, _LIST_KEYS, "[lists]", PolicyError)
    return Policy(
        home=home,
        partners=tuple(_operator(p, f"[[partners]] #{i + 1}") for i, p in enumerate(partners)),
        allow_gts=frozenset(_digits(lists, "allow_gts", "[lists]")),
        deny_gts=frozenset(_digits(lists, "deny_gts", "[lists]")),
        leased_prefixes=_digits(lists, "leased_prefixes", "[lists]"),
        thresholds=_thresholds(data.get("thresholds", {})),
    )


def load_policy(path: str | Path) -> Policy:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path} is not a policy: not UTF-8 text (a TOML file)") from None
    return parse_policy(text)
