"""The brand or sector a message impersonates, where one is clear.

A brand is named only when its name (or a well-known variant) is in the text as
whole words; the sector comes from the brand, else from unmistakable sector
words (a parcel "held" for a "fee" is delivery; a "tax refund" is government).
"""

from __future__ import annotations

import re
from functools import lru_cache

#: brand -> (sector, spellings as regular expressions over lower-case text)
BRANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Royal Mail": ("delivery", (r"royal ?mail",)),
    "Evri": ("delivery", (r"evri", r"hermes")),
    "DPD": ("delivery", (r"dpd",)),
    "DHL": ("delivery", (r"dhl",)),
    "FedEx": ("delivery", (r"fed ?ex",)),
    "UPS": ("delivery", (r"ups",)),
    "USPS": ("delivery", (r"usps", r"us postal service")),
    "Canada Post": ("delivery", (r"canada ?post", r"postes canada")),
    "Australia Post": ("delivery", (r"australia ?post", r"auspost")),
    "NZ Post": ("delivery", (r"nz ?post",)),
    "Amazon": ("retail", (r"amazon",)),
    "PayPal": ("payments", (r"paypal",)),
    "Apple": ("technology", (r"apple ?(?:id|pay)?", r"icloud")),
    "Netflix": ("subscription", (r"netflix",)),
    "HMRC": ("government", (r"hmrc",)),
    "IRS": ("government", (r"irs",)),
    "CRA": ("government", (r"cra", r"canada revenue", r"arc", r"agence du revenu")),
    "ATO": ("government", (r"ato", r"australian taxation office")),
    "IRD": ("government", (r"ird", r"inland revenue")),
    "DVLA": ("government", (r"dvla",)),
    "NHS": ("health", (r"nhs",)),
    "myGov": ("government", (r"mygov",)),
    "HSBC": ("banking", (r"hsbc",)),
    "Barclays": ("banking", (r"barclays",)),
    "Lloyds": ("banking", (r"lloyds",)),
    "NatWest": ("banking", (r"natwest",)),
    "Santander": ("banking", (r"santander",)),
    "Chase": ("banking", (r"chase",)),
    "Wells Fargo": ("banking", (r"wells ?fargo",)),
    "Bank of America": ("banking", (r"bank of america", r"bofa")),
    "RBC": ("banking", (r"rbc", r"royal bank")),
    "TD": ("banking", (r"td bank", r"td canada")),
    "Commonwealth Bank": ("banking", (r"commonwealth bank", r"commbank")),
    "ANZ": ("banking", (r"anz",)),
    "Westpac": ("banking", (r"westpac",)),
    "ING": ("banking", (r"ing bank(?:ieren)?",)),
    "EE": ("telecoms", (r"ee",)),
    "Vodafone": ("telecoms", (r"vodafone",)),
    "O2": ("telecoms", (r"o2",)),
    "Verizon": ("telecoms", (r"verizon",)),
    "AT&T": ("telecoms", (r"at&t", r"att wireless")),
    "T-Mobile": ("telecoms", (r"t-?mobile",)),
    "Telstra": ("telecoms", (r"telstra",)),
    "E-ZPass": ("tolls", (r"e-?z ?pass",)),
    "Linkt": ("tolls", (r"linkt",)),
}
#: Words that make the sector unmistakable without a brand.
SECTORS: tuple[tuple[str, str], ...] = (
    ("delivery", r"\b(?:parcel|package|delivery|courier|redeliver|shipment)\b"),
    (
        "banking",
        r"\b(?:bank account|your bank|card (?:has been|was) (?:blocked|suspended)|payee)\b",
    ),
    ("government", r"\b(?:tax refund|tax rebate|council tax|benefit payment)\b"),
    ("tolls", r"\b(?:unpaid toll|toll (?:balance|charge|bill))\b"),
    ("family", r"\b(?:hi mum|hi mom|hi dad|new number,? (?:mum|mom|dad))\b"),
    ("prize", r"\b(?:you have won|you've won|winner|prize|claim your reward)\b"),
    ("crypto", r"\b(?:bitcoin|crypto|usdt|wallet)\b"),
    ("jobs", r"\b(?:part[- ]time job|recruiter|earn \S+ (?:a|per) day)\b"),
)
_BRAND_PATTERNS = [
    (name, sector, re.compile(r"\b(?:" + "|".join(spellings) + r")\b"))
    for name, (sector, spellings) in BRANDS.items()
]
_SECTOR_PATTERNS = [(sector, re.compile(pattern)) for sector, pattern in SECTORS]
#: Brands whose short names are also words: those count only in upper case.
_UPPER_ONLY = {"EE", "UPS", "ATO", "IRS", "CRA", "IRD", "ANZ", "TD", "RBC", "DPD", "DHL", "O2"}


@lru_cache(maxsize=100_000)
def impersonated(text: str) -> tuple[str | None, str | None]:
    """(brand, sector) of a message; either may be None."""
    lowered = text.lower()
    for name, sector, pattern in _BRAND_PATTERNS:
        found = pattern.search(lowered)
        if not found:
            continue
        short = found.end() - found.start() <= 4  # "CRA", not "Canada Revenue"
        if name in _UPPER_ONLY and short and not text[found.start() : found.end()].isupper():
            continue
        return name, sector
    for sector, pattern in _SECTOR_PATTERNS:
        if pattern.search(lowered):
            return None, sector
    return None, None
