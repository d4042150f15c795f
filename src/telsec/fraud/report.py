"""Fraud campaigns as STIX 2.1, ready to share.

Per campaign (ham is never shared):

* a ``campaign`` with its first and last seen, volume, networks, brands and
  example *templates* (texts with numbers, links and names as placeholders:
  a forwarded text can name the person it was sent to, a template cannot);
* a ``sighting`` of the campaign per UTC day with reports, ``count`` being the
  day's reports: the campaign's volume over time (its id is stable, so a later
  analysis with more reports of that day adds a new version, not a duplicate);
* an indicator per registrable domain (shorteners are left out: blocking
  ``bit.ly`` would block everyone's links; the shortened URL itself is shared),
  per IP address that links without a domain point at (``ipv4-addr`` or
  ``ipv6-addr``), per URL and per sender (the ``sms-sender`` SCO: alphanumeric ID, short code
  or E.164 number), each ``indicates`` the campaign;
* ``uses`` the mobile-phishing attack-pattern (CAPEC-164, ATT&CK for Mobile
  T1660) when the campaign is smishing or a scam, and the FiGHT false-base-
  station technique when SMS-blaster alerts were linked to it;
* ``related-to`` the cells of those blaster alerts and the Global Titles of
  linked signalling findings, as their SCOs: SCO ids are deterministic, so the
  relationship lands on the same object the radio or signalling report shares.

One report holds them all.  Callback numbers are named in the campaign's
description but not made indicators: STIX 2.1 has no phone-number object and
they are not SMS senders.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from telsec.radio.report import cell_observable
from telsec.stix.build import Builder
from telsec.stix.ids import TELSEC_IDENTITY_ID, telsec_id, value_sco
from telsec.stix.techniques import technique_by_external_id
from telsec.stix.telecom import VOCABULARY_TIMESTAMP, global_title, sms_sender
from telsec.stix.timestamps import format_timestamp
from telsec.stix.tlp import Tlp

#: Indicator type by campaign category.
_INDICATOR_TYPES = {"smishing": "malicious-activity", "scam": "malicious-activity"}
_FALSE_BASE_STATION = "FGT1583.501"


def mobile_phishing() -> dict[str, Any]:
    """The mobile-phishing (smishing) attack-pattern, the same object on every node."""
    return {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": telsec_id("attack-pattern", "capec/CAPEC-164"),
        "created_by_ref": TELSEC_IDENTITY_ID,
        "created": VOCABULARY_TIMESTAMP,
        "modified": VOCABULARY_TIMESTAMP,
        "name": "Mobile phishing (smishing)",
        "description": "Text messages that lure the recipient to a link, a number or a reply "
        "in order to steal credentials, payment details or money.",
        "external_references": [
            {
                "source_name": "capec",
                "external_id": "CAPEC-164",
                "url": "https://capec.mitre.org/data/definitions/164.html",
            },
            {
                "source_name": "mitre-mobile-attack",
                "external_id": "T1660",
                "url": "https://attack.mitre.org/techniques/T1660/",
            },
        ],
        "object_marking_refs": [Tlp.CLEAR.marking_id],
    }


def _stamp(seconds: float) -> str:
    return format_timestamp(int(seconds * 1e6))


def quote(value: str) -> str:
    """``value`` as a STIX pattern string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _describe(campaign: dict[str, Any]) -> str:
    parts = [
        f"{campaign['reports']:,} reports from {campaign['reporters']:,} reporters",
        f"classified {campaign['category']}",
    ]
    if campaign["networks"]:
        parts.append("reported on " + ", ".join(campaign["networks"]))
    if campaign["brands"]:
        parts.append("impersonating " + ", ".join(campaign["brands"]))
    elif campaign["sectors"]:
        parts.append("posing as " + ", ".join(campaign["sectors"]))
    if campaign["callbacks"]:
        parts.append("asking victims to call " + ", ".join(campaign["callbacks"]))
    lines = ["; ".join(parts) + "."]
    lines += [f"Template: {t}" for t in campaign.get("template_examples") or []]
    return "\n".join(lines)


def _observables(campaign: dict[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """(what, pattern, SCO) for each domain, IP address, URL and sender of the campaign."""
    for domain in campaign["domains"]:  # never a shortener (records keeps those apart)
        sco = dict(value_sco("domain-name", domain))
        yield f"domain {domain}", f"[domain-name:value = {quote(domain)}]", sco
    for address in campaign["ip_addresses"]:  # of links that have no domain
        kind = "ipv6-addr" if ":" in address else "ipv4-addr"
        sco = dict(value_sco(kind, address))
        yield f"IP address {address}", f"[{kind}:value = {quote(address)}]", sco
    for url in campaign["urls"]:
        yield f"URL {url}", f"[url:value = {quote(url)}]", dict(value_sco("url", url))
    for sender in campaign["senders"]:
        try:
            sco = sms_sender(sender)
        except ValueError:
            continue  # an unusable claimed sender is kept in reports, not shared
        pattern = (
            f"[sms-sender:kind = {quote(sco['kind'])} AND sms-sender:value = {quote(sco['value'])}]"
        )
        yield f"sender {sco['value']}", pattern, sco


def _daily_sighting(
    build: Builder, campaign_id: str, key: str, day: dict[str, Any]
) -> dict[str, Any]:
    """The campaign's reports on one UTC day, as a sighting of the campaign: its volume
    over time is the series of these (one version per day, updated as reports come)."""
    date = time.strftime("%Y-%m-%d", time.gmtime(day["day"]))
    extra = {"where_sighted_refs": [build.producer_id]} if build.producer_id else {}
    return build.sdo(
        "sighting",
        build.stable_id("sighting", f"{key}/{date}"),
        sighting_of_ref=campaign_id,
        first_seen=_stamp(day["first"]),
        last_seen=_stamp(day["last"]),
        count=int(day["reports"]),
        description=f"{day['reports']:,} customer reports of this campaign received on {date}",
        **extra,
    )


def stix_bundle(
    campaigns: Iterable[dict[str, Any]],
    tlp: Tlp,
    *,
    producer: str | None = None,
    scanned: str = "spam reports",
    now: int | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """A bundle of the campaigns (ham left out), every object marked ``tlp``
    except the shared vocabulary (attack-patterns), which is TLP:CLEAR."""
    build = Builder(tlp, producer, namespace, now)
    objects: list[dict[str, Any]] = []
    phishing = mobile_phishing()
    seen: set[str] = set()
    count = 0

    def add(obj: dict[str, Any]) -> None:
        if obj["id"] not in seen:
            seen.add(obj["id"])
            objects.append(obj)

    def relate(kind: str, source: str, target: str, key: str, **extra: Any) -> None:
        add(
            build.sdo(
                "relationship",
                build.new_id("relationship", f"{key}/{kind}/{source}/{target}"),
                relationship_type=kind,
                source_ref=source,
                target_ref=target,
                **extra,
            )
        )

    for campaign in campaigns:
        if campaign["category"] == "ham":
            continue
        count += 1
        key = f"fraud/{campaign['id']}"
        sdo = build.sdo(
            "campaign",
            build.stable_id("campaign", key),
            name=campaign["name"],
            description=_describe(campaign),
            first_seen=_stamp(campaign["first_seen"]),
            last_seen=_stamp(campaign["last_seen"]),
            labels=[campaign["category"], *campaign["sectors"][:3]],
        )
        add(sdo)
        for day in campaign.get("daily") or []:
            add(_daily_sighting(build, sdo["id"], key, day))
        for what, pattern, sco in _observables(campaign):
            add(sco)
            indicator = build.sdo(
                "indicator",
                build.stable_id("indicator", f"{key}/{what}"),
                name=f"{what} ({campaign['name']})",
                indicator_types=[_INDICATOR_TYPES.get(campaign["category"], "anomalous-activity")],
                pattern=pattern,
                pattern_type="stix",
                valid_from=_stamp(campaign["first_seen"]),
            )
            add(indicator)
            relate("indicates", indicator["id"], sdo["id"], key)
        if campaign["category"] in _INDICATOR_TYPES:
            add(phishing)
            relate("uses", sdo["id"], phishing["id"], key)
        for link in campaign.get("blasters") or []:
            if not link.get("cell"):
                continue
            try:
                cell, _ = cell_observable(link["cell"])
            except (KeyError, ValueError):
                continue
            add(cell)
            relate(
                "related-to",
                sdo["id"],
                cell["id"],
                key,
                description=f"{link['reports']} of its reports were received near the "
                f"suspected SMS blaster {link['alert']}, while it was on air",
            )
            technique = technique_by_external_id(_FALSE_BASE_STATION)
            if technique is not None:
                add(technique)
                relate("uses", sdo["id"], technique["id"], key)
        for link in campaign.get("global_titles") or []:
            try:
                gt = global_title(link["global_title"])
            except ValueError:
                continue
            add(gt)
            relate(
                "related-to",
                sdo["id"],
                gt["id"],
                key,
                description=f"its messages came from this Global Title, which signalling "
                f"analysis flagged ({link['verdict']})",
            )
    return build.bundle(
        objects,
        f"Fraud campaigns in {scanned}: {count}",
        "Spam, scam and smishing campaigns found by telsec in customer reports: what they "
        "send, from where, through which links, and what they are linked to.",
        ["threat-report", "campaign", "indicator"],
        scanned,
    )
