"""Where a Global Title is: country (from its E.164 country code) and distance.

Coordinates are of each country's capital, enough for a velocity test
("could the subscriber have travelled from there to here in that time?").
"""

from __future__ import annotations

import math
from functools import lru_cache

import phonenumbers

#: Capital cities (latitude, longitude), by ISO 3166 alpha-2 code.
CAPITALS: dict[str, tuple[float, float]] = {
    "GB": (51.5, -0.1), "IE": (53.3, -6.3), "FR": (48.9, 2.4), "DE": (52.5, 13.4),
    "NL": (52.4, 4.9), "BE": (50.8, 4.4), "LU": (49.6, 6.1), "CH": (46.9, 7.4),
    "LI": (47.1, 9.5), "AT": (48.2, 16.4), "IT": (41.9, 12.5), "ES": (40.4, -3.7),
    "PT": (38.7, -9.1), "DK": (55.7, 12.6), "NO": (59.9, 10.8), "SE": (59.3, 18.1),
    "FI": (60.2, 24.9), "PL": (52.2, 21.0), "CZ": (50.1, 14.4), "HU": (47.5, 19.0),
    "GR": (38.0, 23.7), "RO": (44.4, 26.1), "BG": (42.7, 23.3), "UA": (50.5, 30.5),
    "RU": (55.8, 37.6), "TR": (39.9, 32.9), "IL": (31.8, 35.2), "AE": (24.5, 54.4),
    "SA": (24.7, 46.7), "EG": (30.0, 31.2), "NG": (9.1, 7.5), "KE": (-1.3, 36.8),
    "ZA": (-25.7, 28.2), "IN": (28.6, 77.2), "PK": (33.7, 73.1), "CN": (39.9, 116.4),
    "HK": (22.3, 114.2), "JP": (35.7, 139.7), "KR": (37.6, 127.0), "SG": (1.3, 103.8),
    "MY": (3.1, 101.7), "TH": (13.8, 100.5), "KH": (11.6, 104.9), "VN": (21.0, 105.8),
    "ID": (-6.2, 106.8), "PH": (14.6, 121.0), "AU": (-35.3, 149.1), "NZ": (-41.3, 174.8),
    "US": (38.9, -77.0), "CA": (45.4, -75.7), "MX": (19.4, -99.1), "BR": (-15.8, -47.9),
    "AR": (-34.6, -58.4), "CL": (-33.4, -70.7), "CO": (4.7, -74.1),
}  # fmt: skip


#: Mobile country codes (ITU-T E.212) of the countries above.
MCC_COUNTRIES: dict[str, str] = {
    "234": "GB", "235": "GB", "272": "IE", "208": "FR", "262": "DE", "204": "NL", "206": "BE",
    "270": "LU", "228": "CH", "295": "LI", "232": "AT", "222": "IT", "214": "ES", "268": "PT",
    "238": "DK", "242": "NO", "240": "SE", "244": "FI", "260": "PL", "230": "CZ", "216": "HU",
    "202": "GR", "226": "RO", "284": "BG", "255": "UA", "250": "RU", "286": "TR", "425": "IL",
    "424": "AE", "430": "AE", "431": "AE", "420": "SA", "602": "EG", "621": "NG", "639": "KE",
    "655": "ZA", "404": "IN", "405": "IN", "406": "IN", "410": "PK", "460": "CN", "461": "CN",
    "454": "HK", "440": "JP", "441": "JP", "450": "KR", "525": "SG", "502": "MY", "520": "TH",
    "456": "KH", "452": "VN", "510": "ID", "515": "PH", "505": "AU", "530": "NZ", "310": "US",
    "311": "US", "312": "US", "313": "US", "314": "US", "315": "US", "316": "US", "302": "CA",
    "334": "MX", "724": "BR", "722": "AR", "730": "CL", "732": "CO",
}  # fmt: skip


def country_of_mcc(mcc: str | None) -> str | None:
    """ISO country of a mobile country code, where telsec knows it."""
    return MCC_COUNTRIES.get(mcc or "")


@lru_cache(maxsize=65536)
def country_of(gt: str | None) -> str | None:
    """ISO country of an international-format GT (E.164 digits), or None.

    Shared country codes (+1, +7, +44 ...) are told apart by the number's
    prefix, as libphonenumber does."""
    if not gt or not gt.isdigit():
        return None
    try:
        number = phonenumbers.parse("+" + gt)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number) or (
        phonenumbers.region_code_for_country_code(number.country_code or 0)
    )
    return None if region in (None, "ZZ", "001") else region


def distance_km(a: str | None, b: str | None) -> float | None:
    """Great-circle distance between two countries' capitals; None if either is unknown."""
    if not a or not b:
        return None
    if a == b:
        return 0.0
    pa, pb = CAPITALS.get(a), CAPITALS.get(b)
    if pa is None or pb is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (*pa, *pb))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))
