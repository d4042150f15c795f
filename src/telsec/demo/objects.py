"""A realistic, deterministic demo data set for a five-regulator telsec exchange.

The five regulators (Ofcom, FCC, ISED, ACMA, NCSC-NZ) share, through the
``coalition`` API root, what their operators see on the telecom networks:

``coalition-signalling``
    SS7 misuse from leased or spoofed Global Titles (GSMA FS.11 category 1
    ``anyTimeInterrogation`` / ``sendRoutingInfo`` / ``sendIMSI``, category 2
    ``provideSubscriberInfo`` / ``insertSubscriberData``, category 3
    ``updateLocation`` velocity), a surveillance-for-hire actor leasing GTs and
    a state-sponsored intrusion into an SMS centre.
``coalition-radio``
    SMS blasters: fake GSM base stations in vehicles pushing smishing texts,
    tracked window by window through London, Manchester, Toronto, Sydney,
    Auckland and Washington DC.
``coalition-fraud``
    Smishing campaigns (parcel redelivery fee, bank "new payee", unpaid toll
    road charge, tax refund) with their senders, domains and URLs; the parcel
    campaign is linked to the London SMS blaster.

``uk-reports`` (API root ``uk``) carries what the GB operators report to Ofcom.

:func:`demo_objects` returns, per collection alias, the batches each producing
organisation posts, in posting order.  Every SDO/SRO is ``created_by_ref`` its
producer, whose identity object opens its first batch in each collection.
Techniques are referenced by the ids of the FiGHT/MoTIF attack-patterns the
server publishes itself; they are not part of the data set.

Everything is fictional: operator and brand names are invented, phone numbers
come from the ranges reserved for drama and documentation (Ofcom 07700 900xxx,
NANP 555-01xx, ACMA 0491 570 xxx), domains end in ``.example`` or ``.test`` and
IP addresses are RFC 5737 documentation addresses.  Global Title digits and
cell identities only look like real numbering.

The data do not depend on anything but ``now_us``: ids are UUIDv5s of fixed
names (and, for SCOs, the STIX 2.1 section 2.9 deterministic ids), and all the
randomness (jitter, counts) comes from a ``random.Random`` with a fixed seed.
Two calls with the same ``now_us`` return equal data; two calls with different
ones return the same ids with shifted timestamps.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Sequence
from typing import Any, Final

from telsec.stix.ids import organisation_identity_id, telsec_id, value_sco
from telsec.stix.techniques import technique_by_external_id
from telsec.stix.telecom import cell_identity, global_title, sms_sender, with_red_recipients
from telsec.stix.tlp import TLP2_MARKING_IDS, Tlp

__all__ = [
    "COALITION_COLLECTIONS",
    "COLLECTIONS",
    "DEMO_ORGANISATIONS",
    "GB_OPERATORS",
    "REGULATORS",
    "UK_COLLECTIONS",
    "demo_objects",
]

Obj = dict[str, Any]

REGULATORS: Final = ("Ofcom", "FCC", "ISED", "ACMA", "NCSC-NZ")
GB_OPERATORS: Final = ("Albion Mobile", "Thames Telecom", "Pennine Networks")

# (name, ISO 3166-1 alpha-2 country).  The operators are fictional.
DEMO_ORGANISATIONS: list[tuple[str, str]] = [
    ("Ofcom", "GB"),
    ("FCC", "US"),
    ("ISED", "CA"),
    ("ACMA", "AU"),
    ("NCSC-NZ", "NZ"),
    ("Albion Mobile", "GB"),
    ("Thames Telecom", "GB"),
    ("Pennine Networks", "GB"),
    ("Maple Wireless", "CA"),
    ("Potomac Cellular", "US"),
    ("Wattle Mobile", "AU"),
    ("Fernleaf Mobile", "NZ"),
]

# Collection aliases: API root "coalition" (the five regulators read and write)
# and API root "uk" (Ofcom and the GB operators).
COALITION_COLLECTIONS: Final = ("coalition-signalling", "coalition-fraud", "coalition-radio")
UK_COLLECTIONS: Final = ("uk-reports",)
COLLECTIONS: Final = (*COALITION_COLLECTIONS, *UK_COLLECTIONS)

_SEED: Final = 0x7E15EC
_SECOND: Final = 1_000_000
_MINUTE: Final = 60 * _SECOND
_HOUR: Final = 60 * _MINUTE
_SPAN: Final = 14 * 24 * _HOUR  # every timestamp lies within the 14 days before now

_DESCRIPTIONS: Final[dict[str, str]] = {
    "Ofcom": "UK communications regulator; telecoms security duties under the "
    "Communications Act 2003 as amended by the Telecommunications (Security) Act 2021.",
    "FCC": "US Federal Communications Commission, Public Safety and Homeland Security Bureau.",
    "ISED": "Innovation, Science and Economic Development Canada, telecommunications "
    "security directorate.",
    "ACMA": "Australian Communications and Media Authority, working with the Department "
    "of Home Affairs on telecommunications security.",
    "NCSC-NZ": "National Cyber Security Centre New Zealand, telecommunications security "
    "(TICSA) team.",
    "Albion Mobile": "GB mobile network operator (fictional).",
    "Thames Telecom": "GB mobile and fixed network operator (fictional).",
    "Pennine Networks": "GB mobile virtual and wholesale SMS operator (fictional).",
}


def _ts(us: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` for microseconds since the epoch."""
    seconds, micros = divmod(us, _SECOND)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros // 1000:03d}Z"


def _org(name: str) -> str:
    return organisation_identity_id(name)


def _technique(ext_id: str) -> str:
    """The id of FiGHT/MoTIF technique ``ext_id`` (the server publishes the object)."""
    obj = technique_by_external_id(ext_id)
    if obj is None:
        raise LookupError(f"unknown technique {ext_id}")
    technique_id: str = obj["id"]
    return technique_id


def _ref(target: Obj | str) -> str:
    if isinstance(target, str):
        return target
    ref: str = target["id"]
    return ref


def _refs(targets: Sequence[Obj | str]) -> list[str]:
    return list(dict.fromkeys(_ref(t) for t in targets))


def _sco(stix_type: str, value: str) -> Obj:
    """A standard SCO identified by its ``value`` (STIX 2.1 section 2.9 id)."""
    return dict(value_sco(stix_type, value))


def _mark(obj: Obj, tlp: Tlp | None, red_to: Sequence[str] = ()) -> Obj:
    """Mark ``obj`` (``None``: no marking, the collection default applies)."""
    if tlp is None:
        if red_to:
            raise ValueError("RED recipients on an unmarked object")
        return obj
    obj["object_marking_refs"] = [TLP2_MARKING_IDS[tlp]]
    if tlp is Tlp.RED:
        if not red_to:
            raise ValueError(f"{obj['id']}: a TLP:RED object must name its recipients")
        return with_red_recipients(obj, [_org(name) for name in red_to])
    if red_to:
        raise ValueError(f"{obj['id']}: recipients on a {tlp.display} object")
    return obj


def _marked(sco: Obj, tlp: Tlp | None) -> Obj:
    return _mark(copy.deepcopy(sco), tlp)


class _Demo:
    """Accumulates the batches of every collection."""

    def __init__(self, now_us: int) -> None:
        self.now = now_us
        self.rng = random.Random(_SEED)
        self.out: dict[str, list[tuple[str, list[Obj]]]] = {c: [] for c in COLLECTIONS}
        self._posted: dict[str, set[str]] = {c: set() for c in COLLECTIONS}
        self._producers: dict[str, set[str]] = {c: set() for c in COLLECTIONS}
        self._created: dict[str, int] = {}  # SDO/SRO id -> created of its first version

    # ------------------------------------------------------------- time

    def clamp(self, us: int) -> int:
        """``us`` moved inside [now - 14 days + 1 min, now - 1 min], whole milliseconds."""
        us = max(min(us, self.now - _MINUTE), self.now - _SPAN + _MINUTE)
        return us - us % 1000

    def at(self, hours_ago: float, jitter_minutes: int = 20) -> int:
        """``hours_ago`` before now, up to ``jitter_minutes`` earlier."""
        jitter = self.rng.randint(0, jitter_minutes * 60_000) * 1000
        return self.clamp(self.now - int(hours_ago * _HOUR) - jitter)

    def after(self, us: int, low_minutes: int, high_minutes: int) -> int:
        """A moment ``low``..``high`` minutes after ``us`` (never in the future)."""
        delta = self.rng.randint(low_minutes * 60_000, high_minutes * 60_000) * 1000
        return self.clamp(us + delta)

    # ------------------------------------------------------------- posting

    def identity(self, name: str) -> Obj:
        index = [n for n, _ in DEMO_ORGANISATIONS].index(name)
        created = _ts(self.clamp(self.now - _SPAN + (index + 2) * 7 * _MINUTE))
        regulator = name in REGULATORS
        obj: Obj = {
            "type": "identity",
            "spec_version": "2.1",
            "id": _org(name),
            "created_by_ref": _org(name),
            "created": created,
            "modified": created,
            "name": name,
            "description": _DESCRIPTIONS[name],
            "identity_class": "organization",
            "sectors": ["government-public-services" if regulator else "telecommunications"],
            "roles": ["regulator" if regulator else "network operator"],
        }
        return _mark(obj, Tlp.CLEAR)

    def post(self, collection: str, producer: str, objects: Sequence[Obj]) -> None:
        """Append a batch; SCOs already in the collection are not posted again."""
        batch: list[Obj] = []
        if producer not in self._producers[collection]:
            self._producers[collection].add(producer)
            batch.append(self.identity(producer))
        posted = self._posted[collection]
        for obj in objects:
            if "created" not in obj and obj["id"] in posted:
                continue
            posted.add(obj["id"])
            batch.append(obj)
        self.out[collection].append((producer, batch))

    # ------------------------------------------------------------- SDOs / SROs

    def sdo(
        self,
        stix_type: str,
        producer: str,
        key: str,
        created: int,
        tlp: Tlp | None,
        *,
        red_to: Sequence[str] = (),
        **props: Any,
    ) -> Obj:
        """An SDO or SRO created by ``producer``.

        ``created`` is moved after the creation of every object it references,
        so that nothing refers to an object made later than itself.  A report
        is published when created.
        """
        referenced = [
            self._created[ref]
            for name, value in props.items()
            if name.endswith(("_ref", "_refs"))
            for ref in (value if isinstance(value, list) else [value])
            if ref in self._created
        ]
        if referenced and created <= max(referenced):
            created = self.after(max(referenced), 1, 15)
        stamp = _ts(created)
        obj: Obj = {
            "type": stix_type,
            "spec_version": "2.1",
            "id": telsec_id(stix_type, f"demo/{producer}/{key}"),
            "created_by_ref": _org(producer),
            "created": stamp,
            "modified": stamp,
        }
        obj.update({name: value for name, value in props.items() if value is not None})
        if stix_type == "report":
            obj["published"] = stamp
        self._created.setdefault(obj["id"], created)
        return _mark(obj, tlp, red_to)

    def revise(self, obj: Obj, modified: int, **changes: Any) -> Obj:
        """A later version of ``obj`` (same id, later ``modified``)."""
        stamp = _ts(modified)
        if stamp <= obj["modified"]:
            raise ValueError(f"{obj['id']}: new version {stamp} not after {obj['modified']}")
        new = copy.deepcopy(obj)
        new.update(changes)
        new["modified"] = stamp
        return new

    def indicator(
        self,
        producer: str,
        key: str,
        created: int,
        tlp: Tlp | None,
        *,
        name: str,
        pattern: str,
        description: str,
        types: Sequence[str] = ("malicious-activity",),
        valid_days: int | None = 90,
        confidence: int | None = None,
        red_to: Sequence[str] = (),
    ) -> Obj:
        valid_until = _ts(created + valid_days * 24 * _HOUR) if valid_days else None
        return self.sdo(
            "indicator",
            producer,
            f"indicator/{key}",
            created,
            tlp,
            red_to=red_to,
            name=name,
            description=description,
            indicator_types=list(types),
            pattern=pattern,
            pattern_type="stix",
            pattern_version="2.1",
            valid_from=_ts(created),
            valid_until=valid_until,
            confidence=confidence,
        )

    def rel(
        self,
        producer: str,
        source: Obj | str,
        relationship_type: str,
        target: Obj | str,
        created: int,
        tlp: Tlp | None,
        *,
        description: str | None = None,
        red_to: Sequence[str] = (),
    ) -> Obj:
        source_ref, target_ref = _ref(source), _ref(target)
        return self.sdo(
            "relationship",
            producer,
            f"relationship/{source_ref}/{relationship_type}/{target_ref}",
            created,
            tlp,
            red_to=red_to,
            relationship_type=relationship_type,
            source_ref=source_ref,
            target_ref=target_ref,
            description=description,
        )

    def indicates(
        self, producer: str, indicator: Obj, ext_ids: Sequence[str], created: int, tlp: Tlp | None
    ) -> list[Obj]:
        """``indicator --indicates--> technique`` for each FiGHT/MoTIF id."""
        return [
            self.rel(producer, indicator, "indicates", _technique(ext_id), created, tlp)
            for ext_id in ext_ids
        ]

    def sighting(
        self,
        producer: str,
        key: str,
        of: Obj,
        first: int,
        last: int,
        count: int,
        where: Sequence[Obj | str],
        tlp: Tlp | None,
        *,
        observed: Sequence[Obj] = (),
        description: str | None = None,
        red_to: Sequence[str] = (),
    ) -> Obj:
        created = self.after(last, 10, 150)
        return self.sdo(
            "sighting",
            producer,
            f"sighting/{key}",
            created,
            tlp,
            red_to=red_to,
            description=description,
            first_seen=_ts(first),
            last_seen=_ts(last),
            count=count,
            sighting_of_ref=_ref(of),
            observed_data_refs=_refs(observed) or None,
            where_sighted_refs=_refs(where),
        )

    def observed(
        self,
        producer: str,
        key: str,
        first: int,
        last: int,
        number: int,
        refs: Sequence[Obj],
        tlp: Tlp | None,
    ) -> Obj:
        created = self.after(last, 5, 90)
        return self.sdo(
            "observed-data",
            producer,
            f"observed-data/{key}",
            created,
            tlp,
            first_observed=_ts(first),
            last_observed=_ts(last),
            number_observed=number,
            object_refs=_refs(refs),
        )

    def note(
        self,
        producer: str,
        key: str,
        created: int,
        tlp: Tlp | None,
        *,
        abstract: str,
        content: str,
        refs: Sequence[Obj | str],
        red_to: Sequence[str] = (),
    ) -> Obj:
        return self.sdo(
            "note",
            producer,
            f"note/{key}",
            created,
            tlp,
            red_to=red_to,
            abstract=abstract,
            content=content,
            authors=[producer],
            object_refs=_refs(refs),
        )

    def location(
        self,
        producer: str,
        key: str,
        created: int,
        *,
        name: str,
        lat: float,
        lon: float,
        city: str,
        country: str,
        tlp: Tlp | None = Tlp.GREEN,
    ) -> Obj:
        return self.sdo(
            "location",
            producer,
            f"location/{key}",
            created,
            tlp,
            name=name,
            latitude=lat,
            longitude=lon,
            precision=250.0,
            city=city,
            country=country,
        )

    def report(
        self,
        producer: str,
        key: str,
        created: int,
        tlp: Tlp | None,
        *,
        name: str,
        description: str,
        refs: Sequence[Obj | str],
        types: Sequence[str] = ("threat-report",),
        red_to: Sequence[str] = (),
    ) -> Obj:
        return self.sdo(
            "report",
            producer,
            f"report/{key}",
            created,
            tlp,
            red_to=red_to,
            name=name,
            description=description,
            report_types=list(types),
            object_refs=_refs(refs),
        )


# ---------------------------------------------------------------------------
# Shared observables (the same SCO, same id, wherever it is reported)
# ---------------------------------------------------------------------------

# Leased / spoofed Global Titles.
GT_NIGHTJAR = global_title("423660710015")  # LI range leased by the surveillance vendor
GT_SPOOFED_RANGE = global_title("447781000410")  # GG range, spoofed for SRI-for-SM
GT_SENDIMSI = global_title("23769901230")  # CM, SendIMSI / SRI sweeps
GT_PSI = global_title("88237100150")  # +882 international network, PSI / ISD
GT_ATI_BURST = global_title("6281100091")  # ID, ATI burst
GT_UL = global_title("25678200341")  # UG, UpdateLocation velocity anomalies
GT_ROAMING_HUB = global_title("35387000123")  # IE roaming hub: a false positive
GT_CORMORANT = global_title("50769000115")  # PA, used by the state-sponsored actor

# Fake cells broadcast by SMS blasters (real-looking PLMN ids, unused LACs).
CELL_LONDON_1 = cell_identity("gsm", 234, "10", lac=40001, cid=1111, arfcn=975, bsic=63)
CELL_LONDON_2 = cell_identity("gsm", 234, "15", lac=40001, cid=2222, arfcn=979, bsic=63)
CELL_MANCHESTER = cell_identity("gsm", 234, "30", lac=4321, cid=777, arfcn=18, bsic=7)
CELL_TORONTO = cell_identity("gsm", 302, "720", lac=65001, cid=4242, arfcn=128, bsic=21)
CELL_SYDNEY = cell_identity("gsm", 505, "01", lac=2001, cid=99, arfcn=62, bsic=12)
CELL_AUCKLAND = cell_identity("gsm", 530, "05", lac=1, cid=1, arfcn=100, bsic=5)
CELL_DC = cell_identity("gsm", 310, "260", lac=65534, cid=12, arfcn=190, bsic=33)

# Smishing senders, domains and URLs.
SMS_PARCEL = sms_sender("SwiftParcel")
SMS_PARCEL_GB1 = sms_sender("+447700900183")
SMS_BANK = sms_sender("KBank-Alert")
SMS_BANK_GB = sms_sender("+447700900552")
SMS_TOLL_1 = sms_sender("+12025550147")
SMS_TOLL_2 = sms_sender("+12025550181")
SMS_TAX_CA = sms_sender("+14165550123")
SMS_TAX_AU = sms_sender("+61491570156")

DOM_PARCEL_1 = _sco("domain-name", "swiftparcel-redelivery.example")
DOM_PARCEL_2 = _sco("domain-name", "swlftparcel.example")
DOM_BANK_1 = _sco("domain-name", "kingsbridge-payee.test")
DOM_TOLL_1 = _sco("domain-name", "tolllink-unpaid.example")
DOM_TOLL_2 = _sco("domain-name", "toll1ink.example")
DOM_TAX_1 = _sco("domain-name", "taxrefund-claim.example")
DOM_TAX_2 = _sco("domain-name", "refund-revenue.test")

URL_PARCEL_1 = _sco("url", "https://swiftparcel-redelivery.example/r/GB77341")
URL_PARCEL_2 = _sco("url", "https://swlftparcel.example/fee")
URL_BANK = _sco("url", "https://kingsbridge-payee.test/verify?ref=NP2931")
URL_TOLL_1 = _sco("url", "https://tolllink-unpaid.example/pay/US")
URL_TAX_1 = _sco("url", "https://taxrefund-claim.example/ca/claim")
URL_TAX_2 = _sco("url", "https://refund-revenue.test/au")

IP_CORMORANT_1 = _sco("ipv4-addr", "203.0.113.54")
IP_CORMORANT_2 = _sco("ipv4-addr", "198.51.100.23")


def _gt_pattern(gt: Obj) -> str:
    return f"[global-title:digits = '{gt['digits']}']"


def _value_pattern(sco: Obj) -> str:
    return f"[{sco['type']}:value = '{sco['value']}']"


def _sender_pattern(sender: Obj) -> str:
    return f"[sms-sender:value = '{sender['value']}' AND sms-sender:kind = '{sender['kind']}']"


# ---------------------------------------------------------------------------
# Content shared between collections (built once per call)
# ---------------------------------------------------------------------------


class _Shared:
    """Objects one collection references in another (the blaster indicator)."""

    def __init__(self, demo: _Demo) -> None:
        self.blaster_created = demo.at(180)
        self.blaster_london = demo.indicator(
            "Ofcom",
            "sms-blaster-london",
            self.blaster_created,
            Tlp.GREEN,
            name="SMS blaster, central London: fake GSM cell LAC 40001",
            pattern="[cell-identity:rat = 'gsm' AND cell-identity:mcc = '234' "
            "AND cell-identity:mnc = '10' AND cell-identity:lac = 40001]",
            description="A vehicle-borne false base station broadcasting a GSM cell that "
            "claims PLMN 234/10 with location area 40001, which no GB network uses. Handsets "
            "pushed down to 2G camp on it and receive parcel-fee smishing texts from the "
            "sender id 'SwiftParcel'. Reported first by Thames Telecom from UE measurement "
            "reports.",
            confidence=70,
            valid_days=30,
        )
        # The newest version of the indicator, set by the radio content.
        self.blaster_london_latest = self.blaster_london


# ---------------------------------------------------------------------------
# coalition-signalling
# ---------------------------------------------------------------------------

_FS11_CAT1 = (
    "GSMA FS.11 category 1: MAP messages that should only ever arrive from inside the home "
    "network, never from the international interconnect - anyTimeInterrogation (ATI), "
    "sendRoutingInfo (SRI) and sendIMSI. ATI returns the Cell Global Identity and age of "
    "location of a subscriber; SRI reveals the IMSI and serving MSC/VLR. A signalling "
    "firewall blocks category 1 messages on the interconnect by operation code alone, with "
    "no state needed. SRI-for-SM is needed on the interconnect to deliver SMS; it is "
    "protected by an SMS home router that answers with a correlation id instead of the "
    "real IMSI and MSC address."
)
_FS11_CAT2 = (
    "GSMA FS.11 category 2: messages that are legitimate between a home network and a "
    "visited network for its own inbound roamers only - provideSubscriberInfo (PSI), "
    "insertSubscriberData (ISD), deleteSubscriberData. A PSI for a subscriber of our own "
    "network arriving from a foreign GT, while that subscriber is at home, is a location "
    "query: screen by checking that the calling GT is the network where the IMSI is "
    "actually registered."
)
_FS11_CAT3 = (
    "GSMA FS.11 category 3: messages whose plausibility depends on where the subscriber "
    "is - updateLocation (UL) and the SMS/call traffic that follows it. A UL from a foreign "
    "VLR for a subscriber who was attached in the home network minutes earlier is "
    "physically impossible (velocity check). Accepted, it redirects the subscriber's "
    "incoming SMS, including one-time passcodes, to the attacker's fake MSC/VLR."
)


def _signalling(demo: _Demo) -> None:
    """Post the coalition-signalling batches."""
    coll = "coalition-signalling"

    # --- Ofcom: leased LI GT locating GB subscribers; spoofed GG range ----------
    t_ind = demo.at(240)
    ind_nightjar = demo.indicator(
        "Ofcom",
        "gt-423660710015",
        t_ind,
        Tlp.GREEN,
        name="Location tracking from leased GT 423660710015",
        pattern=_gt_pattern(GT_NIGHTJAR),
        description="Category 1 anyTimeInterrogation and sendRoutingInfo for GB subscribers "
        "from GT 423660710015, a range leased from a Liechtenstein numbering holder by a "
        "surveillance-for-hire vendor. Blocked at the interconnect by Albion Mobile and "
        "Thames Telecom.",
        confidence=60,
    )
    t_range = demo.at(150)
    ind_range = demo.indicator(
        "Ofcom",
        "gt-range-44778100041",
        t_range,
        Tlp.AMBER,
        name="Spoofed SCCP calling GTs 44778100041x (SRI-for-SM)",
        pattern="[global-title:digits LIKE '44778100041%']",
        description="sendRoutingInfoForSM with calling GTs in a Guernsey range its holder "
        "says it never uses for SMS. The responses reveal IMSI and serving MSC (SMS home "
        "routing bypassed on one network). Seen from GT 447781000410 and ten neighbours.",
        confidence=55,
    )
    nightjar = demo.sdo(
        "intrusion-set",
        "Ofcom",
        "intrusion-set/nightjar",
        demo.at(230),
        Tlp.AMBER,
        name="NIGHTJAR",
        description="Surveillance-for-hire vendor selling subscriber location and SMS "
        "interception to private and government customers. Leases Global Titles from "
        "small operators and numbering holders and rotates them when blocked.",
        aliases=["GT lessee cluster 7"],
        first_seen=_ts(demo.at(320)),
        goals=["locate targeted subscribers", "intercept SMS one-time passcodes"],
        resource_level="organization",
        primary_motivation="organizational-gain",
    )
    s_albion = demo.sighting(
        "Ofcom",
        "nightjar-albion",
        ind_nightjar,
        demo.at(310),
        demo.at(238),
        1843,
        [_org("Albion Mobile")],
        Tlp.GREEN,
        description="ATI (1521) and SRI (322) from the GT, all blocked by the SS7 firewall.",
    )
    s_thames = demo.sighting(
        "Ofcom",
        "nightjar-thames",
        ind_nightjar,
        demo.at(290),
        demo.at(240),
        612,
        [_org("Thames Telecom")],
        None,
    )
    s_range = demo.sighting(
        "Ofcom",
        "range-albion",
        ind_range,
        demo.at(200),
        demo.at(152),
        4310,
        [_org("Albion Mobile"), _org("Pennine Networks")],
        Tlp.AMBER,
    )
    t_notes = demo.at(236)
    n_cat1 = demo.note(
        "Ofcom",
        "fs11-cat1",
        t_notes,
        Tlp.CLEAR,
        abstract="FS.11 category 1: ATI, SRI and SendIMSI from the interconnect",
        content=_FS11_CAT1,
        refs=[ind_nightjar],
    )
    n_cat1_range = demo.note(
        "Ofcom",
        "fs11-cat1-range",
        demo.after(t_range, 5, 30),
        Tlp.AMBER,
        abstract="Why SRI-for-SM from this range matters",
        content="The calling GTs belong to a range whose holder sends no SMS from it, so "
        "the SRI-for-SM queries are spoofed. A correctly deployed SMS home router answers "
        "them with a correlation id; one GB network answered directly with the real IMSI "
        "and MSC address (home routing bypass) until the routing was fixed. "
        "See the FS.11 category 1 note for the other MAP operations involved.",
        refs=[ind_range, s_range],
    )
    rels = [
        *demo.indicates(
            "Ofcom",
            ind_nightjar,
            ["FGT5012.004", "MOT5012.501", "MOT1583.301"],
            demo.after(t_ind, 1, 20),
            Tlp.GREEN,
        ),
        *demo.indicates(
            "Ofcom", ind_range, ["MOT1036.301", "FGT5002"], demo.after(t_range, 1, 20), Tlp.AMBER
        ),
        demo.rel("Ofcom", ind_nightjar, "indicates", nightjar, demo.at(229), Tlp.AMBER),
        demo.rel(
            "Ofcom",
            nightjar,
            "uses",
            _technique("MOT1583.301"),
            demo.at(229),
            Tlp.AMBER,
            description="Leases GT ranges from small numbering holders.",
        ),
        demo.rel("Ofcom", nightjar, "uses", _technique("FGT5012.004"), demo.at(229), Tlp.AMBER),
        demo.rel("Ofcom", nightjar, "uses", _technique("MOT3002.301"), demo.at(229), Tlp.AMBER),
    ]
    report = demo.report(
        "Ofcom",
        "gb-interconnect-location-tracking",
        demo.at(225),
        Tlp.GREEN,
        name="GB interconnect: location tracking from leased Global Titles",
        description="Category 1 location queries against GB subscribers from leased GTs "
        "attributed to the NIGHTJAR surveillance vendor, and SRI-for-SM from a spoofed "
        "Guernsey range. Operators should block the GTs and confirm that their SMS home "
        "router cannot be bypassed.",
        refs=[
            GT_NIGHTJAR,
            GT_SPOOFED_RANGE,
            ind_nightjar,
            ind_range,
            nightjar,
            s_albion,
            s_thames,
            n_cat1,
            *rels[:5],
        ],
    )
    demo.post(
        coll,
        "Ofcom",
        [
            GT_NIGHTJAR,
            _marked(GT_SPOOFED_RANGE, Tlp.AMBER),
            ind_nightjar,
            ind_range,
            nightjar,
            s_albion,
            s_thames,
            s_range,
            n_cat1,
            n_cat1_range,
            *rels,
            report,
        ],
    )

    # --- FCC: +882 PSI source, ATI burst, state-sponsored SMSC intrusion -------
    t_psi = demo.at(190)
    ind_psi = demo.indicator(
        "FCC",
        "gt-88237100150",
        t_psi,
        Tlp.GREEN,
        name="provideSubscriberInfo from international-network GT 88237100150",
        pattern=_gt_pattern(GT_PSI),
        description="Category 2 PSI requests for US subscribers who are not roaming, from a "
        "+882 international-network GT. The responses carry cell id and IMEI.",
        confidence=65,
    )
    t_burst = demo.at(88)
    ind_burst = demo.indicator(
        "FCC",
        "gt-6281100091",
        t_burst,
        None,
        name="ATI burst from GT 6281100091",
        pattern=_gt_pattern(GT_ATI_BURST),
        description="312 anyTimeInterrogation in six hours against 14 Potomac Cellular "
        "subscribers, polling each every 20 minutes.",
        confidence=50,
        valid_days=30,
    )
    t_cormorant = demo.at(160)
    cormorant = demo.sdo(
        "intrusion-set",
        "FCC",
        "intrusion-set/brass-cormorant",
        t_cormorant,
        Tlp.AMBER_STRICT,
        name="BRASS CORMORANT",
        description="State-sponsored actor with persistent access to a US carrier's SMS "
        "centre and to the signalling of a Central American roaming partner. Collects SMS "
        "to and from selected government and political subscribers.",
        first_seen=_ts(demo.at(330)),
        goals=["collect SMS content of government subscribers", "locate targets"],
        resource_level="government",
        primary_motivation="dominance",
    )
    ind_c_gt = demo.indicator(
        "FCC",
        "gt-50769000115",
        demo.after(t_cormorant, 5, 40),
        Tlp.AMBER,
        name="ISD and UL from compromised roaming partner GT 50769000115",
        pattern=_gt_pattern(GT_CORMORANT),
        description="GT of a compromised roaming partner used for ISD and UL towards "
        "targeted subscribers.",
        confidence=80,
    )
    ind_c_ip = demo.indicator(
        "FCC",
        "ip-cormorant",
        demo.after(t_cormorant, 5, 40),
        Tlp.AMBER,
        name="Unauthorised SMSC management access (vendor support account)",
        pattern=f"[ipv4-addr:value = '{IP_CORMORANT_1['value']}'] OR "
        f"[ipv4-addr:value = '{IP_CORMORANT_2['value']}']",
        description="Addresses that logged in to the SMSC O&M interface with a vendor "
        "support account.",
        confidence=85,
    )
    t_c_rel = demo.after(t_cormorant, 45, 90)
    c_rels = [
        demo.rel("FCC", ind_c_gt, "indicates", cormorant, t_c_rel, Tlp.AMBER_STRICT),
        demo.rel("FCC", ind_c_ip, "indicates", cormorant, t_c_rel, Tlp.AMBER_STRICT),
        demo.rel("FCC", cormorant, "uses", _technique("FGT5001"), t_c_rel, Tlp.AMBER_STRICT),
        demo.rel("FCC", cormorant, "uses", _technique("FGT1557.502"), t_c_rel, Tlp.AMBER_STRICT),
    ]
    c_report = demo.report(
        "FCC",
        "brass-cormorant-smsc",
        demo.after(t_c_rel, 60, 180),
        Tlp.RED,
        red_to=["Ofcom", "NCSC-NZ"],
        name="BRASS CORMORANT: SMS centre intrusion at a US carrier",
        description="The actor reached the SMSC O&M network through a vendor remote-support "
        "path and copied SMS of 41 subscribers. Ofcom and NCSC-NZ are asked to check the "
        "same SMSC software release on their networks. Do not share further.",
        refs=[cormorant, ind_c_gt, ind_c_ip, GT_CORMORANT, IP_CORMORANT_1, IP_CORMORANT_2, *c_rels],
    )
    s_psi = demo.sighting(
        "FCC",
        "psi-potomac",
        ind_psi,
        demo.at(280),
        demo.at(192),
        377,
        [_org("Potomac Cellular")],
        Tlp.GREEN,
    )
    s_burst = demo.sighting(
        "FCC",
        "burst-potomac",
        ind_burst,
        demo.at(96),
        demo.at(90),
        312,
        [_org("Potomac Cellular")],
        None,
    )
    fcc_rels = [
        *demo.indicates(
            "FCC", ind_psi, ["FGT5012.004", "MOT5019.303"], demo.after(t_psi, 1, 15), Tlp.GREEN
        ),
        *demo.indicates(
            "FCC", ind_burst, ["MOT5012.501", "MOT3003.301"], demo.after(t_burst, 1, 15), None
        ),
    ]
    n_cat2 = demo.note(
        "FCC",
        "fs11-cat2",
        demo.after(t_psi, 10, 40),
        Tlp.GREEN,
        abstract="FS.11 category 2: PSI for subscribers at home",
        content=_FS11_CAT2,
        refs=[ind_psi, s_psi],
    )
    demo.post(
        coll,
        "FCC",
        [
            GT_PSI,
            GT_ATI_BURST,
            ind_psi,
            ind_burst,
            s_psi,
            s_burst,
            n_cat2,
            *fcc_rels,
            _marked(GT_CORMORANT, Tlp.AMBER),
            _marked(IP_CORMORANT_1, Tlp.AMBER),
            _marked(IP_CORMORANT_2, Tlp.AMBER),
            cormorant,
            ind_c_gt,
            ind_c_ip,
            *c_rels,
            c_report,
        ],
    )

    # --- ACMA: SendIMSI sweeps; a roaming-hub false positive (later revoked) ---
    t_sendimsi = demo.at(210)
    ind_sendimsi = demo.indicator(
        "ACMA",
        "gt-23769901230",
        t_sendimsi,
        Tlp.GREEN,
        name="SendIMSI / SRI sweeps from GT 23769901230",
        pattern=_gt_pattern(GT_SENDIMSI),
        description="Category 1 sendIMSI and sendRoutingInfo walking sequential MSISDN "
        "blocks of Wattle Mobile: harvesting IMSIs for later location queries.",
        confidence=75,
    )
    t_hub = demo.at(180)
    ind_hub = demo.indicator(
        "ACMA",
        "gt-35387000123",
        t_hub,
        Tlp.GREEN,
        name="provideSubscriberInfo from GT 35387000123",
        pattern=_gt_pattern(GT_ROAMING_HUB),
        description="PSI for Wattle Mobile subscribers from an Irish GT.",
        confidence=40,
    )
    acma_rels = [
        *demo.indicates(
            "ACMA",
            ind_sendimsi,
            ["MOT5019.302", "MOT1046.301"],
            demo.after(t_sendimsi, 1, 15),
            Tlp.GREEN,
        ),
        demo.rel(
            "ACMA",
            ind_hub,
            "indicates",
            _technique("FGT5012.004"),
            demo.after(t_hub, 1, 15),
            Tlp.GREEN,
        ),
    ]
    s_sendimsi = demo.sighting(
        "ACMA",
        "sendimsi-wattle",
        ind_sendimsi,
        demo.at(260),
        demo.at(207),
        9240,
        [_org("Wattle Mobile")],
        Tlp.GREEN,
    )
    s_nightjar_au = demo.sighting(
        "ACMA",
        "nightjar-wattle",
        ind_nightjar,
        demo.at(140),
        demo.at(101),
        211,
        [_org("Wattle Mobile")],
        Tlp.GREEN,
        description="Same GT, ATI for Australian subscribers roaming in the UK.",
    )
    demo.post(
        coll,
        "ACMA",
        [
            GT_SENDIMSI,
            GT_ROAMING_HUB,
            ind_sendimsi,
            ind_hub,
            *acma_rels,
            s_sendimsi,
            s_nightjar_au,
        ],
    )

    # --- NCSC-NZ: category 3 UpdateLocation velocity -------------------------
    t_ul = demo.at(130)
    ind_ul = demo.indicator(
        "NCSC-NZ",
        "gt-25678200341",
        t_ul,
        Tlp.GREEN,
        name="UpdateLocation from fake VLR GT 25678200341",
        pattern=_gt_pattern(GT_UL),
        description="Category 3: UpdateLocation claiming Fernleaf Mobile subscribers moved "
        "to a Ugandan VLR minutes after activity in Auckland. The aim is to receive their "
        "SMS one-time passcodes.",
        confidence=80,
    )
    s_ul = demo.sighting(
        "NCSC-NZ",
        "ul-fernleaf",
        ind_ul,
        demo.at(170),
        demo.at(133),
        37,
        [_org("Fernleaf Mobile")],
        Tlp.GREEN,
    )
    s_ul_red = demo.sighting(
        "NCSC-NZ",
        "ul-fernleaf-targets",
        ind_ul,
        demo.at(150),
        demo.at(134),
        3,
        [_org("Fernleaf Mobile")],
        Tlp.RED,
        red_to=["ACMA", "FCC"],
        description="Three of the ULs targeted a ministry's senior staff; two OTP SMS were "
        "delivered to the fake VLR before the firewall rule was deployed.",
    )
    n_cat3 = demo.note(
        "NCSC-NZ",
        "fs11-cat3",
        demo.after(t_ul, 5, 30),
        Tlp.GREEN,
        abstract="FS.11 category 3: UpdateLocation velocity check",
        content=_FS11_CAT3,
        refs=[ind_ul, s_ul],
    )
    nz_rels = demo.indicates(
        "NCSC-NZ",
        ind_ul,
        ["FGT1557.502", "FGT5016", "MOT1199.301"],
        demo.after(t_ul, 1, 15),
        Tlp.GREEN,
    )
    demo.post(coll, "NCSC-NZ", [GT_UL, ind_ul, s_ul, s_ul_red, n_cat3, *nz_rels])

    # --- ISED: sightings of Ofcom's and FCC's indicators in Canada -----------
    demo.post(
        coll,
        "ISED",
        [
            demo.sighting(
                "ISED",
                "nightjar-maple",
                ind_nightjar,
                demo.at(120),
                demo.at(82),
                96,
                [_org("Maple Wireless")],
                Tlp.GREEN,
            ),
            demo.sighting(
                "ISED",
                "psi-maple",
                ind_psi,
                demo.at(110),
                demo.at(75),
                58,
                [_org("Maple Wireless")],
                None,
            ),
        ],
    )

    # --- later versions ------------------------------------------------------
    t_revoke = demo.at(120)
    demo.post(
        coll,
        "ACMA",
        [
            demo.revise(ind_hub, t_revoke, revoked=True),
            demo.note(
                "ACMA",
                "gt-35387000123-revoked",
                demo.after(t_revoke, 1, 10),
                Tlp.GREEN,
                abstract="Indicator withdrawn: GT 35387000123 is a roaming hub",
                content="The GT belongs to a roaming hub relaying PSI for a genuine partner "
                "whose inbound roamers were misregistered. Not malicious; indicator revoked.",
                refs=[ind_hub],
            ),
        ],
    )
    demo.post(
        coll,
        "FCC",
        [
            demo.revise(
                ind_psi,
                demo.at(70),
                pattern="[global-title:digits LIKE '8823710015%']",
                name="provideSubscriberInfo from international-network GTs 8823710015x",
                description=ind_psi["description"] + " Widened to the ten GTs of the block "
                "after ISED saw the same traffic from a neighbouring GT.",
                confidence=80,
            )
        ],
    )
    demo.post(
        coll,
        "Ofcom",
        [
            demo.revise(
                ind_nightjar,
                demo.at(50),
                confidence=85,
                description=ind_nightjar["description"] + " Also seen by ACMA (Wattle Mobile) "
                "and ISED (Maple Wireless) against roaming subscribers.",
            ),
            demo.sighting(
                "Ofcom",
                "nightjar-albion-2",
                ind_nightjar,
                demo.at(236),
                demo.at(53),
                2217,
                [_org("Albion Mobile")],
                Tlp.GREEN,
                description="Continued after the first report; ATI only, every 15-30 minutes "
                "for a handful of subscribers.",
            ),
            demo.sighting(
                "Ofcom",
                "nightjar-thames-2",
                ind_nightjar,
                demo.at(238),
                demo.at(55),
                404,
                [_org("Thames Telecom")],
                None,
            ),
        ],
    )


# ---------------------------------------------------------------------------
# coalition-radio
# ---------------------------------------------------------------------------

_TRACK_LONDON: Final = (
    ("oxford-circus", "Oxford Circus", 51.5152, -0.1418),
    ("covent-garden", "Covent Garden", 51.5117, -0.1240),
    ("bank", "Bank junction", 51.5133, -0.0890),
    ("canary-wharf", "Canary Wharf", 51.5054, -0.0235),
    ("stratford", "Stratford", 51.5416, -0.0032),
    ("shoreditch", "Shoreditch High Street", 51.5233, -0.0754),
)


def _track(
    demo: _Demo,
    producer: str,
    city: str,
    country: str,
    indicator: Obj,
    points: Sequence[tuple[str, str, float, float]],
    start_hours_ago: float,
    cells: Sequence[Obj],
    extra: Sequence[Obj],
    operator: str,
    tlp: Tlp | None,
) -> list[Obj]:
    """Locations, observed-data and sightings for a blaster moving through ``points``.

    Each window is about 40 minutes.  ``cells`` gives the fake cell per window
    (the last one repeats); ``extra`` are SCOs seen in every window (sender, URL).
    """
    objects: list[Obj] = []
    start = demo.at(start_hours_ago, 10)
    for i, (key, name, lat, lon) in enumerate(points):
        first = start + i * 45 * _MINUTE
        last = demo.after(first, 25, 40)
        cell = cells[min(i, len(cells) - 1)]
        loc = demo.location(
            producer,
            f"{city}/{key}",
            demo.after(last, 1, 5),
            name=f"{name}, {city}",
            lat=lat,
            lon=lon,
            city=city,
            country=country,
        )
        number = demo.rng.randint(3, 12)
        od = demo.observed(producer, f"{city}/{key}", first, last, number, [cell, *extra], tlp)
        sighting = demo.sighting(
            producer,
            f"{city}/{key}",
            indicator,
            first,
            last,
            demo.rng.randint(40, 900),
            [_org(operator), loc],
            tlp,
            observed=[od],
            description=f"Fake cell seen near {name}. The count is the number of handsets "
            "that reselected to it, from measurement reports and subscriber complaints.",
        )
        objects += [loc, od, sighting]
    return objects


def _radio(demo: _Demo, shared: _Shared) -> None:
    coll = "coalition-radio"
    techniques_fbs = ["FGT1583.501", "FGT1562.501", "FGT1608.501", "MOT1583.302"]

    # --- Ofcom: London (two fake cells) and Manchester --------------------------
    ind_london = shared.blaster_london
    t_ind = shared.blaster_created
    london = demo.location(
        "Ofcom",
        "london",
        demo.at(181),
        name="London",
        lat=51.5074,
        lon=-0.1278,
        city="London",
        country="GB",
        tlp=Tlp.CLEAR,
    )
    infra = demo.sdo(
        "infrastructure",
        "Ofcom",
        "infrastructure/sms-blaster-london",
        demo.after(t_ind, 1, 10),
        Tlp.AMBER,
        name="Vehicle-borne SMS blaster, London",
        description="Software-defined radio and GSM base station software in a car, "
        "jamming LTE locally so that handsets fall back to 2G, then sending up to a few "
        "thousand smishing SMS per hour without touching any operator's network.",
        infrastructure_types=["phishing"],
        first_seen=_ts(demo.at(200)),
    )
    london_rels = [
        *demo.indicates("Ofcom", ind_london, techniques_fbs, demo.after(t_ind, 1, 10), Tlp.GREEN),
        demo.rel("Ofcom", ind_london, "indicates", infra, demo.after(t_ind, 1, 10), Tlp.AMBER),
        demo.rel("Ofcom", infra, "consists-of", CELL_LONDON_1, demo.after(t_ind, 1, 10), Tlp.AMBER),
        demo.rel("Ofcom", infra, "located-at", london, demo.after(t_ind, 1, 10), Tlp.AMBER),
    ]
    demo.post(
        coll,
        "Ofcom",
        [
            CELL_LONDON_1,
            london,
            ind_london,
            infra,
            *london_rels,
        ],
    )

    t_man = demo.at(124)
    ind_man = demo.indicator(
        "Ofcom",
        "sms-blaster-manchester",
        t_man,
        Tlp.GREEN,
        name="SMS blaster, Manchester: fake GSM cell 234/30 LAC 4321",
        pattern="[cell-identity:rat = 'gsm' AND cell-identity:mcc = '234' "
        "AND cell-identity:mnc = '30' AND cell-identity:lac = 4321]",
        description="Fake GSM cell around Piccadilly Gardens sending bank 'new payee' "
        "smishing from sender id 'KBank-Alert'.",
        confidence=65,
        valid_days=30,
    )
    man_track = _track(
        demo,
        "Ofcom",
        "Manchester",
        "GB",
        ind_man,
        (
            ("piccadilly", "Piccadilly Gardens", 53.4808, -2.2364),
            ("deansgate", "Deansgate", 53.4787, -2.2494),
        ),
        121,
        [CELL_MANCHESTER],
        [SMS_BANK],
        "Albion Mobile",
        Tlp.GREEN,
    )
    demo.post(
        coll,
        "Ofcom",
        [
            CELL_MANCHESTER,
            SMS_BANK,
            ind_man,
            *man_track,
            *demo.indicates("Ofcom", ind_man, ["FGT1583.501"], demo.after(t_man, 1, 10), None),
        ],
    )

    # The London track three evenings ago: the blaster changes PLMN half-way.
    london_track = _track(
        demo,
        "Ofcom",
        "London",
        "GB",
        ind_london,
        _TRACK_LONDON,
        76,
        [CELL_LONDON_1, CELL_LONDON_1, CELL_LONDON_1, CELL_LONDON_2],
        [SMS_PARCEL, URL_PARCEL_1],
        "Thames Telecom",
        Tlp.GREEN,
    )
    t_v2 = demo.at(66)
    ind_london_v2 = demo.revise(
        ind_london,
        t_v2,
        pattern="[cell-identity:rat = 'gsm' AND cell-identity:mcc = '234' "
        "AND cell-identity:lac = 40001]",
        description=ind_london["description"] + " Since the evening of the London track it "
        "also claims PLMN 234/15 (cell 2222); the pattern no longer names the MNC.",
        confidence=85,
    )
    t_notes = demo.after(t_v2, 5, 60)
    police = demo.note(
        "Ofcom",
        "sms-blaster-london-operation",
        t_notes,
        Tlp.AMBER_STRICT,
        abstract="London SMS blaster: joint operation with the police",
        content="The vehicle has been identified from the track. Spectrum enforcement and "
        "the police plan an intervention; do not act on the indicator in ways visible to "
        "the operator of the blaster (no public attribution, no takedown of its domains) "
        "until Ofcom says so.",
        refs=[infra, ind_london],
    )
    advisory = demo.note(
        "Ofcom",
        "sms-blaster-public-advice",
        t_notes,
        Tlp.CLEAR,
        abstract="Public advice: texts from fake base stations",
        content="Texts from an SMS blaster never touch a mobile network, so network "
        "filters and sender id registries cannot stop them. Handsets that allow it should "
        "disable 2G. Report suspicious texts by forwarding them to 7726.",
        refs=[ind_london],
    )
    shared.blaster_london_latest = ind_london_v2
    demo.post(
        coll,
        "Ofcom",
        [
            CELL_LONDON_2,
            SMS_PARCEL,
            URL_PARCEL_1,
            *london_track,
            ind_london_v2,
            demo.rel(
                "Ofcom", infra, "consists-of", CELL_LONDON_2, demo.after(t_v2, 1, 5), Tlp.AMBER
            ),
            police,
            advisory,
        ],
    )

    # --- the other regulators' cities ------------------------------------------
    cities: list[
        tuple[
            str,
            str,
            str,
            Obj,
            str,
            str,
            tuple[tuple[str, str, float, float], ...],
            float,
            Obj,
            Tlp | None,
        ]
    ] = [
        (
            "ISED",
            "Toronto",
            "CA",
            CELL_TORONTO,
            "Maple Wireless",
            "302/720 LAC 65001",
            (
                ("union-station", "Union Station", 43.6453, -79.3806),
                ("yorkdale", "Yorkdale", 43.7254, -79.4522),
            ),
            142,
            SMS_TAX_CA,
            Tlp.GREEN,
        ),
        (
            "ACMA",
            "Sydney",
            "AU",
            CELL_SYDNEY,
            "Wattle Mobile",
            "505/01 LAC 2001",
            (
                ("martin-place", "Martin Place", -33.8675, 151.2101),
                ("parramatta", "Parramatta", -33.8151, 151.0011),
            ),
            100,
            SMS_TAX_AU,
            Tlp.AMBER,
        ),
        (
            "NCSC-NZ",
            "Auckland",
            "NZ",
            CELL_AUCKLAND,
            "Fernleaf Mobile",
            "530/05 LAC 1",
            (("britomart", "Britomart", -36.8440, 174.7670),),
            45,
            SMS_PARCEL,
            None,
        ),
        (
            "FCC",
            "Washington",
            "US",
            CELL_DC,
            "Potomac Cellular",
            "310/260 LAC 65534",
            (
                ("union-station", "Union Station", 38.8977, -77.0063),
                ("dupont-circle", "Dupont Circle", 38.9097, -77.0434),
            ),
            30,
            SMS_TOLL_1,
            Tlp.GREEN,
        ),
    ]
    city_indicators: dict[str, Obj] = {}
    for producer, city, country, cell, operator, label, points, hours, sender, tlp in cities:
        t_city = demo.at(hours + 2)
        plmn = f"{cell['mcc']}/{cell['mnc']}"
        ind = demo.indicator(
            producer,
            f"sms-blaster-{city.lower()}",
            t_city,
            tlp,
            name=f"SMS blaster, {city}: fake GSM cell {label}",
            pattern=f"[cell-identity:rat = 'gsm' AND cell-identity:mcc = '{cell['mcc']}' "
            f"AND cell-identity:mnc = '{cell['mnc']}' AND cell-identity:lac = {cell['lac']}]",
            description=f"Fake GSM cell claiming PLMN {plmn} seen by {operator}. "
            + (
                "GSM has been switched off in Australia, so any GSM broadcast there is suspect."
                if country == "AU"
                else "Its location area is not used by the network it imitates."
            ),
            confidence=60,
            valid_days=30,
        )
        city_indicators[city] = ind
        track = _track(
            demo, producer, city, country, ind, points, hours, [cell], [sender], operator, tlp
        )
        rels = demo.indicates(
            producer, ind, ["FGT1583.501", "FGT1562.501"], demo.after(t_city, 1, 10), tlp
        )
        demo.post(coll, producer, [cell, sender, ind, *track, *rels])
    advice_au = demo.note(
        "ACMA",
        "gsm-shutdown",
        demo.at(96),
        Tlp.CLEAR,
        abstract="No GSM network in Australia since 2018",
        content="All Australian operators switched GSM off by 2018. A handset on a GSM "
        "cell in Australia is on a false base station; operators can flag 2G measurement "
        "reports from their own subscribers' handsets.",
        refs=[city_indicators["Sydney"]],
    )
    demo.post(coll, "ACMA", [advice_au])


# ---------------------------------------------------------------------------
# coalition-fraud
# ---------------------------------------------------------------------------


def _campaign_set(
    demo: _Demo,
    producer: str,
    key: str,
    created: int,
    tlp: Tlp | None,
    *,
    name: str,
    description: str,
    objective: str,
    first_seen_hours: float,
    observables: Sequence[tuple[Obj, Tlp | None]],
) -> tuple[Obj, dict[str, Obj], list[Obj]]:
    """A campaign, one indicator per observable, ``indicates`` relationships.

    Returns (campaign, {SCO id: its indicator}, all objects including the SCOs).
    """
    campaign = demo.sdo(
        "campaign",
        producer,
        f"campaign/{key}",
        created,
        tlp,
        name=name,
        description=description,
        objective=objective,
        first_seen=_ts(demo.at(first_seen_hours)),
        last_seen=_ts(demo.after(created, -90, -5)),
    )
    scos: list[Obj] = []
    indicators: dict[str, Obj] = {}
    rels: list[Obj] = []
    for sco, ind_tlp in observables:
        scos.append(sco)
        t_ind = demo.after(created, 2, 60)
        if sco["type"] == "sms-sender":
            pattern = _sender_pattern(sco)
            label = f"{sco['kind']} sender {sco['value']}"
        else:
            pattern = _value_pattern(sco)
            label = f"{sco['type']} {sco['value']}"
        ind = demo.indicator(
            producer,
            f"{key}/{sco['type']}/{sco['value']}",
            t_ind,
            ind_tlp,
            name=f"{name}: {label}",
            pattern=pattern,
            description=f"Observed in the '{name}' smishing campaign.",
            types=("malicious-activity", "attribution")
            if sco["type"] == "sms-sender"
            else ("malicious-activity",),
            valid_days=60,
            confidence=demo.rng.choice((60, 70, 80, 90)),
        )
        indicators[sco["id"]] = ind
        rels.append(
            demo.rel(producer, ind, "indicates", campaign, demo.after(t_ind, 1, 5), ind_tlp)
        )
    return campaign, indicators, [*scos, campaign, *indicators.values(), *rels]


def _fraud(demo: _Demo, shared: _Shared) -> None:
    coll = "coalition-fraud"

    # --- Ofcom: parcel redelivery fee (linked to the London SMS blaster) ------
    t_parcel = demo.at(170)
    parcel, parcel_inds, parcel_objs = _campaign_set(
        demo,
        "Ofcom",
        "parcel-redelivery-fee",
        t_parcel,
        Tlp.GREEN,
        name="SwiftParcel redelivery fee",
        description="Texts claiming a parcel could not be delivered and asking for a "
        "GBP 1.45 redelivery fee; the landing pages harvest card details and then phone "
        "the victim as the bank's fraud team.",
        objective="Card details and follow-up authorised push payment fraud",
        first_seen_hours=220,
        observables=[
            (SMS_PARCEL, Tlp.GREEN),
            (SMS_PARCEL_GB1, None),
            (DOM_PARCEL_1, Tlp.CLEAR),
            (DOM_PARCEL_2, Tlp.CLEAR),
            (URL_PARCEL_1, Tlp.GREEN),
        ],
    )
    parcel_infra = demo.sdo(
        "infrastructure",
        "Ofcom",
        "infrastructure/parcel-landing",
        demo.after(t_parcel, 5, 20),
        Tlp.GREEN,
        name="SwiftParcel phishing landing pages",
        infrastructure_types=["phishing"],
        description="Fast-rotating landing domains behind a shared phishing kit.",
    )
    t_pi = demo.after(t_parcel, 20, 40)
    parcel_extra = [
        parcel_infra,
        demo.rel("Ofcom", parcel, "uses", parcel_infra, t_pi, Tlp.GREEN),
        *(
            demo.rel("Ofcom", parcel_infra, "consists-of", d, t_pi, Tlp.GREEN)
            for d in (DOM_PARCEL_1, DOM_PARCEL_2)
        ),
        demo.sighting(
            "Ofcom",
            "parcel-7726",
            parcel_inds[URL_PARCEL_1["id"]],
            demo.at(215),
            demo.at(172),
            6120,
            [_org("Albion Mobile"), _org("Thames Telecom"), _org("Pennine Networks")],
            Tlp.GREEN,
            description="Texts reported by subscribers to the 7726 spam service.",
        ),
    ]
    demo.post(coll, "Ofcom", [*parcel_objs, *parcel_extra])

    # --- Ofcom: bank "new payee" ------------------------------------------------
    t_bank = demo.at(110)
    bank, bank_inds, bank_objs = _campaign_set(
        demo,
        "Ofcom",
        "bank-new-payee",
        t_bank,
        Tlp.AMBER,
        name="Kingsbridge Bank new payee",
        description="Texts from a spoofed bank sender id saying a new payee was added and "
        "giving a link to 'cancel' it; victims then receive a call from a fake fraud team.",
        objective="Online banking credentials and one-time passcodes",
        first_seen_hours=140,
        observables=[
            (SMS_BANK, Tlp.AMBER),
            (SMS_BANK_GB, Tlp.AMBER),
            (DOM_BANK_1, Tlp.AMBER),
            (URL_BANK, Tlp.AMBER),
        ],
    )
    demo.post(
        coll,
        "Ofcom",
        [
            *bank_objs,
            demo.rel(
                "Ofcom",
                bank,
                "uses",
                _technique("FGT1583.501"),
                demo.after(t_bank, 5, 20),
                Tlp.AMBER,
                description="Also sent from the Manchester SMS blaster.",
            ),
            demo.sighting(
                "Ofcom",
                "bank-7726",
                bank_inds[SMS_BANK["id"]],
                demo.at(138),
                demo.at(100),
                2650,
                [_org("Albion Mobile"), _org("Pennine Networks")],
                Tlp.AMBER,
            ),
        ],
    )

    # --- FCC: toll road unpaid charge --------------------------------------------
    t_toll = demo.at(200)
    _toll, toll_inds, toll_objs = _campaign_set(
        demo,
        "FCC",
        "toll-unpaid",
        t_toll,
        Tlp.GREEN,
        name="TollLink unpaid toll",
        description="Texts from rotating US long codes claiming an unpaid toll of USD 6.99 "
        "and threatening a late fee; the link leads to a card-harvesting page styled as a "
        "toll operator.",
        objective="Card details",
        first_seen_hours=300,
        observables=[
            (SMS_TOLL_1, None),
            (SMS_TOLL_2, None),
            (DOM_TOLL_1, Tlp.GREEN),
            (DOM_TOLL_2, Tlp.GREEN),
            (URL_TOLL_1, Tlp.GREEN),
        ],
    )
    demo.post(
        coll,
        "FCC",
        [
            *toll_objs,
            demo.sighting(
                "FCC",
                "toll-potomac",
                toll_inds[URL_TOLL_1["id"]],
                demo.at(290),
                demo.at(24),
                96311,
                [_org("Potomac Cellular")],
                Tlp.GREEN,
                description="Messages blocked by the carrier's SMS firewall.",
            ),
        ],
    )

    # --- ISED: tax refund ---------------------------------------------------------
    t_tax = demo.at(150)
    tax, tax_inds, tax_objs = _campaign_set(
        demo,
        "ISED",
        "tax-refund",
        t_tax,
        Tlp.GREEN,
        name="Tax refund claim",
        description="Texts announcing a tax refund ready to be claimed 'within 48 hours'; "
        "the page asks for social insurance number, date of birth and card details.",
        objective="Identity documents and card details",
        first_seen_hours=190,
        observables=[
            (SMS_TAX_CA, Tlp.GREEN),
            (DOM_TAX_1, Tlp.GREEN),
            (URL_TAX_1, Tlp.GREEN),
        ],
    )
    demo.post(
        coll,
        "ISED",
        [
            *tax_objs,
            demo.sighting(
                "ISED",
                "tax-maple",
                tax_inds[URL_TAX_1["id"]],
                demo.at(185),
                demo.at(36),
                5120,
                [_org("Maple Wireless")],
                Tlp.GREEN,
            ),
        ],
    )

    # --- ACMA: the tax refund campaign reaches Australia; toll texts too --------
    t_au = demo.at(90)
    ind_au_url = demo.indicator(
        "ACMA",
        "tax-refund/url-au",
        t_au,
        Tlp.GREEN,
        name="Tax refund claim: Australian landing page",
        pattern=_value_pattern(URL_TAX_2),
        description="Australian variant of ISED's tax refund campaign, sent from a "
        "reserved-range mobile number.",
        confidence=80,
        valid_days=60,
    )
    ind_au_sender = demo.indicator(
        "ACMA",
        "tax-refund/sender-au",
        t_au,
        Tlp.GREEN,
        name="Tax refund claim: Australian sender",
        pattern=_sender_pattern(SMS_TAX_AU),
        description="Sender of the Australian variant.",
        types=("malicious-activity", "attribution"),
        confidence=70,
        valid_days=30,
    )
    demo.post(
        coll,
        "ACMA",
        [
            SMS_TAX_AU,
            DOM_TAX_2,
            URL_TAX_2,
            ind_au_url,
            ind_au_sender,
            demo.rel("ACMA", ind_au_url, "indicates", tax, demo.after(t_au, 1, 5), Tlp.GREEN),
            demo.rel("ACMA", ind_au_sender, "indicates", tax, demo.after(t_au, 1, 5), None),
            demo.sighting(
                "ACMA",
                "tax-wattle",
                ind_au_url,
                demo.at(95),
                demo.at(12),
                3377,
                [_org("Wattle Mobile")],
                Tlp.GREEN,
            ),
            demo.sighting(
                "ACMA",
                "toll-wattle",
                toll_inds[DOM_TOLL_2["id"]],
                demo.at(70),
                demo.at(20),
                140,
                [_org("Wattle Mobile")],
                None,
                description="The same toll kit, localised for an Australian toll road.",
            ),
        ],
    )

    # --- NCSC-NZ: parcel texts in New Zealand; public advisory -------------------
    demo.post(
        coll,
        "NCSC-NZ",
        [
            demo.sighting(
                "NCSC-NZ",
                "parcel-fernleaf",
                parcel_inds[DOM_PARCEL_1["id"]],
                demo.at(80),
                demo.at(30),
                812,
                [_org("Fernleaf Mobile")],
                Tlp.GREEN,
            ),
            demo.note(
                "NCSC-NZ",
                "smishing-advice",
                demo.at(28),
                Tlp.CLEAR,
                abstract="Parcel and tax refund texts",
                content="Parcel redelivery fee and tax refund texts are circulating in New "
                "Zealand. Delivery companies and Inland Revenue never ask for payment or card "
                "details by text. Forward suspicious texts to 7726 (free).",
                refs=[parcel, tax],
            ),
        ],
    )

    # --- Ofcom: the parcel campaign is also run from the London SMS blaster ------
    t_link = demo.at(64)
    demo.post(
        coll,
        "Ofcom",
        [
            # The indicator the campaign is linked to, so that the link resolves here too.
            shared.blaster_london_latest,
            demo.revise(
                parcel,
                t_link,
                last_seen=_ts(demo.after(t_link, -120, -10)),
                description=parcel["description"] + " In London the texts are also sent "
                "from a vehicle-borne SMS blaster (see the related indicator).",
            ),
            demo.rel(
                "Ofcom",
                parcel,
                "related-to",
                shared.blaster_london,
                t_link,
                Tlp.GREEN,
                description="Same sender id and landing URL observed from the London SMS blaster.",
            ),
            demo.rel("Ofcom", parcel, "uses", _technique("FGT1583.501"), t_link, Tlp.GREEN),
            demo.sighting(
                "Ofcom",
                "parcel-7726-2",
                parcel_inds[URL_PARCEL_1["id"]],
                demo.at(170),
                demo.at(66),
                12300,
                [_org("Albion Mobile"), _org("Thames Telecom"), _org("Pennine Networks")],
                Tlp.GREEN,
                description="7726 reports since the first sighting; the London "
                "blaster evening alone accounts for about 900.",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# uk-reports (Ofcom and the GB operators)
# ---------------------------------------------------------------------------


def _uk(demo: _Demo, shared: _Shared) -> None:
    coll = "uk-reports"

    # --- Albion Mobile: SS7 firewall blocks of the leased GT -------------------
    weeks = [(320, 250), (250, 180), (180, 100)]
    ods = [
        demo.observed(
            "Albion Mobile",
            f"ss7fw-ati/{i}",
            demo.at(a),
            demo.at(b),
            demo.rng.randint(200, 700),
            [GT_NIGHTJAR],
            None,
        )
        for i, (a, b) in enumerate(weeks)
    ]
    t_ind = demo.at(245)
    ind = demo.indicator(
        "Albion Mobile",
        "gt-423660710015",
        t_ind,
        Tlp.GREEN,
        name="ATI/SRI from GT 423660710015 blocked at the SS7 firewall",
        pattern=_gt_pattern(GT_NIGHTJAR),
        description="Category 1 messages on the international interconnect for our "
        "subscribers; all blocked. Pattern of a few targets polled every 15-30 minutes.",
        confidence=70,
    )
    targets = demo.note(
        "Albion Mobile",
        "gt-423660710015-targets",
        demo.after(t_ind, 10, 60),
        Tlp.RED,
        red_to=["Ofcom"],
        abstract="Who was being located",
        content="Six of the eleven MSISDNs queried belong to staff of a government "
        "department; two to journalists. Names held by our security team and available "
        "to Ofcom on request.",
        refs=[ind, *ods],
    )
    demo.post(
        coll,
        "Albion Mobile",
        [
            GT_NIGHTJAR,
            *ods,
            ind,
            demo.sighting(
                "Albion Mobile",
                "gt-423660710015",
                ind,
                demo.at(320),
                demo.at(100),
                sum(o["number_observed"] for o in ods),
                [_org("Albion Mobile")],
                None,
                observed=ods,
            ),
            *demo.indicates("Albion Mobile", ind, ["FGT5012.004"], demo.after(t_ind, 1, 10), None),
            targets,
        ],
    )

    # --- Thames Telecom: first detection of the London SMS blaster -------------
    t_thames = demo.at(195)
    od_mr = demo.observed(
        "Thames Telecom",
        "measurement-reports/1",
        demo.at(205),
        demo.at(197),
        1432,
        [CELL_LONDON_1],
        Tlp.AMBER,
    )
    ind_thames = demo.indicator(
        "Thames Telecom",
        "fake-cell-lac-40001",
        t_thames,
        Tlp.AMBER,
        name="Unknown GSM neighbour 234/10 LAC 40001",
        pattern="[cell-identity:mcc = '234' AND cell-identity:lac = 40001]",
        description="Handsets report a strong GSM neighbour with a LAC no GB network "
        "uses, followed minutes later by complaints about parcel-fee texts.",
        confidence=60,
        valid_days=30,
    )
    demo.post(
        coll,
        "Thames Telecom",
        [
            CELL_LONDON_1,
            od_mr,
            ind_thames,
            demo.sighting(
                "Thames Telecom",
                "fake-cell-lac-40001",
                ind_thames,
                demo.at(205),
                demo.at(197),
                1432,
                [_org("Thames Telecom")],
                Tlp.AMBER,
                observed=[od_mr],
            ),
            *demo.indicates(
                "Thames Telecom",
                ind_thames,
                ["FGT1583.501", "FGT1562.501"],
                demo.after(t_thames, 1, 10),
                None,
            ),
        ],
    )

    # --- Pennine Networks: 7726 spam reports -----------------------------------
    od_7726_a = demo.observed(
        "Pennine Networks",
        "7726/parcel",
        demo.at(200),
        demo.at(176),
        842,
        [SMS_PARCEL, SMS_PARCEL_GB1, URL_PARCEL_1, URL_PARCEL_2],
        Tlp.GREEN,
    )
    demo.post(
        coll,
        "Pennine Networks",
        [
            SMS_PARCEL,
            SMS_PARCEL_GB1,
            URL_PARCEL_1,
            URL_PARCEL_2,
            od_7726_a,
        ],
    )

    # --- Albion Mobile: the spoofed Guernsey range -------------------------------
    t_range = demo.at(155)
    od_range = demo.observed(
        "Albion Mobile",
        "ss7fw-srism",
        demo.at(200),
        demo.at(157),
        3904,
        [GT_SPOOFED_RANGE],
        Tlp.AMBER,
    )
    ind_range = demo.indicator(
        "Albion Mobile",
        "gt-range-44778100041",
        t_range,
        Tlp.AMBER,
        name="SRI-for-SM from spoofed GTs 44778100041x",
        pattern="[global-title:digits LIKE '44778100041%']",
        description="The range holder confirms it sends no SRI-for-SM from these GTs.",
        confidence=60,
    )
    demo.post(
        coll,
        "Albion Mobile",
        [
            GT_SPOOFED_RANGE,
            od_range,
            ind_range,
            *demo.indicates(
                "Albion Mobile", ind_range, ["MOT1036.301"], demo.after(t_range, 1, 10), None
            ),
        ],
    )

    # --- Pennine Networks: bank new payee texts ---------------------------------
    od_7726_b = demo.observed(
        "Pennine Networks",
        "7726/bank",
        demo.at(135),
        demo.at(112),
        311,
        [SMS_BANK, SMS_BANK_GB, URL_BANK],
        Tlp.AMBER,
    )
    note_b = demo.note(
        "Pennine Networks",
        "7726/bank",
        demo.at(110),
        Tlp.AMBER,
        abstract="Spoofed bank sender id through a wholesale route",
        content="Some of the KBank-Alert texts entered our network through a wholesale "
        "aggregator route; the route is suspended pending investigation.",
        refs=[od_7726_b],
    )
    demo.post(coll, "Pennine Networks", [SMS_BANK, SMS_BANK_GB, URL_BANK, od_7726_b, note_b])

    # --- Thames Telecom: the blaster switches to 234/15 --------------------------
    od_mr2 = demo.observed(
        "Thames Telecom",
        "measurement-reports/2",
        demo.at(73),
        demo.at(70),
        512,
        [CELL_LONDON_2],
        Tlp.AMBER,
    )
    demo.post(
        coll,
        "Thames Telecom",
        [
            CELL_LONDON_2,
            od_mr2,
            demo.sighting(
                "Thames Telecom",
                "fake-cell-234-15",
                ind_thames,
                demo.at(73),
                demo.at(70),
                512,
                [_org("Thames Telecom")],
                Tlp.AMBER,
                observed=[od_mr2],
                description="Same LAC, now claiming PLMN 234/15.",
            ),
        ],
    )

    # --- Ofcom: weekly summary and guidance --------------------------------------
    t_ofcom = demo.at(40)
    guidance = demo.note(
        "Ofcom",
        "fs11-guidance",
        t_ofcom,
        Tlp.CLEAR,
        abstract="Guidance: screen FS.11 category 1 and 2 on the interconnect",
        content=_FS11_CAT1 + " " + _FS11_CAT2 + " Ofcom expects the category 1 screening "
        "of the Telecommunications Security Code of Practice to be in place.",
        refs=[ind, ind_range],
    )
    summary = demo.report(
        "Ofcom",
        "uk-weekly",
        demo.after(t_ofcom, 5, 30),
        Tlp.GREEN,
        name="UK telecoms threat summary: signalling, SMS blasters and smishing",
        description="Leased-GT location tracking (shared with the coalition as indicator "
        "'Location tracking from leased GT 423660710015'), the London SMS blaster "
        "(now also on 234/15) and parcel and bank smishing reported to 7726.",
        refs=[
            ind,
            ind_range,
            ind_thames,
            od_7726_a,
            od_7726_b,
            shared.blaster_london_latest,
            guidance,
        ],
        types=("threat-report", "indicator"),
    )
    demo.post(coll, "Ofcom", [shared.blaster_london_latest, guidance, summary])


def demo_objects(now_us: int) -> dict[str, list[tuple[str, list[dict[str, Any]]]]]:
    """The demo data set: per collection alias, ``(producer name, objects)`` batches.

    Batches are in posting order (later versions come after earlier ones);
    every timestamp lies in the 14 days before ``now_us`` (microseconds since
    the epoch).
    """
    demo = _Demo(now_us)
    shared = _Shared(demo)
    _signalling(demo)
    _radio(demo, shared)
    _fraud(demo, shared)
    _uk(demo, shared)
    return demo.out
