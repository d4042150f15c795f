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


def _operator(data: Any, where: str) -> Operator:
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: expected a table")
    try:
        name = str(data["name"])
        plmns = tuple(str(p) for p in data.get("plmn", []))
        prefixes = tuple(str(p) for p in data["gt_prefixes"])
        pcs = tuple(int(p) for p in data.get("point_codes", []))
        realms = tuple(str(r).lower().strip(".") for r in data.get("diameter_realms", []))
    except KeyError as exc:
        raise PolicyError(f"{where}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{where}: {exc}") from None
    for plmn in plmns:
        mcc, _, mnc = plmn.partition("-")
        if not (len(mcc) == 3 and mcc.isdigit() and len(mnc) in (2, 3) and mnc.isdigit()):
            raise PolicyError(f"{where}: PLMN {plmn!r} is not MCC-MNC (e.g. 234-15)")
    if not prefixes or not all(p.isdigit() for p in prefixes):
        raise PolicyError(f"{where}: gt_prefixes must be digit strings")
    country = data.get("country")
    return Operator(name, plmns, prefixes, pcs, str(country).upper() if country else None, realms)


def parse_policy(text: str) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}") from None
    if "home" not in data:
        raise PolicyError("the policy needs a [home] table")
    home = _operator(data["home"], "[home]")
    partners = tuple(
        _operator(p, f"[[partners]] #{i + 1}") for i, p in enumerate(data.get("partners", []))
    )
    lists = data.get("lists", {})
    limits = data.get("thresholds", {})
    try:
        thresholds = Thresholds(
            fan_out_subscribers=int(limits.get("fan_out_subscribers", 5)),
            fan_out_window_s=float(limits.get("fan_out_window_s", 600)),
            sri_sm_followup_s=float(limits.get("sri_sm_followup_s", 60)),
            max_speed_kmh=float(limits.get("max_speed_kmh", 1000)),
        )
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"[thresholds]: {exc}") from None
    unknown = set(limits) - set(Thresholds.__dataclass_fields__)
    if unknown:
        raise PolicyError(f"[thresholds]: unknown setting(s) {', '.join(sorted(unknown))}")
    return Policy(
        home=home,
        partners=partners,
        allow_gts=frozenset(str(g) for g in lists.get("allow_gts", [])),
        deny_gts=frozenset(str(g) for g in lists.get("deny_gts", [])),
        leased_prefixes=tuple(str(p) for p in lists.get("leased_prefixes", [])),
        thresholds=thresholds,
    )


def load_policy(path: str | Path) -> Policy:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path} is not a policy: not UTF-8 text (a TOML file)") from None
    return parse_policy(text)
