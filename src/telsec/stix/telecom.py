"""Telecom vocabulary: three new STIX 2.1 SCO types defined by extension-definitions.

STIX 2.1 section 7.3 lets a producer define new object types with an
``extension-definition`` whose ``extension_types`` contains ``"new-sco"``.
telsec defines three:

``global-title``
    An SS7/SCCP Global Title (ITU-T Q.713 section 3.4.2.3): the address a
    signalling peer uses on the international SS7 interconnect.  ``digits`` holds
    only the decimal address signals 0-9 (1 to 15 of them, the E.164 maximum).
    Q.713 also allows the BCD codes 11 and 12 (``*`` and ``#``) and the code 15
    (ST); they never occur in the E.164 / E.212 / E.214 GTs exchanged between
    operators, so telsec rejects them rather than inventing a spelling for them.
``cell-identity``
    A radio cell as a base station broadcasts it (GSM, UMTS, LTE or NR): the
    PLMN (``mcc``, ``mnc``), the location/tracking area and the cell identity,
    plus optional radio parameters (channel number, PCI, PSC, BSIC).  Fake base
    stations (IMSI catchers, SMS blasters) are reported with these.
``sms-sender``
    The originating address of an SMS as the recipient sees it: an
    alphanumeric sender id, a short code or an E.164 number.

Every SCO id is deterministic exactly as STIX 2.1 section 2.9 prescribes:
``<type>--UUIDv5(STIX_SCO_NAMESPACE, JCS(id-contributing properties))``, where
the id-contributing properties are those of :data:`ID_CONTRIBUTING_PROPERTIES`
that are present on the object.  Two nodes that observe the same Global Title
therefore mint the same object id without talking to each other.

The module also defines the property-extension that lists the recipients of a
TLP:RED object (:data:`~telsec.stix.ids.RED_RECIPIENTS_EXTENSION_ID`).

The validator (``telsec.stix.validate``) imports :data:`TELECOM_TYPES` and
:func:`check` lazily; nothing here imports the validator.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

import phonenumbers

from telsec.stix.ids import (
    RED_RECIPIENTS_EXTENSION_ID,
    STIX_SCO_NAMESPACE,
    TELSEC_IDENTITY_ID,
    telsec_id,
)
from telsec.stix.tlp import TLP2_MARKING_IDS, Tlp

__all__ = [
    "CELL_IDENTITY",
    "CELL_IDENTITY_EXTENSION_ID",
    "EXTENSION_IDS",
    "GLOBAL_TITLE",
    "GLOBAL_TITLE_EXTENSION_ID",
    "ID_CONTRIBUTING_PROPERTIES",
    "NATURES_OF_ADDRESS",
    "NUMBERING_PLANS",
    "RATS",
    "SMS_SENDER",
    "SMS_SENDER_EXTENSION_ID",
    "SMS_SENDER_KINDS",
    "TELECOM_TYPES",
    "VOCABULARY_TIMESTAMP",
    "cell_identity",
    "check",
    "check_red_recipients",
    "deterministic_id",
    "extension_definition",
    "extension_definitions",
    "global_title",
    "red_recipients",
    "red_recipients_extension_definition",
    "sms_sender",
    "with_red_recipients",
]

# ---------------------------------------------------------------------------
# Names and ids
# ---------------------------------------------------------------------------

GLOBAL_TITLE: Final = "global-title"
CELL_IDENTITY: Final = "cell-identity"
SMS_SENDER: Final = "sms-sender"

TELECOM_TYPES: Final[frozenset[str]] = frozenset({GLOBAL_TITLE, CELL_IDENTITY, SMS_SENDER})

GLOBAL_TITLE_EXTENSION_ID: Final = telsec_id("extension-definition", "telsec/global-title")
CELL_IDENTITY_EXTENSION_ID: Final = telsec_id("extension-definition", "telsec/cell-identity")
SMS_SENDER_EXTENSION_ID: Final = telsec_id("extension-definition", "telsec/sms-sender")

EXTENSION_IDS: Final[Mapping[str, str]] = {
    GLOBAL_TITLE: GLOBAL_TITLE_EXTENSION_ID,
    CELL_IDENTITY: CELL_IDENTITY_EXTENSION_ID,
    SMS_SENDER: SMS_SENDER_EXTENSION_ID,
}

# created/modified of every object telsec publishes itself, so that each node
# serves byte-identical vocabulary objects.
VOCABULARY_TIMESTAMP: Final = "2025-01-01T00:00:00.000Z"

# STIX 2.1 section 2.9: the properties whose values make up an SCO's id.  Only
# the ones present on an object are used (as stix2 does).
ID_CONTRIBUTING_PROPERTIES: Final[Mapping[str, tuple[str, ...]]] = {
    GLOBAL_TITLE: ("digits", "numbering_plan"),
    CELL_IDENTITY: ("rat", "mcc", "mnc", "lac", "tac", "cid", "eci", "nci"),
    SMS_SENDER: ("kind", "value"),
}

# ITU-T Q.713 section 3.4.2.3.3: numbering plan (4 bits).
NUMBERING_PLANS: Final[Mapping[str, int]] = {
    "unknown": 0,
    "isdn-telephony": 1,  # E.164
    "generic": 2,
    "data-x121": 3,
    "telex": 4,  # F.69
    "maritime": 5,  # E.210 / E.211
    "land-mobile-e212": 6,
    "isdn-mobile-e214": 7,
    "private": 14,  # private or network specific
}

# ITU-T Q.713 section 3.4.2.3.1: nature of address indicator (7 bits).
NATURES_OF_ADDRESS: Final[Mapping[str, int]] = {
    "unknown": 0,
    "subscriber": 1,
    "national": 2,  # reserved for national use
    "national-significant": 3,
    "international": 4,
}

RATS: Final = ("gsm", "umts", "lte", "nr")
SMS_SENDER_KINDS: Final = ("alphanumeric", "short-code", "e164")

# Numbering plans whose digits start with an E.164 country code.
_E164_PLANS: Final = frozenset({"isdn-telephony", "isdn-mobile-e214"})

_UUID_RE: Final = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_IDENTITY_ID_RE: Final = re.compile(f"identity--{_UUID_RE}")
_GT_DIGITS_RE: Final = re.compile("[0-9]{1,15}")
_MCC_RE: Final = re.compile("[0-9]{3}")
_MNC_RE: Final = re.compile("[0-9]{2,3}")
_SHORT_CODE_RE: Final = re.compile("[0-9]{3,8}")
_E164_RE: Final = re.compile(r"\+[1-9][0-9]{1,14}")

# ISO 3166-1 alpha-2, officially assigned codes.
_ISO_3166_ALPHA2: Final = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM
    BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX
    CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG
    GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
    IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV
    LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE
    NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
    RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF
    WS YE YT ZA ZM ZW
    """.split()
)
# Plus the codes libphonenumber uses for regions ISO does not assign (AC, TA, XK),
# so that every country this module derives is accepted back by check().
_COUNTRIES: Final = _ISO_3166_ALPHA2 | frozenset(
    r for r in phonenumbers.SUPPORTED_REGIONS if re.fullmatch("[A-Z]{2}", r)
)

# 3GPP TS 23.038 section 6.2.1: GSM 7-bit default alphabet.  Control characters
# (LF, CR, the escape itself) are left out: they do not belong in a sender id.
_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the extension table: each takes two septets (escape + code).
_GSM7_EXTENSION: Final = frozenset("^{}\\[~]|€")
_ALPHANUMERIC_MAX_SEPTETS: Final = 11  # TS 23.040: 10 octets of TP-OA address value

_COMMON_SCO_PROPERTIES: Final = frozenset(
    {
        "type",
        "spec_version",
        "id",
        "extensions",
        "object_marking_refs",
        "granular_markings",
        "defanged",
    }
)

_TLP_CLEAR_ID: Final = TLP2_MARKING_IDS[Tlp.CLEAR]


class _Invalid(Exception):
    """A reason an object is invalid; :func:`check` prefixes it with the type."""


# ---------------------------------------------------------------------------
# Deterministic ids
# ---------------------------------------------------------------------------


def _canonical_json(value: Mapping[str, str | int]) -> str:
    """RFC 8785 (JCS) serialisation of a flat object of strings and integers.

    For such values JCS is ``json.dumps`` with sorted keys, no whitespace and
    non-ASCII characters left unescaped: the property names are ASCII (so code
    point and UTF-16 orders agree), integers have no exponent or fraction, and
    Python escapes control characters as JCS does (``\\n``, ``\\u001b``...).
    """
    for key, item in value.items():
        if not key.isascii() or isinstance(item, bool) or not isinstance(item, str | int):
            raise ValueError(f"cannot canonicalise {key}={item!r}")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def deterministic_id(obj: Mapping[str, Any]) -> str:
    """The STIX 2.1 section 2.9 id of telecom SCO ``obj`` from its own properties."""
    stix_type = obj.get("type")
    if stix_type not in TELECOM_TYPES:
        raise ValueError(f"{stix_type}: not a telsec telecom type")
    contributing = {
        name: obj[name] for name in ID_CONTRIBUTING_PROPERTIES[stix_type] if name in obj
    }
    if not contributing:
        raise ValueError(f"{stix_type}: no id-contributing property present")
    digest = uuid.uuid5(STIX_SCO_NAMESPACE, _canonical_json(contributing))
    return f"{stix_type}--{digest}"


# ---------------------------------------------------------------------------
# Small checks
# ---------------------------------------------------------------------------


def _int_in(obj: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise _Invalid(f"{name} must be in {low}..{high}, got {value}")
    return value


def _string(obj: Mapping[str, Any], name: str) -> str:
    value = obj[name]
    if not isinstance(value, str):
        raise _Invalid(f"{name} must be a string, got {value!r}")
    return value


def _one_of(obj: Mapping[str, Any], name: str, allowed: Iterable[str]) -> str:
    value = obj[name]
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise _Invalid(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _country(obj: Mapping[str, Any]) -> None:
    if "country" in obj:
        value = obj["country"]
        if not isinstance(value, str) or value not in _COUNTRIES:
            raise _Invalid(f"country must be an ISO 3166-1 alpha-2 code, got {value!r}")


def _check_common(obj: Mapping[str, Any], stix_type: str, allowed: frozenset[str]) -> None:
    if obj.get("spec_version") != "2.1":
        raise _Invalid(f"spec_version must be '2.1', got {obj.get('spec_version')!r}")
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not re.fullmatch(f"{stix_type}--{_UUID_RE}", object_id):
        raise _Invalid(f"id must be '{stix_type}--<lowercase uuid>', got {object_id!r}")
    extensions = obj.get("extensions")
    ext_id = EXTENSION_IDS[stix_type]
    if not isinstance(extensions, Mapping) or ext_id not in extensions:
        raise _Invalid(f"extensions must contain the extension-definition {ext_id}")
    if extensions[ext_id] != {"extension_type": "new-sco"}:
        raise _Invalid(f'extensions[{ext_id}] must be {{"extension_type": "new-sco"}}')
    if "defanged" in obj and not isinstance(obj["defanged"], bool):
        raise _Invalid(f"defanged must be a boolean, got {obj['defanged']!r}")
    unknown = sorted(
        name
        for name in obj
        if name not in _COMMON_SCO_PROPERTIES
        and name not in allowed
        and not (isinstance(name, str) and name.startswith("x_"))
    )
    if unknown:
        raise _Invalid(f"unknown properties {', '.join(unknown)}")


def _require(obj: Mapping[str, Any], names: Iterable[str]) -> None:
    missing = [name for name in names if name not in obj]
    if missing:
        raise _Invalid(f"missing required properties {', '.join(missing)}")


# ---------------------------------------------------------------------------
# global-title
# ---------------------------------------------------------------------------

_GT_PROPERTIES: Final = frozenset(
    {"digits", "numbering_plan", "nature_of_address", "translation_type", "country", "operator"}
)


def _check_global_title(obj: Mapping[str, Any]) -> None:
    _check_common(obj, GLOBAL_TITLE, _GT_PROPERTIES)
    _require(obj, ("digits", "numbering_plan"))
    digits = _string(obj, "digits")
    if not _GT_DIGITS_RE.fullmatch(digits):
        raise _Invalid(f"digits must be 1 to 15 decimal digits 0-9, got {digits!r}")
    _one_of(obj, "numbering_plan", NUMBERING_PLANS)
    if "nature_of_address" in obj:
        _one_of(obj, "nature_of_address", NATURES_OF_ADDRESS)
    if "translation_type" in obj:
        _int_in(obj, "translation_type", 0, 255)
    _country(obj)
    if "operator" in obj and not _string(obj, "operator").strip():
        raise _Invalid("operator must be a non-empty string")


def _e164_country(digits: str) -> str | None:
    """The ISO 3166-1 country of the E.164 number (or number prefix) ``digits``.

    A full number resolves to its exact region (``+1 416...`` is CA); a prefix
    too short to identify one resolves to the main region of its country code
    (``+1 ...`` is US, ``+44 ...`` is GB).  Non-geographic codes (800, 870,
    881, 882, 883...) and unassigned ones give ``None``.
    """
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None:
        region = phonenumbers.region_code_for_number(number)
        if region and region in _COUNTRIES:
            return region
    for length in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:length]))
        if regions:
            main = regions[0]
            return main if main in _COUNTRIES else None
    return None


def _label(value: str | int, table: Mapping[str, int], what: str) -> str:
    """Accept a label or its Q.713 code; return the label."""
    if isinstance(value, str) and value in table:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        for label, code in table.items():
            if code == value:
                return label
    choices = ", ".join(f"{label}({code})" for label, code in table.items())
    raise ValueError(f"{GLOBAL_TITLE}: {what} must be one of {choices}, got {value!r}")


def global_title(
    digits: str,
    *,
    numbering_plan: str | int = "isdn-telephony",
    nature_of_address: str | int = "international",
    translation_type: int = 0,
    country: str | None = None,
    operator: str | None = None,
) -> dict[str, Any]:
    """A ``global-title`` SCO.

    ``digits`` may carry spaces and a leading ``+``; both are dropped.
    ``numbering_plan`` and ``nature_of_address`` take a label of
    :data:`NUMBERING_PLANS` / :data:`NATURES_OF_ADDRESS` or its Q.713 code.
    When ``country`` is not given and the digits are an international E.164 or
    E.214 address, it is derived from the country code.  Raises ``ValueError``.
    """
    if not isinstance(digits, str):
        raise ValueError(f"{GLOBAL_TITLE}: digits must be a string, got {digits!r}")
    cleaned = "".join(digits.split())
    cleaned = cleaned.removeprefix("+")
    plan = _label(numbering_plan, NUMBERING_PLANS, "numbering_plan")
    nature = _label(nature_of_address, NATURES_OF_ADDRESS, "nature_of_address")
    obj: dict[str, Any] = {
        "type": GLOBAL_TITLE,
        "spec_version": "2.1",
        "id": "",
        "digits": cleaned,
        "numbering_plan": plan,
        "nature_of_address": nature,
        "translation_type": translation_type,
    }
    if country is None and plan in _E164_PLANS and nature == "international":
        if _GT_DIGITS_RE.fullmatch(cleaned):
            country = _e164_country(cleaned)
    if country is not None:
        obj["country"] = country.upper() if isinstance(country, str) else country
    if operator is not None:
        obj["operator"] = operator
    return _finish(obj)


# ---------------------------------------------------------------------------
# cell-identity
# ---------------------------------------------------------------------------

# Per RAT: the required area and cell properties, the optional radio
# properties, and the value range of each (3GPP TS 23.003, 44.018, 25.331,
# 36.331, 38.331, 36.101, 38.104).
_CELL_RULES: Final[Mapping[str, tuple[Mapping[str, int], Mapping[str, int]]]] = {
    "gsm": (
        {"lac": 0xFFFF, "cid": 0xFFFF},
        {"arfcn": 1023, "bsic": 63},
    ),
    "umts": (
        # cid: the 28-bit UTRAN cell identity of SIB3 (RNC-Id << 16 | C-Id).
        {"lac": 0xFFFF, "cid": (1 << 28) - 1},
        {"uarfcn": 16383, "psc": 511},
    ),
    "lte": (
        {"tac": 0xFFFF, "eci": (1 << 28) - 1},
        {"earfcn": 262143, "pci": 503},
    ),
    "nr": (
        {"tac": (1 << 24) - 1, "nci": (1 << 36) - 1},
        {"nrarfcn": 3279165, "pci": 1007},
    ),
}
_RAT_PROPERTIES: Final = frozenset(
    name for required, optional in _CELL_RULES.values() for name in (*required, *optional)
)
_CELL_PROPERTIES: Final = frozenset({"rat", "mcc", "mnc"}) | _RAT_PROPERTIES


def _check_cell_identity(obj: Mapping[str, Any]) -> None:
    _check_common(obj, CELL_IDENTITY, _CELL_PROPERTIES)
    _require(obj, ("rat", "mcc", "mnc"))
    rat = _one_of(obj, "rat", RATS)
    mcc = _string(obj, "mcc")
    if not _MCC_RE.fullmatch(mcc):
        raise _Invalid(f"mcc must be 3 decimal digits, got {mcc!r}")
    mnc = _string(obj, "mnc")
    if not _MNC_RE.fullmatch(mnc):
        raise _Invalid(f"mnc must be 2 or 3 decimal digits, got {mnc!r}")
    required, optional = _CELL_RULES[rat]
    _require(obj, required)
    for name, high in (*required.items(), *optional.items()):
        if name in obj:
            _int_in(obj, name, 0, high)
    misplaced = sorted(
        name for name in _RAT_PROPERTIES if name in obj and name not in required | optional.keys()
    )
    if misplaced:
        raise _Invalid(f"{', '.join(misplaced)} not used with rat {rat}")


def cell_identity(
    rat: str,
    mcc: str | int,
    mnc: str,
    *,
    lac: int | None = None,
    tac: int | None = None,
    cid: int | None = None,
    eci: int | None = None,
    nci: int | None = None,
    arfcn: int | None = None,
    uarfcn: int | None = None,
    earfcn: int | None = None,
    nrarfcn: int | None = None,
    pci: int | None = None,
    psc: int | None = None,
    bsic: int | None = None,
) -> dict[str, Any]:
    """A ``cell-identity`` SCO.

    GSM and UMTS need ``lac`` and ``cid``; LTE needs ``tac`` and ``eci``; NR
    needs ``tac`` and ``nci``.  ``mnc`` must be a string so that ``"01"`` and
    ``"001"`` stay different; ``mcc`` may be an int.  Raises ``ValueError``.
    """
    obj: dict[str, Any] = {
        "type": CELL_IDENTITY,
        "spec_version": "2.1",
        "id": "",
        "rat": rat.lower() if isinstance(rat, str) else rat,
        "mcc": f"{mcc:03d}" if isinstance(mcc, int) and not isinstance(mcc, bool) else mcc,
        "mnc": mnc,
    }
    optional = {
        "lac": lac,
        "tac": tac,
        "cid": cid,
        "eci": eci,
        "nci": nci,
        "arfcn": arfcn,
        "uarfcn": uarfcn,
        "earfcn": earfcn,
        "nrarfcn": nrarfcn,
        "pci": pci,
        "psc": psc,
        "bsic": bsic,
    }
    obj.update({name: value for name, value in optional.items() if value is not None})
    return _finish(obj)


# ---------------------------------------------------------------------------
# sms-sender
# ---------------------------------------------------------------------------

_SMS_PROPERTIES: Final = frozenset({"value", "kind", "country"})


def _gsm7_septets(text: str) -> int | None:
    """Septets ``text`` takes in the GSM 7-bit alphabet, ``None`` if not encodable."""
    count = 0
    for char in text:
        if char in _GSM7_BASIC:
            count += 1
        elif char in _GSM7_EXTENSION:
            count += 2
        else:
            return None
    return count


def _check_sms_sender(obj: Mapping[str, Any]) -> None:
    _check_common(obj, SMS_SENDER, _SMS_PROPERTIES)
    _require(obj, ("value", "kind"))
    value = _string(obj, "value")
    kind = _one_of(obj, "kind", SMS_SENDER_KINDS)
    if kind == "alphanumeric":
        septets = _gsm7_septets(value)
        if septets is None:
            raise _Invalid(
                f"alphanumeric value must use the GSM 7-bit alphabet only, got {value!r}"
            )
        if not 1 <= septets <= _ALPHANUMERIC_MAX_SEPTETS or not value.strip():
            raise _Invalid(
                "alphanumeric value must be 1 to 11 GSM 7-bit septets, not blank "
                f"(extension-table characters take two), got {value!r} ({septets} septets)"
            )
    elif kind == "short-code":
        if not _SHORT_CODE_RE.fullmatch(value):
            raise _Invalid(f"short-code value must be 3 to 8 decimal digits, got {value!r}")
    else:
        if not _E164_RE.fullmatch(value):
            raise _Invalid(f"e164 value must be '+' and 2 to 15 digits, got {value!r}")
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as exc:
            raise _Invalid(f"e164 value {value!r} is not a phone number: {exc}") from None
        # IS_POSSIBLE only: a number possible just for local dialling is too short.
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
            raise _Invalid(f"e164 value {value!r} is not a possible phone number")
    _country(obj)


def _detect_kind(value: str) -> str:
    if value.startswith("+"):
        return "e164"
    if value.isascii() and value.isdigit():
        if _SHORT_CODE_RE.fullmatch(value):
            return "short-code"
        if len(value) > 8:
            return "e164"
        raise ValueError(f"{SMS_SENDER}: cannot tell the kind of {value!r}: too few digits")
    return "alphanumeric"


def sms_sender(
    value: str, *, kind: str | None = None, country: str | None = None
) -> dict[str, Any]:
    """An ``sms-sender`` SCO.

    Without ``kind``: ``+...`` or 9 or more digits is ``e164``, 3 to 8 digits
    is ``short-code``, anything else ``alphanumeric``.  An ``e164`` value is
    normalised to E.164 (``+447700900123``) and its country derived when not
    given.  Raises ``ValueError``.
    """
    if not isinstance(value, str):
        raise ValueError(f"{SMS_SENDER}: value must be a string, got {value!r}")
    if kind is None:
        kind = _detect_kind(value.strip())
    if kind == "e164":
        compact = "".join(value.split())
        if compact.isascii() and compact.isdigit():
            compact = "+" + compact
        try:
            number = phonenumbers.parse(compact, None)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"{SMS_SENDER}: {value!r} is not an E.164 number: {exc}") from None
        value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if country is None and _E164_RE.fullmatch(value):
            country = _e164_country(value[1:])
    elif kind == "short-code":
        value = value.strip()
    obj: dict[str, Any] = {
        "type": SMS_SENDER,
        "spec_version": "2.1",
        "id": "",
        "value": value,
        "kind": kind,
    }
    if country is not None:
        obj["country"] = country.upper() if isinstance(country, str) else country
    return _finish(obj)


# ---------------------------------------------------------------------------
# check() and builders' common tail
# ---------------------------------------------------------------------------

_CHECKERS: Final = {
    GLOBAL_TITLE: _check_global_title,
    CELL_IDENTITY: _check_cell_identity,
    SMS_SENDER: _check_sms_sender,
}


def check(obj: dict[str, Any]) -> None:
    """Raise ``ValueError("<type>: <reason>")`` unless ``obj`` is a valid telecom SCO.

    Checks the properties (presence, types, digit strings, per-RAT ranges), the
    ``extensions`` entry naming the type's extension-definition, and that the
    id is the deterministic id of the object's id-contributing properties.
    Properties outside the type's definition are rejected unless they are
    common SCO properties or start with ``x_``.
    """
    stix_type = obj.get("type") if isinstance(obj, Mapping) else None
    if not isinstance(stix_type, str) or stix_type not in _CHECKERS:
        raise ValueError(f"{stix_type}: not a telsec telecom type ({', '.join(sorted(_CHECKERS))})")
    try:
        _CHECKERS[stix_type](obj)
    except _Invalid as exc:
        raise ValueError(f"{stix_type}: {exc}") from None
    expected = deterministic_id(obj)
    if obj["id"] != expected:
        contributing = ", ".join(ID_CONTRIBUTING_PROPERTIES[stix_type])
        raise ValueError(
            f"{stix_type}: id {obj['id']} is not the deterministic id {expected} "
            f"of its id-contributing properties ({contributing})"
        )


def _finish(obj: dict[str, Any]) -> dict[str, Any]:
    """Add the extension, compute the id, validate, return ``obj``."""
    stix_type = obj["type"]
    obj["extensions"] = {EXTENSION_IDS[stix_type]: {"extension_type": "new-sco"}}
    try:
        _CHECKERS[stix_type]({**obj, "id": f"{stix_type}--00000000-0000-4000-8000-000000000000"})
    except _Invalid as exc:
        raise ValueError(f"{stix_type}: {exc}") from None
    obj["id"] = deterministic_id(obj)
    return obj


# ---------------------------------------------------------------------------
# TLP:RED recipients property-extension
# ---------------------------------------------------------------------------


def red_recipients(obj: Mapping[str, Any]) -> list[str]:
    """The identity ids listed as recipients of ``obj``, in their order.

    Fails closed: if the extension is missing or anything in it is malformed
    (not a list, an entry that is not an ``identity--<uuid>``), the answer is
    ``[]`` - nobody besides the producer.
    """
    extensions = obj.get("extensions")
    if not isinstance(extensions, Mapping):
        return []
    ext = extensions.get(RED_RECIPIENTS_EXTENSION_ID)
    if not isinstance(ext, Mapping) or ext.get("extension_type") != "property-extension":
        return []
    recipients = ext.get("recipients")
    if not isinstance(recipients, list):
        return []
    if not all(isinstance(r, str) and _IDENTITY_ID_RE.fullmatch(r) for r in recipients):
        return []
    return list(dict.fromkeys(recipients))


def with_red_recipients(obj: Mapping[str, Any], identity_ids: Iterable[str]) -> dict[str, Any]:
    """A copy of ``obj`` whose RED recipients extension lists ``identity_ids``.

    The ids are deduplicated and sorted, so the result does not depend on the
    order they were given in.  An empty list removes the extension.  ``obj``
    is not modified; nor is its ``modified`` timestamp (the caller versions the
    object if it needs to).  Raises ``ValueError`` on an id that is not an
    ``identity--<lowercase uuid>``.
    """
    if isinstance(identity_ids, str):
        raise ValueError("identity_ids must be a list of identity ids, not a string")
    ids = sorted(set(identity_ids))
    bad = [i for i in ids if not isinstance(i, str) or not _IDENTITY_ID_RE.fullmatch(i)]
    if bad:
        raise ValueError(f"not identity ids: {', '.join(map(repr, bad))}")
    result = dict(obj)
    extensions = dict(result.get("extensions") or {})
    extensions.pop(RED_RECIPIENTS_EXTENSION_ID, None)
    if ids:
        extensions[RED_RECIPIENTS_EXTENSION_ID] = {
            "extension_type": "property-extension",
            "recipients": ids,
        }
    if extensions:
        result["extensions"] = extensions
    else:
        result.pop("extensions", None)
    return result


def check_red_recipients(obj: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` if ``obj`` carries a malformed RED recipients extension."""
    extensions = obj.get("extensions")
    if not isinstance(extensions, Mapping) or RED_RECIPIENTS_EXTENSION_ID not in extensions:
        return
    ext = extensions[RED_RECIPIENTS_EXTENSION_ID]
    if not isinstance(ext, Mapping) or ext.get("extension_type") != "property-extension":
        raise ValueError("red-recipients: extension_type must be 'property-extension'")
    unknown = sorted(set(ext) - {"extension_type", "recipients"})
    if unknown:
        raise ValueError(f"red-recipients: unknown properties {', '.join(unknown)}")
    recipients = ext.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        raise ValueError("red-recipients: recipients must be a non-empty list of identity ids")
    bad = [r for r in recipients if not isinstance(r, str) or not _IDENTITY_ID_RE.fullmatch(r)]
    if bad:
        raise ValueError(f"red-recipients: not identity ids: {', '.join(map(repr, bad))}")


# ---------------------------------------------------------------------------
# Extension-definitions
# ---------------------------------------------------------------------------

_JSON_SCHEMA: Final = "https://json-schema.org/draft/2020-12/schema"


def _int_schema(high: int, description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": high, "description": description}


def _sco_schema(
    stix_type: str,
    description: str,
    required: list[str],
    properties: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    ext_id = EXTENSION_IDS[stix_type]
    return {
        "$schema": _JSON_SCHEMA,
        "title": stix_type,
        "description": description,
        "type": "object",
        "required": ["type", "spec_version", "id", "extensions", *required],
        "properties": {
            "type": {"const": stix_type},
            "spec_version": {"const": "2.1"},
            "id": {
                "type": "string",
                "pattern": f"^{stix_type}--{_UUID_RE}$",
                "description": "Deterministic (STIX 2.1 section 2.9) over "
                + ", ".join(ID_CONTRIBUTING_PROPERTIES[stix_type]),
            },
            "extensions": {
                "type": "object",
                "required": [ext_id],
                "properties": {ext_id: {"const": {"extension_type": "new-sco"}}},
            },
            **properties,
        },
        **extra,
    }


def _gt_schema() -> dict[str, Any]:
    return _sco_schema(
        GLOBAL_TITLE,
        "An SS7/SCCP Global Title (ITU-T Q.713 3.4.2.3).",
        ["digits", "numbering_plan"],
        {
            "digits": {
                "type": "string",
                "pattern": "^[0-9]{1,15}$",
                "description": "Address signals, decimal digits only (no '*', '#', filler).",
            },
            "numbering_plan": {
                "enum": list(NUMBERING_PLANS),
                "description": "Q.713 numbering plan: "
                + ", ".join(f"{k}({v})" for k, v in NUMBERING_PLANS.items()),
            },
            "nature_of_address": {
                "enum": list(NATURES_OF_ADDRESS),
                "description": "Q.713 nature of address indicator: "
                + ", ".join(f"{k}({v})" for k, v in NATURES_OF_ADDRESS.items()),
            },
            "translation_type": _int_schema(255, "Q.713 translation type."),
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "operator": {"type": "string", "minLength": 1},
        },
    )


def _cell_schema() -> dict[str, Any]:
    descriptions = {
        "lac": "Location area code (GSM, UMTS), 16 bits.",
        "tac": "Tracking area code: LTE 16 bits, NR 24 bits.",
        "cid": "Cell id: GSM 16 bits; UMTS 28-bit UTRAN cell id (RNC-Id << 16 | C-Id).",
        "eci": "E-UTRAN cell identity (LTE), 28 bits.",
        "nci": "NR cell identity, 36 bits.",
        "arfcn": "GSM ARFCN (0-1023).",
        "uarfcn": "UMTS UARFCN (0-16383).",
        "earfcn": "LTE EARFCN (0-262143).",
        "nrarfcn": "NR-ARFCN (0-3279165).",
        "pci": "Physical cell id: LTE 0-503, NR 0-1007.",
        "psc": "UMTS primary scrambling code (0-511).",
        "bsic": "GSM base station identity code (0-63).",
    }
    highs: dict[str, int] = {}
    for required, optional in _CELL_RULES.values():
        for name, high in (*required.items(), *optional.items()):
            highs[name] = max(high, highs.get(name, 0))
    per_rat = [
        {
            "if": {"properties": {"rat": {"const": rat}}},
            "then": {
                "required": list(required),
                "properties": {
                    **{name: {"maximum": high} for name, high in required.items()},
                    **{name: {"maximum": high} for name, high in optional.items()},
                    **{
                        name: False
                        for name in sorted(_RAT_PROPERTIES - required.keys() - optional.keys())
                    },
                },
            },
        }
        for rat, (required, optional) in _CELL_RULES.items()
    ]
    return _sco_schema(
        CELL_IDENTITY,
        "A radio cell as broadcast by a base station (GSM, UMTS, LTE, NR).",
        ["rat", "mcc", "mnc"],
        {
            "rat": {"enum": list(RATS)},
            "mcc": {"type": "string", "pattern": "^[0-9]{3}$"},
            "mnc": {
                "type": "string",
                "pattern": "^[0-9]{2,3}$",
                "description": "Leading zeros kept.",
            },
            **{name: _int_schema(highs[name], descriptions[name]) for name in sorted(highs)},
        },
        allOf=per_rat,
    )


def _sms_schema() -> dict[str, Any]:
    return _sco_schema(
        SMS_SENDER,
        "The originating address of an SMS as the recipient sees it.",
        ["value", "kind"],
        {
            "value": {
                "type": "string",
                "description": "alphanumeric: 1-11 GSM 7-bit characters (3GPP TS 23.038, "
                "extension-table characters count twice); short-code: 3-8 digits; "
                "e164: '+' and the E.164 digits, a possible (not just locally dialable) "
                "number per libphonenumber.",
            },
            "kind": {"enum": list(SMS_SENDER_KINDS)},
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
        },
    )


def _red_schema() -> dict[str, Any]:
    return {
        "$schema": _JSON_SCHEMA,
        "title": "red-recipients",
        "description": "Property-extension on a TLP:RED object: the organisations (identity "
        "ids) entitled to read it besides its producer (created_by_ref).",
        "type": "object",
        "required": ["extension_type", "recipients"],
        "properties": {
            "extension_type": {"const": "property-extension"},
            "recipients": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"type": "string", "pattern": f"^identity--{_UUID_RE}$"},
            },
        },
        "additionalProperties": False,
    }


_DEFINITIONS: Final = {
    GLOBAL_TITLE: (
        "telsec global-title",
        "SS7/SCCP Global Title (ITU-T Q.713): digits, numbering plan, nature of address, "
        "translation type, country and operator. New SCO type 'global-title'.",
        _gt_schema,
    ),
    CELL_IDENTITY: (
        "telsec cell-identity",
        "Radio cell identity as broadcast (GSM, UMTS, LTE, NR): MCC, MNC, LAC/TAC, cell id "
        "and radio parameters. New SCO type 'cell-identity', used to report fake base "
        "stations.",
        _cell_schema,
    ),
    SMS_SENDER: (
        "telsec sms-sender",
        "Originating address of an SMS: alphanumeric sender id, short code or E.164 number. "
        "New SCO type 'sms-sender'.",
        _sms_schema,
    ),
}


def _definition(
    ext_id: str, name: str, description: str, schema: dict[str, Any], kind: str
) -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": ext_id,
        "created_by_ref": TELSEC_IDENTITY_ID,
        "created": VOCABULARY_TIMESTAMP,
        "modified": VOCABULARY_TIMESTAMP,
        "name": name,
        "description": description,
        "schema": json.dumps(schema, sort_keys=True, ensure_ascii=False),
        "version": "1.0",
        "extension_types": [kind],
        "object_marking_refs": [_TLP_CLEAR_ID],
    }


def extension_definition(stix_type: str) -> dict[str, Any]:
    """The extension-definition of telecom SCO type ``stix_type``."""
    name, description, schema = _DEFINITIONS[stix_type]
    return _definition(EXTENSION_IDS[stix_type], name, description, schema(), "new-sco")


def red_recipients_extension_definition() -> dict[str, Any]:
    """The extension-definition of the TLP:RED recipients property-extension."""
    return _definition(
        RED_RECIPIENTS_EXTENSION_ID,
        "telsec red-recipients",
        "Names, in 'recipients', the identities of the organisations entitled to read a "
        "TLP:RED object besides its producer. The exchange serves a TLP:RED object only to "
        "its producer and these recipients.",
        _red_schema(),
        "property-extension",
    )


def extension_definitions() -> list[dict[str, Any]]:
    """The four extension-definitions: global-title, cell-identity, sms-sender, red-recipients."""
    return [
        extension_definition(GLOBAL_TITLE),
        extension_definition(CELL_IDENTITY),
        extension_definition(SMS_SENDER),
        red_recipients_extension_definition(),
    ]
