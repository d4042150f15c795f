"""Deterministic generator of a realistic STIX 2.1 corpus for the TAXII benchmark.

The same ``seed`` always yields the same objects in the same order, and a corpus
of N objects is the first N objects of any larger corpus with the same seed, so
the 100k and 1M runs share their first 100k objects.

Every block of 20 consecutive objects holds the same mix of types, in a shuffled
order, so that type filters select a predictable share of any prefix:

=================  =====
type               share
=================  =====
indicator          40 %
relationship       25 %
sighting           10 %
note               10 %
identity            5 %
attack-pattern      5 %
malware             5 %
=================  =====

Objects carry TLP 2.0 markings (``src/telsec/stix/tlp.py``): mostly CLEAR, GREEN
and AMBER, a few AMBER+STRICT, some unmarked (the collection's default TLP then
applies); none are RED, so that every object stays readable by the member that
posted it and every target serves the same objects back.  The average object is
about 1 KB of JSON.
"""

from __future__ import annotations

import random
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

# The bench scripts run from a checkout; make the telsec sources importable even
# when the package is not installed in the running interpreter.
_SRC = Path(__file__).resolve().parent.parent / "src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from telsec.stix.tlp import MARKING_TO_TLP, TLP2_MARKING_IDS, Tlp  # noqa: E402

StixObject = dict[str, Any]

__all__ = ["MARKING_TO_TLP", "TYPE_SHARES", "Corpus", "CorpusGenerator", "build_corpus", "generate"]

# One block of 20 objects; blocks after the first are shuffled.  The first block
# starts with the referable objects so that every reference points backwards.
BLOCK: tuple[str, ...] = (
    ("identity", "attack-pattern", "malware")
    + ("indicator",) * 8
    + ("relationship",) * 5
    + ("sighting",) * 2
    + ("note",) * 2
)
TYPE_SHARES: dict[str, float] = {t: n / len(BLOCK) for t, n in Counter(BLOCK).items()}

# (marking ids, cumulative weight); the empty tuple means "no object marking".
_TLP_CHOICES: tuple[tuple[tuple[str, ...], int], ...] = (
    ((TLP2_MARKING_IDS[Tlp.CLEAR],), 30),
    ((TLP2_MARKING_IDS[Tlp.GREEN],), 70),
    ((TLP2_MARKING_IDS[Tlp.AMBER],), 92),
    ((TLP2_MARKING_IDS[Tlp.AMBER_STRICT],), 95),
    ((), 100),
)

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_SPAN_SECONDS = 2 * 365 * 24 * 3600

_WORDS = (
    "signalling SS7 Diameter GTP-C GTP-U SIP IMS VoLTE VoWiFi roaming partner interconnect "
    "SMS home routing A2P grey route flash call wangiri IRSF premium rate smishing vishing "
    "SIM swap port-out OTP interception location tracking IMSI catcher rogue base station "
    "MAP SendRoutingInfo ProvideSubscriberInfo UpdateLocation AnyTimeInterrogation "
    "subscriber HLR HSS UDM AMF SMF N32 SEPP firewall filtering rule campaign botnet "
    "credential stuffing core network lawful interception subscriber data exfiltration "
    "fraud operator mobile network anomaly observed traffic spike session hijack "
    "toll fraud call forwarding voicemail CLI spoofing number range hosted "
    "infrastructure command and control payload dropper banking trojan spyware"
).split()

_TLDS = ("com", "net", "org", "info", "top", "xyz", "online", "site", "io", "co")
_URL_PATHS = ("login", "verify", "account", "update", "sms", "otp", "pay", "track", "parcel")
_COUNTRY_PREFIXES = ("+44", "+33", "+49", "+34", "+39", "+31", "+46", "+48", "+351", "+353")
_INDICATOR_TYPES = ("malicious-activity", "anomalous-activity", "compromised", "attribution")
_MALWARE_TYPES = ("trojan", "spyware", "remote-access-trojan", "dropper", "bot")
_KILL_CHAIN = (
    "reconnaissance",
    "initial-access",
    "collection",
    "credential-access",
    "command-and-control",
    "exfiltration",
    "impact",
)
_REL_TYPES = {
    ("indicator", "malware"): "indicates",
    ("indicator", "attack-pattern"): "indicates",
    ("malware", "attack-pattern"): "uses",
    ("attack-pattern", "identity"): "targets",
    ("malware", "identity"): "targets",
}
_REF_TYPES = ("identity", "attack-pattern", "malware", "indicator")


def _ts(moment: datetime) -> str:
    """STIX timestamp with millisecond precision."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class _Pools:
    """Ids generated so far, per referable type (bounded, most recent kept)."""

    by_type: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in _REF_TYPES})
    limit: int = 2000

    def add(self, stix_type: str, stix_id: str) -> None:
        pool = self.by_type.get(stix_type)
        if pool is None:
            return
        if len(pool) >= self.limit:
            pool.pop(0)
        pool.append(stix_id)


class CorpusGenerator:
    """Yields STIX 2.1 objects as plain dicts, deterministically for a seed."""

    def __init__(self, seed: int = 20251123) -> None:
        self.rng = random.Random(seed)
        self.pools = _Pools()
        self.identities: list[str] = []

    # -- helpers -----------------------------------------------------------
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _sentence(self, low: int, high: int) -> str:
        words = self.rng.choices(_WORDS, k=self.rng.randint(low, high))
        return " ".join(words).capitalize() + "."

    def _markings(self) -> tuple[str, ...]:
        roll = self.rng.randrange(100)
        for refs, cumulative in _TLP_CHOICES:
            if roll < cumulative:
                return refs
        return ()

    def _common(self, stix_type: str) -> StixObject:
        created = _EPOCH + timedelta(seconds=self.rng.randrange(_SPAN_SECONDS))
        modified = created + timedelta(seconds=self.rng.randrange(0, 30 * 24 * 3600))
        obj: StixObject = {
            "type": stix_type,
            "spec_version": "2.1",
            "id": f"{stix_type}--{self._uuid()}",
            "created": _ts(created),
            "modified": _ts(modified),
        }
        if self.identities and stix_type != "identity":
            obj["created_by_ref"] = self.rng.choice(self.identities)
        markings = self._markings()
        if markings:
            obj["object_marking_refs"] = list(markings)
        return obj

    def _pick(self, stix_type: str) -> str:
        return self.rng.choice(self.pools.by_type[stix_type])

    def _external_reference(self) -> dict[str, str]:
        num = self.rng.randrange(1000, 99999)
        return {
            "source_name": "operator-incident-report",
            "description": self._sentence(4, 9),
            "url": f"https://cert.operator{self.rng.randrange(1, 60)}.example/reports/{num}",
            "external_id": f"OIR-{num}",
        }

    def _kill_chain(self) -> list[dict[str, str]]:
        return [
            {"kill_chain_name": "mitre-attack", "phase_name": phase}
            for phase in self.rng.sample(_KILL_CHAIN, k=self.rng.randint(1, 2))
        ]

    def _ipv4(self) -> str:
        r = self.rng
        return f"{r.randrange(1, 224)}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def _domain(self) -> str:
        labels = self.rng.choices((*_URL_PATHS, "secure", "mobile", "id", "portal"), k=2)
        return f"{'-'.join(labels)}{self.rng.randrange(10000)}.{self.rng.choice(_TLDS)}"

    def _msisdn(self) -> str:
        return self.rng.choice(_COUNTRY_PREFIXES) + str(self.rng.randrange(10**9, 10**10))

    # -- object types --------------------------------------------------------
    def identity(self) -> StixObject:
        obj = self._common("identity")
        n = self.rng.randrange(1, 500)
        obj.update(
            {
                "name": f"Mobile Operator {n} Security Operations",
                "description": self._sentence(30, 50),
                "identity_class": "organization",
                "sectors": ["telecommunications"],
                "contact_information": f"soc@operator{n}.example",
                "roles": ["security-operations", "fraud-management"],
            }
        )
        self.identities.append(obj["id"])
        return obj

    def attack_pattern(self) -> StixObject:
        obj = self._common("attack-pattern")
        technique = self.rng.randrange(1000, 1700)
        obj.update(
            {
                "name": f"{self.rng.choice(_WORDS)} {self.rng.choice(_WORDS)} abuse".capitalize(),
                "description": self._sentence(25, 45),
                "kill_chain_phases": self._kill_chain(),
                "external_references": [
                    {
                        "source_name": "mitre-attack",
                        "external_id": f"T{technique}",
                        "url": f"https://attack.mitre.org/techniques/T{technique}/",
                    },
                    {
                        "source_name": "mitre-fight",
                        "external_id": f"FGT{technique + 4000}",
                        "url": f"https://fight.mitre.org/techniques/FGT{technique + 4000}/",
                    },
                ],
            }
        )
        return obj

    def malware(self) -> StixObject:
        obj = self._common("malware")
        obj.update(
            {
                "name": f"{self.rng.choice(_WORDS).capitalize()}Bot-{self.rng.randrange(100)}",
                "description": self._sentence(30, 50),
                "is_family": True,
                "malware_types": self.rng.sample(_MALWARE_TYPES, k=2),
                "kill_chain_phases": self._kill_chain(),
                "external_references": [self._external_reference()],
            }
        )
        return obj

    def indicator(self) -> StixObject:
        obj = self._common("indicator")
        kind = self.rng.randrange(4)
        if kind == 0:
            value = self._ipv4()
            pattern = f"[ipv4-addr:value = '{value}']"
            label = "IPv4 address"
        elif kind == 1:
            value = self._domain()
            pattern = f"[domain-name:value = '{value}']"
            label = "domain"
        elif kind == 2:
            value = f"https://{self._domain()}/{self.rng.choice(_URL_PATHS)}?id={self._uuid()[:8]}"
            pattern = f"[url:value = '{value}']"
            label = "URL"
        else:
            value = self._msisdn()
            pattern = (
                f"[user-account:account_login = '{value}' AND user-account:account_type = 'msisdn']"
            )
            label = "MSISDN"
        valid_from = datetime.fromisoformat(obj["created"].replace("Z", "+00:00"))
        obj.update(
            {
                "name": f"Malicious {label} {value}"[:120],
                "description": self._sentence(25, 45),
                "indicator_types": [self.rng.choice(_INDICATOR_TYPES)],
                "pattern": pattern,
                "pattern_type": "stix",
                "pattern_version": "2.1",
                "valid_from": _ts(valid_from),
                "valid_until": _ts(valid_from + timedelta(days=self.rng.randrange(30, 365))),
                "kill_chain_phases": self._kill_chain(),
                "confidence": self.rng.randrange(30, 100),
                "labels": self.rng.sample(("smishing", "fraud", "signalling", "botnet", "c2"), 2),
            }
        )
        if self.rng.random() < 0.5:
            obj["external_references"] = [self._external_reference()]
        return obj

    def relationship(self) -> StixObject:
        obj = self._common("relationship")
        source_type, target_type = self.rng.choice(tuple(_REL_TYPES))
        obj.update(
            {
                "relationship_type": _REL_TYPES[(source_type, target_type)],
                "source_ref": self._pick(source_type),
                "target_ref": self._pick(target_type),
                "description": self._sentence(30, 55),
                "confidence": self.rng.randrange(30, 100),
                "external_references": [self._external_reference()],
            }
        )
        return obj

    def sighting(self) -> StixObject:
        obj = self._common("sighting")
        first = datetime.fromisoformat(obj["created"].replace("Z", "+00:00"))
        obj.update(
            {
                "sighting_of_ref": self._pick("indicator"),
                "where_sighted_refs": self.rng.sample(
                    self.identities, k=min(len(self.identities), self.rng.randint(1, 3))
                ),
                "first_seen": _ts(first),
                "last_seen": _ts(first + timedelta(hours=self.rng.randrange(1, 96))),
                "count": self.rng.randrange(1, 5000),
                "description": self._sentence(30, 55),
                "external_references": [self._external_reference()],
            }
        )
        return obj

    def note(self) -> StixObject:
        obj = self._common("note")
        refs = [self._pick(self.rng.choice(_REF_TYPES)) for _ in range(self.rng.randint(1, 3))]
        obj.update(
            {
                "abstract": self._sentence(5, 10),
                "content": self._sentence(45, 80),
                "authors": [f"analyst{self.rng.randrange(1, 200)}@operator.example"],
                "object_refs": sorted(set(refs)),
            }
        )
        return obj

    # -- stream ---------------------------------------------------------------
    def objects(self, count: int) -> Iterator[StixObject]:
        """The first ``count`` objects of this generator's stream."""
        makers = {
            "identity": self.identity,
            "attack-pattern": self.attack_pattern,
            "malware": self.malware,
            "indicator": self.indicator,
            "relationship": self.relationship,
            "sighting": self.sighting,
            "note": self.note,
        }
        produced = 0
        block = list(BLOCK)
        first = True
        while produced < count:
            if not first:
                self.rng.shuffle(block)
            first = False
            for stix_type in block:
                if produced >= count:
                    return
                obj = makers[stix_type]()
                self.pools.add(stix_type, obj["id"])
                produced += 1
                yield obj


def generate(count: int, seed: int = 20251123) -> Iterator[StixObject]:
    """The first ``count`` objects of the corpus for ``seed``."""
    return CorpusGenerator(seed).objects(count)


@dataclass
class Envelope:
    """One pre-serialised TAXII envelope and what it holds."""

    body: bytes
    count: int
    first_id: str
    types: dict[str, int]


@dataclass
class Corpus:
    """A corpus cut into pre-serialised TAXII envelopes."""

    envelopes: list[Envelope]

    @property
    def count(self) -> int:
        return sum(e.count for e in self.envelopes)

    @property
    def nbytes(self) -> int:
        return sum(len(e.body) for e in self.envelopes)

    def type_counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for env in self.envelopes:
            total.update(env.types)
        return total

    def prefix(self, count: int) -> Corpus:
        """The corpus of the first ``count`` objects (on an envelope boundary)."""
        taken: list[Envelope] = []
        n = 0
        for env in self.envelopes:
            if n >= count:
                break
            taken.append(env)
            n += env.count
        if n != count:
            raise ValueError(f"{count} is not on an envelope boundary of this corpus")
        return Corpus(taken)


def build_corpus(
    count: int,
    batch: int = 1000,
    seed: int = 20251123,
    progress: Any = None,
) -> Corpus:
    """Generate ``count`` objects and serialise them as envelopes of ``batch``.

    ``progress`` is an optional callable taking the number of objects just added.
    """
    envelopes: list[Envelope] = []
    chunk: list[StixObject] = []
    for obj in generate(count, seed):
        chunk.append(obj)
        if len(chunk) == batch:
            envelopes.append(_envelope(chunk))
            if progress is not None:
                progress(len(chunk))
            chunk = []
    if chunk:
        envelopes.append(_envelope(chunk))
        if progress is not None:
            progress(len(chunk))
    return Corpus(envelopes)


def _envelope(chunk: list[StixObject]) -> Envelope:
    return Envelope(
        body=orjson.dumps({"objects": chunk}),
        count=len(chunk),
        first_id=chunk[0]["id"],
        types=dict(Counter(o["type"] for o in chunk)),
    )
