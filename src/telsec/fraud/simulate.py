"""Spam reports with known campaigns: for tests, the demo hub and ``bench/``.

Each campaign has its own texts (several wordings of one lure), its own
infrastructure (domains, sender numbers, callback numbers), a time span and the
networks whose customers report it. Two wordings of one campaign share no text
but share domains: only the infrastructure join can put them together. One
campaign is pushed by an SMS blaster (reports near its route, in its hour), one
comes through a misused Global Title, one links to bare IP addresses. Around
them: customers forwarding ordinary messages (ham) and marketing spam.
``labels`` maps every report id to its campaign (or ``None``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Epoch of the simulated month (2026-10-01T00:00Z).
START = 1790812800.0
DAY = 86400.0
NETWORKS = (
    ("Albion Mobile", "GB", "+447400{n:06d}"),
    ("Thames Telecom", "GB", "+447500{n:06d}"),
    ("Liberty Wireless", "US", "+1202555{n:04d}"),
    ("Maple Mobile", "CA", "+1613555{n:04d}"),
    ("Southern Cross", "AU", "+614915{n:05d}"),
    ("Kiwi Cellular", "NZ", "+642155{n:05d}"),
)


@dataclass(frozen=True)
class Lure:
    name: str
    region: str
    wordings: tuple[tuple[str, ...], ...]  # per wording, its variants
    domains: tuple[str, ...]
    senders: tuple[str, ...]
    callbacks: tuple[str, ...] = ()
    share: float = 1.0


LURES = (
    Lure(
        "parcel-fee-royalmail",
        "GB",
        (
            (
                "Royal Mail: your parcel {code} could not be delivered due to an unpaid fee "
                "of {amount}. Pay now at https://{domain}/{code} to rebook.",
                "RoyalMail: We have held your parcel ({code}). A {amount} fee is due, pay at "
                "https://{domain}/track/{code} or it will be returned.",
            ),
            (
                "Your package is waiting at our depot. Confirm your address and settle "
                "{amount} here: {domain}/p/{code} Royal Mail",
            ),
        ),
        ("royalmail-redelivery.com", "rm-parcelfee.co.uk", "royalmail-track.info"),
        ("RoyalMail", "+447911{n:06d}"),
        share=3.0,
    ),
    Lure(
        "hmrc-refund",
        "GB",
        (
            (
                "HMRC: You are eligible for a tax refund of {amount}. Submit your claim "
                "before {code} expires: https://{domain}/claim",
                "GOV.UK HMRC notice: a tax rebate of {amount} is pending. Verify your bank "
                "details at https://{domain}/refund/{code}",
            ),
        ),
        ("hmrc-taxrefund.uk", "gov-refund-hmrc.com"),
        ("+447912{n:06d}",),
    ),
    Lure(
        "bank-safe-account",
        "GB",
        (
            (
                "HSBC: A new payee was added to your account at {code}. If this was NOT you "
                "call our fraud team now on {callback}",
                "HSBC ALERT: payment of {amount} to a new payee is pending. Not you? Call "
                "{callback} immediately to cancel.",
            ),
        ),
        (),
        ("HSBC", "+447913{n:06d}"),
        callbacks=("+442079460{n:03d}",),
    ),
    Lure(
        "hi-mum",
        "GB",
        (
            (
                "Hi Mum, I dropped my phone down the toilet, this is my new number. Can you "
                "message me on WhatsApp {callback} x",
                "Hi Mum its me, my phone broke so using a friends. Please text my new number "
                "{callback} I need a favour",
            ),
        ),
        (),
        ("+447914{n:06d}",),
        callbacks=("+447915{n:06d}",),
    ),
    Lure(
        "usps-redelivery",
        "US",
        (
            (
                "USPS: The package {code} arrived at the warehouse but could not be delivered "
                "due to incomplete address. Update here: https://{domain}/us",
                "USPS notice: your shipment {code} is on hold. Please confirm your details "
                "within 12 hours: https://{domain}/{code}",
            ),
        ),
        ("usps-redelivery.top", "usps-trackhelp.xyz", "uspostal-care.com"),
        ("+12025550{n:03d}",),
        share=2.0,
    ),
    Lure(
        "ezpass-toll",
        "US",
        (
            (
                "E-ZPass: You have an unpaid toll balance of {amount}. To avoid a late fee "
                "pay by {code}: https://{domain}/pay",
                # the same lure behind a shortener (the link hides the domain)
                "E-ZPass: You have an unpaid toll balance of {amount}. To avoid a late fee "
                "pay by {code}: https://bit.ly/{code}",
            ),
        ),
        ("ezpass-tollpay.com", "e-zpass-balance.xyz"),
        ("+12025551{n:03d}",),
    ),
    Lure(
        "cra-benefit",
        "CA",
        (
            (
                "CRA: You have received an e-transfer of {amount} for your benefit payment. "
                "Deposit it at https://{domain}/{code}",
            ),
            (
                "ARC : Vous avez reçu un virement de {amount} pour votre prestation. "
                "Déposez-le dès maintenant sur https://{domain}/{code}",
            ),
        ),
        ("cra-depot-ca.com", "canada-benefit-etransfer.info"),
        ("+16135550{n:03d}",),
    ),
    Lure(
        "mygov-ato",
        "AU",
        (
            (
                "myGov: your ATO tax return has an outstanding refund of {amount}. "
                "Claim at https://{domain}/ato/{code}",
            ),
        ),
        ("mygov-ato-refund.com", "au-mygov-claim.net"),
        ("myGov", "+61491550{n:03d}"),
    ),
    Lure(
        # links to bare IP addresses (documentation ranges): no domain to block or
        # to join the two wordings by, only the addresses
        "auspost-customs-ip",
        "AU",
        (
            (
                "AusPost: your parcel {code} is held at our facility. Pay the {amount} "
                "redelivery fee at http://{domain}/ap/{code}",
            ),
            (
                "Final notice: an item addressed to you cannot be released until customs "
                "charges of {amount} are paid. http://{domain}:8080/{code}",
            ),
        ),
        ("203.0.113.45", "198.51.100.23"),
        ("+61491551{n:03d}",),
    ),
    Lure(
        "prize-callback",
        "NZ",
        (
            (
                "Congratulations! You have won {amount} in the NZ Mobile Draw. To claim your "
                "prize call {callback} quoting {code}",
            ),
        ),
        (),
        ("+6421555{n:04d}",),
        callbacks=("+6499550{n:03d}",),
    ),
)
HAM = (
    "Are we still on for dinner tonight? I can pick you up at 7",
    "Your verification code is {code}. Do not share it with anyone.",
    "Reminder: your appointment with Dr Patel is tomorrow at 10:30",
    "Thanks for your payment of {amount}. Your balance is now {amount}.",
    "Running 10 mins late, sorry! See you at the station",
)
MARKETING = (
    "SALE! Up to 50% off everything this weekend at Bloom & Co. Shop now {domain} "
    "Reply STOP to opt out",
    "Your weekly deals are here: 2 for 1 pizzas every Tuesday. T&Cs apply. Text STOP to 80080",
    "Get 100 free minutes when you top up {amount} before Sunday. Reply STOP to end",
)
#: where the blaster drove (Westminster, London) and when
BLASTER_ROUTE = ((51.5010, -0.1416), (51.5033, -0.1195), (51.5081, -0.1281), (51.5138, -0.1300))
BLASTER_START = START + 9 * DAY + 17 * 3600
#: its way points: (time, latitude, longitude), 20 minutes a leg
BLASTER_TRACK = tuple(
    (BLASTER_START + leg * 1200.0, lat, lon) for leg, (lat, lon) in enumerate(BLASTER_ROUTE)
)
LEASED_GTS = ("40744123456", "40744123457")


def _number(pattern: str, rng: random.Random) -> str:
    """``pattern`` with its ``{n:0Kd}`` filled by a random K-digit number."""
    width = re.search(r"\{n:0(\d)d\}", pattern)
    return pattern.format(n=rng.randrange(10 ** int(width.group(1)))) if width else pattern


def _code(rng: random.Random) -> str:
    return "".join(
        rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(rng.choice((5, 6, 8)))
    )


def _amount(rng: random.Random, region: str) -> str:
    symbol = {"GB": "£", "US": "$", "CA": "$", "AU": "$", "NZ": "$"}.get(region, "$")
    return f"{symbol}{rng.choice((1.99, 2.99, 3.45, 125.50, 278.40, 575.00, 1000))}"


def _fill(text: str, rng: random.Random, region: str, domain: str, callback: str) -> str:
    return text.format(
        code=_code(rng), amount=_amount(rng, region), domain=domain, callback=callback
    )


def _on_track(
    track: Sequence[tuple[float, float, float]], rng: random.Random
) -> tuple[float, float, float]:
    """A time and place along ``track`` (a few hundred metres off it)."""
    leg = rng.randrange(max(1, len(track) - 1))
    f = rng.random() if len(track) > 1 else 0.0
    (a_t, a_lat, a_lon), (b_t, b_lat, b_lon) = track[leg], track[min(leg + 1, len(track) - 1)]
    return (
        a_t + (b_t - a_t) * f,
        a_lat + (b_lat - a_lat) * f + rng.gauss(0, 0.002),
        a_lon + (b_lon - a_lon) * f + rng.gauss(0, 0.003),
    )


def simulate(
    reports: int,
    seed: int = 1,
    hostile: bool = False,
    *,
    start: float = START,
    blaster: Sequence[tuple[float, float, float]] = BLASTER_TRACK,
    leased_gts: Sequence[str] = LEASED_GTS,
) -> tuple[list[dict[str, Any]], dict[str, str | None]]:
    """``reports`` report rows (as a report file holds them) and their labels.

    The month starts at ``start``; the Royal Mail parcel campaign is partly
    pushed by an SMS blaster that follows ``blaster`` (time, latitude,
    longitude), and the USPS campaign is sent through ``leased_gts``."""
    if not blaster:
        raise ValueError("the blaster needs at least one way point")
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    labels: dict[str, str | None] = {}
    weights = [lure.share for lure in LURES]
    # per campaign: its time span in the month, and its numbers (drawn once)
    spans = {
        lure.name: (start + rng.uniform(0, 20) * DAY, rng.uniform(2, 9) * DAY) for lure in LURES
    }
    spans["parcel-fee-royalmail"] = (blaster[0][0] - 6 * DAY, 7 * DAY)
    numbers = {
        lure.name: (
            [_number(s, rng) for s in lure.senders for _ in range(3)],
            [_number(c, rng) for c in lure.callbacks for _ in range(2)],
        )
        for lure in LURES
    }
    by_region: dict[str, list[tuple[str, str, str]]] = {}
    for network in NETWORKS:
        by_region.setdefault(network[1], []).append(network)
    for i in range(reports):
        report_id = f"r{seed}-{i:08d}"
        roll = rng.random()
        campaign: str | None = None
        location: tuple[float, float] | None = None
        gt = None
        if roll < 0.78:
            lure = rng.choices(LURES, weights)[0]
            campaign = lure.name
            network = rng.choice(by_region[lure.region])
            senders, callbacks = numbers[lure.name]
            wording = rng.choice(lure.wordings)
            body = _fill(
                rng.choice(wording),
                rng,
                lure.region,
                rng.choice(lure.domains) if lure.domains else "",
                rng.choice(callbacks) if callbacks else "",
            )
            sender = rng.choice(senders)
            begin, length = spans[lure.name]
            received = begin + rng.uniform(0, length)
            if lure.name == "parcel-fee-royalmail" and rng.random() < 0.15:
                # pushed by the blaster: near its route, while it drives
                received, lat, lon = _on_track(blaster, rng)
                location = (lat, lon)
                sender = "RoyalMail"
            if lure.name == "usps-redelivery":
                gt = rng.choice(leased_gts)  # a leased GT abroad
        else:
            network = rng.choice(NETWORKS)
            received = start + rng.uniform(0, 30) * DAY
            if roll < 0.9:
                body = _fill(rng.choice(HAM), rng, network[1], "", "")
                # people's own numbers: not the ones the lures' senders were drawn from
                sender = network[2].format(n=rng.randrange(5000, 10**4))
            else:
                body = _fill(rng.choice(MARKETING), rng, network[1], "bloomandco.com", "")
                sender = rng.choice(("BloomCo", "80080", "PizzaPlus"))
        reporter = network[2].format(n=rng.randrange(10**4))
        row: dict[str, Any] = {
            "report_id": report_id,
            "reporter": reporter,
            "reporting_network": network[0],
            "reported_at": received + rng.uniform(30, 6 * 3600),
            "received_at": received,
            "body": body,
            "sender": sender,
            "originating_gt": gt,
        }
        if location:
            row["lat"], row["lon"] = round(location[0], 6), round(location[1], 6)
        rows.append(row)
        labels[report_id] = campaign
    if hostile:
        rows.extend(_hostile(rng, start))
    return rows, labels


def _hostile(rng: random.Random, start: float) -> list[dict[str, Any]]:
    """Reports as real ones sometimes arrive."""
    return [
        {"reporter": "+447700900001", "reported_at": start, "body": "", "sender": "Unknown"},
        {
            "reporter": "+447700900002",
            "reported_at": start,
            "body": "\x00\x01\x02\x03\x04\x05\x06\x07",
            "sender": "x",
        },
        {
            "reporter": "+447700900003",
            "reported_at": start,
            "body": "A" * (10 << 20),
            "sender": "+44",
        },
        {"reporter": "not a number", "reported_at": "yesterday", "body": "hi", "sender": "+44123"},
        {
            "reporter": "+447700900004",
            "reported_at": start,
            "body": "Pay at http://[::1:bad/x and http://%%%.com",
            "sender": "++++",
        },
    ]
