"""Telecom SCO types: builders, deterministic ids (cross-checked with stix2), check()."""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

import phonenumbers
import pytest
import stix2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2 import v21
from stix2.properties import EnumProperty, IntegerProperty, StringProperty
from stix2.registry import class_for_type

from telsec.stix import telecom
from telsec.stix.ids import (
    RED_RECIPIENTS_EXTENSION_ID,
    STIX_SCO_NAMESPACE,
    TELSEC_IDENTITY_ID,
    organisation_identity_id,
    telsec_id,
)
from telsec.stix.telecom import (
    CELL_IDENTITY_EXTENSION_ID,
    EXTENSION_IDS,
    GLOBAL_TITLE_EXTENSION_ID,
    ID_CONTRIBUTING_PROPERTIES,
    NATURES_OF_ADDRESS,
    NUMBERING_PLANS,
    SMS_SENDER_EXTENSION_ID,
    TELECOM_TYPES,
    cell_identity,
    check,
    check_red_recipients,
    deterministic_id,
    extension_definitions,
    global_title,
    red_recipients,
    sms_sender,
    with_red_recipients,
)

# ---------------------------------------------------------------------------
# The three types registered with stix2 itself, as an independent reference for
# the deterministic ids (stix2 computes them in _Observable._generate_id).
# ---------------------------------------------------------------------------

_CELL_INTS = (
    "lac",
    "tac",
    "cid",
    "eci",
    "nci",
    "arfcn",
    "uarfcn",
    "earfcn",
    "nrarfcn",
    "pci",
    "psc",
    "bsic",
)


def _register_with_stix2() -> dict[str, type]:
    classes: dict[str, type] = {}
    specs: dict[str, tuple[list[tuple[str, Any]], str]] = {
        "global-title": (
            [
                ("digits", StringProperty(required=True)),
                ("numbering_plan", EnumProperty(list(NUMBERING_PLANS), required=True)),
                ("nature_of_address", EnumProperty(list(NATURES_OF_ADDRESS))),
                ("translation_type", IntegerProperty(min=0, max=255)),
                ("country", StringProperty()),
                ("operator", StringProperty()),
            ],
            GLOBAL_TITLE_EXTENSION_ID,
        ),
        "cell-identity": (
            [
                ("rat", EnumProperty(["gsm", "umts", "lte", "nr"], required=True)),
                ("mcc", StringProperty(required=True)),
                ("mnc", StringProperty(required=True)),
                *[(name, IntegerProperty(min=0)) for name in _CELL_INTS],
            ],
            CELL_IDENTITY_EXTENSION_ID,
        ),
        "sms-sender": (
            [
                ("value", StringProperty(required=True)),
                ("kind", EnumProperty(["alphanumeric", "short-code", "e164"], required=True)),
                ("country", StringProperty()),
            ],
            SMS_SENDER_EXTENSION_ID,
        ),
    }
    for stix_type, (properties, ext_id) in specs.items():
        existing = class_for_type(stix_type, "2.1", "observables")
        if existing is not None:  # registered by another test module already
            classes[stix_type] = existing
            continue

        class _Cls:
            pass

        _Cls.__name__ = "Telsec" + stix_type.title().replace("-", "")
        classes[stix_type] = v21.CustomObservable(
            stix_type,
            properties,
            id_contrib_props=list(ID_CONTRIBUTING_PROPERTIES[stix_type]),
            extension_name=ext_id,
        )(_Cls)
    return classes


STIX2_CLASSES = _register_with_stix2()

_SCO_BOOKKEEPING = {"type", "spec_version", "id", "extensions"}


def stix2_id(obj: dict[str, Any]) -> str:
    """The id stix2 generates for ``obj``'s properties."""
    cls = STIX2_CLASSES[obj["type"]]
    kwargs = {k: v for k, v in obj.items() if k not in _SCO_BOOKKEEPING}
    instance = cls(**kwargs)
    assert dict(instance["extensions"][EXTENSION_IDS[obj["type"]]]) == {"extension_type": "new-sco"}
    return str(instance["id"])


def assert_valid(obj: dict[str, Any]) -> None:
    """``obj`` passes check() and stix2 (strictly, as a registered type), ids agree."""
    check(obj)
    assert obj["id"] == deterministic_id(obj) == stix2_id(obj)
    parsed = stix2.parse(copy.deepcopy(obj), allow_custom=False)
    assert parsed["id"] == obj["id"]
    assert json.loads(parsed.serialize()) == obj


# ---------------------------------------------------------------------------
# Builders, fixed examples
# ---------------------------------------------------------------------------


def test_global_title_example() -> None:
    gt = global_title("+44 7700 900123", operator="Example Mobile")
    assert gt["digits"] == "447700900123"
    assert gt["numbering_plan"] == "isdn-telephony"
    assert gt["nature_of_address"] == "international"
    assert gt["translation_type"] == 0
    assert gt["country"] == "GB"
    assert gt["extensions"] == {GLOBAL_TITLE_EXTENSION_ID: {"extension_type": "new-sco"}}
    assert_valid(gt)
    # The id is UUIDv5 over the JCS of the id-contributing properties.
    jcs = '{"digits":"447700900123","numbering_plan":"isdn-telephony"}'
    assert gt["id"] == f"global-title--{uuid.uuid5(STIX_SCO_NAMESPACE, jcs)}"


def test_global_title_codes_and_country_derivation() -> None:
    by_code = global_title("14165550123", numbering_plan=1, nature_of_address=4)
    assert by_code["numbering_plan"] == "isdn-telephony"
    assert by_code["country"] == "CA"  # full NANP number resolves to its region
    assert global_title("1")["country"] == "US"  # bare country code: main region
    assert global_title("79161234567")["country"] == "RU"
    assert "country" not in global_title("882341234")  # non-geographic
    assert "country" not in global_title("4477", nature_of_address="national-significant")
    assert "country" not in global_title("23415", numbering_plan="land-mobile-e212")
    assert global_title("33612345678", numbering_plan="isdn-mobile-e214")["country"] == "FR"
    assert global_title("4477", country="gg")["country"] == "GG"
    assert global_title("447700900123", numbering_plan=7)["numbering_plan"] == "isdn-mobile-e214"
    with pytest.raises(ValueError, match="numbering_plan must be one of"):
        global_title("4477", numbering_plan=9)
    with pytest.raises(ValueError, match="nature_of_address must be one of"):
        global_title("4477", nature_of_address="foreign")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rat": "gsm", "mcc": "262", "mnc": "01", "lac": 1, "cid": 65535, "arfcn": 1023},
        {"rat": "gsm", "mcc": "001", "mnc": "001", "lac": 65535, "cid": 0, "bsic": 63},
        {"rat": "umts", "mcc": "310", "mnc": "410", "lac": 7, "cid": (1 << 28) - 1, "psc": 511},
        {"rat": "umts", "mcc": "234", "mnc": "15", "lac": 7, "cid": 12, "uarfcn": 10713},
        {"rat": "lte", "mcc": "208", "mnc": "01", "tac": 65535, "eci": (1 << 28) - 1, "pci": 503},
        {"rat": "lte", "mcc": "208", "mnc": "01", "tac": 0, "eci": 0, "earfcn": 262143},
        {"rat": "nr", "mcc": "440", "mnc": "10", "tac": (1 << 24) - 1, "nci": (1 << 36) - 1},
        {
            "rat": "nr",
            "mcc": "440",
            "mnc": "10",
            "tac": 1,
            "nci": 1,
            "pci": 1007,
            "nrarfcn": 3279165,
        },
    ],
)
def test_cell_identity_examples(kwargs: dict[str, Any]) -> None:
    cell = cell_identity(**kwargs)
    assert {k: cell[k] for k in kwargs} == kwargs
    assert cell["extensions"] == {CELL_IDENTITY_EXTENSION_ID: {"extension_type": "new-sco"}}
    assert_valid(cell)


def test_cell_identity_keeps_mnc_leading_zeros_and_formats_int_mcc() -> None:
    a = cell_identity("lte", 1, "01", tac=1, eci=1)
    b = cell_identity("lte", "001", "001", tac=1, eci=1)
    assert a["mcc"] == "001"
    assert (a["mnc"], b["mnc"]) == ("01", "001")
    assert a["id"] != b["id"]
    assert cell_identity("LTE", "001", "01", tac=1, eci=1)["id"] == a["id"]
    with pytest.raises(ValueError, match="mnc must be a string"):
        cell_identity("lte", "001", 1, tac=1, eci=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "kind", "country", "expected_value", "expected_kind", "expected_country"),
    [
        ("HSBC", None, None, "HSBC", "alphanumeric", None),
        ("Bank-Info", None, "gb", "Bank-Info", "alphanumeric", "GB"),
        ("€uro[1]", None, None, "€uro[1]", "alphanumeric", None),  # 9 septets
        ("ÄÖÜäöüß@£$¥", None, None, "ÄÖÜäöüß@£$¥", "alphanumeric", None),  # 11 septets
        ("12345678", "alphanumeric", None, "12345678", "alphanumeric", None),
        ("84433", None, "FR", "84433", "short-code", "FR"),
        ("123", None, None, "123", "short-code", None),
        ("+44 7700 900123", None, None, "+447700900123", "e164", "GB"),
        ("14165550123", None, None, "+14165550123", "e164", "CA"),
        ("+33612345678", "e164", "MQ", "+33612345678", "e164", "MQ"),
    ],
)
def test_sms_sender_examples(
    value: str,
    kind: str | None,
    country: str | None,
    expected_value: str,
    expected_kind: str,
    expected_country: str | None,
) -> None:
    sender = sms_sender(value, kind=kind, country=country)
    assert sender["value"] == expected_value
    assert sender["kind"] == expected_kind
    assert sender.get("country") == expected_country
    assert sender["extensions"] == {SMS_SENDER_EXTENSION_ID: {"extension_type": "new-sco"}}
    assert_valid(sender)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: global_title("12a4"), "global-title: digits must be 1 to 15 decimal digits"),
        (lambda: global_title(""), "global-title: digits must be 1 to 15"),
        (lambda: global_title("1234567890123456"), "global-title: digits must be 1 to 15"),
        (lambda: global_title("12*4"), "global-title: digits must be"),
        (lambda: global_title("1234", translation_type=256), "translation_type must be in 0..255"),
        (lambda: global_title("1234", country="XX"), "country must be an ISO 3166-1 alpha-2"),
        (lambda: global_title("1234", operator=" "), "operator must be a non-empty string"),
        (lambda: cell_identity("wimax", "001", "01"), "rat must be one of gsm, umts, lte, nr"),
        (lambda: cell_identity("gsm", "01", "01", lac=1, cid=1), "mcc must be 3 decimal digits"),
        (lambda: cell_identity("gsm", "001", "1", lac=1, cid=1), "mnc must be 2 or 3"),
        (lambda: cell_identity("gsm", "001", "01", lac=1), "missing required properties cid"),
        (lambda: cell_identity("gsm", "001", "01", lac=1, cid=65536), "cid must be in 0..65535"),
        (lambda: cell_identity("gsm", "001", "01", lac=1, cid=1, bsic=64), "bsic must be in 0..63"),
        (lambda: cell_identity("gsm", "001", "01", lac=1, cid=1, arfcn=1024), "arfcn must be in"),
        (
            lambda: cell_identity("gsm", "001", "01", lac=1, cid=1, pci=1),
            "pci not used with rat gsm",
        ),
        (lambda: cell_identity("umts", "001", "01", lac=1, cid=1 << 28), "cid must be in"),
        (
            lambda: cell_identity("lte", "001", "01", lac=1, eci=1),
            "missing required properties tac",
        ),
        (lambda: cell_identity("lte", "001", "01", tac=1, eci=1 << 28), "eci must be in"),
        (lambda: cell_identity("lte", "001", "01", tac=1, eci=1, pci=504), "pci must be in 0..503"),
        (lambda: cell_identity("lte", "001", "01", tac=1 << 16, eci=1), "tac must be in 0..65535"),
        (lambda: cell_identity("nr", "001", "01", tac=1 << 24, nci=1), "tac must be in 0..1677"),
        (lambda: cell_identity("nr", "001", "01", tac=1, nci=1 << 36), "nci must be in"),
        (
            lambda: cell_identity("nr", "001", "01", tac=1, nci=1, pci=1008),
            "pci must be in 0..1007",
        ),
        (lambda: cell_identity("nr", "001", "01", tac=1, nci=1, cid=1), "cid not used with rat nr"),
        (lambda: sms_sender("ABCDEFGHIJKL"), "1 to 11 GSM 7-bit septets"),
        (lambda: sms_sender("€€€€€€"), "1 to 11 GSM 7-bit septets"),
        (lambda: sms_sender("Bänk™"), "GSM 7-bit alphabet only"),
        (lambda: sms_sender("  "), "1 to 11 GSM 7-bit septets"),
        (lambda: sms_sender("12"), "cannot tell the kind of '12'"),
        (lambda: sms_sender("123456789", kind="short-code"), "short-code value must be 3 to 8"),
        (lambda: sms_sender("+4", kind="e164"), "not an E.164 number"),
        (lambda: sms_sender("+4412", kind="e164"), "not a possible phone number"),
        (lambda: sms_sender("+4477009", kind="e164"), "not a possible phone number"),
        (lambda: sms_sender("HSBC", kind="sender-id"), "kind must be one of"),
        (lambda: sms_sender("HSBC", country="UK"), "country must be an ISO 3166-1 alpha-2"),
    ],
)
def test_builders_reject_bad_input(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


# ---------------------------------------------------------------------------
# check() on tampered objects
# ---------------------------------------------------------------------------

_GT = global_title("447700900123", operator="Example Mobile")
_CELL = cell_identity("lte", "208", "01", tac=1234, eci=98765, pci=10)
_SMS = sms_sender("HSBC", country="GB")


def _with(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(obj)
    for key, value in changes.items():
        if value is _DELETE:
            del result[key]
        else:
            result[key] = value
    return result


_DELETE = object()


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (_with(_GT, digits="44770090012x"), "global-title: digits must be 1 to 15 decimal"),
        (_with(_GT, digits=447700900123), "global-title: digits must be a string"),
        (_with(_GT, digits=_DELETE), "global-title: missing required properties digits"),
        (_with(_GT, numbering_plan=1), "global-title: numbering_plan must be one of"),
        (_with(_GT, numbering_plan=_DELETE), "missing required properties numbering_plan"),
        (_with(_GT, translation_type=-1), "global-title: translation_type must be in 0..255"),
        (_with(_GT, translation_type=True), "translation_type must be an integer"),
        (_with(_GT, country="gb"), "global-title: country must be an ISO 3166-1"),
        (_with(_GT, spec_version="2.0"), "global-title: spec_version must be '2.1'"),
        (_with(_GT, id="global-title--1"), "global-title: id must be 'global-title--<"),
        (_with(_GT, extensions={}), "global-title: extensions must contain"),
        (
            _with(_GT, extensions={GLOBAL_TITLE_EXTENSION_ID: {"extension_type": "new-sdo"}}),
            'must be {"extension_type": "new-sco"}',
        ),
        (_with(_GT, numberingplan="generic"), "global-title: unknown properties numberingplan"),
        (_with(_GT, defanged="no"), "global-title: defanged must be a boolean"),
        (
            _with(_GT, id=global_title("447700900124")["id"]),
            "global-title: id global-title--.* is not the deterministic id",
        ),
        (_with(_GT, digits="447700900124"), "is not the deterministic id"),
        (_with(_CELL, rat="5g"), "cell-identity: rat must be one of"),
        (_with(_CELL, mnc=1), "cell-identity: mnc must be a string"),
        (_with(_CELL, mcc="20"), "cell-identity: mcc must be 3 decimal digits"),
        (_with(_CELL, eci=_DELETE), "cell-identity: missing required properties eci"),
        (_with(_CELL, eci=2**28), "cell-identity: eci must be in 0..268435455"),
        (_with(_CELL, pci=504), "cell-identity: pci must be in 0..503"),
        (_with(_CELL, pci="10"), "cell-identity: pci must be an integer"),
        (_with(_CELL, lac=1), "cell-identity: lac not used with rat lte"),
        (_with(_CELL, rat="nr"), "cell-identity: missing required properties nci"),
        (_with(_CELL, tac=4321), "cell-identity: id .* is not the deterministic id"),
        (_with(_SMS, kind="short-code"), "sms-sender: short-code value must be 3 to 8"),
        (_with(_SMS, kind=_DELETE), "sms-sender: missing required properties kind"),
        (_with(_SMS, value="HSBC\n"), "sms-sender: alphanumeric value must use the GSM 7-bit"),
        (_with(_SMS, value="HSBC", kind="e164"), "sms-sender: e164 value must be"),
        (_with(_SMS, value="+447700 900123", kind="e164"), "sms-sender: e164 value must be"),
        (_with(_SMS, value="HSBC UK"), "sms-sender: id .* is not the deterministic id"),
        (_with(_SMS, type="sms-senders"), "sms-senders: not a telsec telecom type"),
    ],
)
def test_check_rejects(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        check(obj)


def test_check_accepts_common_and_x_properties() -> None:
    gt = _with(
        _GT,
        defanged=False,
        x_source="probe-7",
        object_marking_refs=["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    )
    gt["extensions"] = {**gt["extensions"], "extension-definition--" + str(uuid.uuid4()): {}}
    check(gt)
    # Descriptive properties do not enter the id.
    check(_with(_GT, operator="Other", country="JE", nature_of_address="unknown"))
    check(_with(_SMS, country=_DELETE))
    check(_with(_CELL, pci=_DELETE, earfcn=6300))


def test_check_error_messages_name_the_type() -> None:
    for obj in (_GT, _CELL, _SMS):
        broken = _with(obj, spec_version="2.0")
        with pytest.raises(ValueError) as info:
            check(broken)
        assert str(info.value).startswith(obj["type"] + ": ")


# ---------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------

_GSM7_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.&@!?äöüÄÖÜ£$¥"
_E164_EXAMPLES = sorted(
    {
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        if (
            number := phonenumbers.example_number_for_type(
                region, phonenumbers.PhoneNumberType.MOBILE
            )
        )
        is not None
    }
)

digits_st = st.text(alphabet="0123456789", min_size=1, max_size=15)
gt_kwargs_st = st.fixed_dictionaries(
    {
        "numbering_plan": st.sampled_from([*NUMBERING_PLANS, *NUMBERING_PLANS.values()]),
        "nature_of_address": st.sampled_from([*NATURES_OF_ADDRESS, *NATURES_OF_ADDRESS.values()]),
        "translation_type": st.integers(0, 255),
        "operator": st.none() | st.text(min_size=1, max_size=20).filter(str.strip),
    }
)


@st.composite
def cell_kwargs_st(draw: st.DrawFn) -> dict[str, Any]:
    rat = draw(st.sampled_from(["gsm", "umts", "lte", "nr"]))
    kwargs: dict[str, Any] = {
        "rat": rat,
        "mcc": draw(st.from_regex(r"\A[0-9]{3}\Z")),
        "mnc": draw(st.from_regex(r"\A[0-9]{2,3}\Z")),
    }
    required, optional = {
        "gsm": ({"lac": 0xFFFF, "cid": 0xFFFF}, {"arfcn": 1023, "bsic": 63}),
        "umts": ({"lac": 0xFFFF, "cid": 2**28 - 1}, {"uarfcn": 16383, "psc": 511}),
        "lte": ({"tac": 0xFFFF, "eci": 2**28 - 1}, {"earfcn": 262143, "pci": 503}),
        "nr": ({"tac": 2**24 - 1, "nci": 2**36 - 1}, {"nrarfcn": 3279165, "pci": 1007}),
    }[rat]
    for name, high in required.items():
        kwargs[name] = draw(st.integers(0, high))
    for name, high in optional.items():
        if draw(st.booleans()):
            kwargs[name] = draw(st.integers(0, high))
    return kwargs


sms_st = st.one_of(
    st.tuples(
        st.text(alphabet=_GSM7_SAFE, min_size=1, max_size=11).filter(str.strip),
        st.just("alphanumeric"),
    ),
    st.tuples(st.from_regex(r"\A[0-9]{3,8}\Z"), st.just("short-code")),
    st.tuples(st.sampled_from(_E164_EXAMPLES), st.just("e164")),
)

_FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(digits_st, gt_kwargs_st)
def test_global_title_property(digits: str, kwargs: dict[str, Any]) -> None:
    gt = global_title(digits, **kwargs)
    assert_valid(gt)
    assert global_title(digits, **kwargs) == gt  # stable
    # Descriptive properties do not change the id ...
    same = global_title(
        digits,
        numbering_plan=kwargs["numbering_plan"],
        nature_of_address="unknown",
        translation_type=(kwargs["translation_type"] + 1) % 256,
        country="AQ",
        operator="someone else",
    )
    assert same["id"] == gt["id"]
    # ... id-contributing ones do.
    other_digits = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    assert global_title(other_digits, **kwargs)["id"] != gt["id"]
    other_plan = "private" if gt["numbering_plan"] != "private" else "generic"
    assert global_title(digits, **{**kwargs, "numbering_plan": other_plan})["id"] != gt["id"]


@_FAST
@given(cell_kwargs_st())
def test_cell_identity_property(kwargs: dict[str, Any]) -> None:
    cell = cell_identity(**kwargs)
    assert_valid(cell)
    assert cell_identity(**kwargs) == cell
    radio = {"arfcn", "uarfcn", "earfcn", "nrarfcn", "pci", "psc", "bsic"}
    bare = {k: v for k, v in kwargs.items() if k not in radio}
    assert cell_identity(**bare)["id"] == cell["id"]
    for name in ("lac", "tac", "cid", "eci", "nci"):
        if name in kwargs:
            changed = {**kwargs, name: kwargs[name] ^ 1}
            assert cell_identity(**changed)["id"] != cell["id"], name
    other_mnc = kwargs["mnc"] + "0" if len(kwargs["mnc"]) == 2 else kwargs["mnc"][:2]
    assert cell_identity(**{**kwargs, "mnc": other_mnc})["id"] != cell["id"]


@_FAST
@given(sms_st, st.sampled_from([None, "GB", "FR", "US"]))
def test_sms_sender_property(value_kind: tuple[str, str], country: str | None) -> None:
    value, kind = value_kind
    sender = sms_sender(value, kind=kind, country=country)
    assert_valid(sender)
    assert sms_sender(value, kind=kind, country=country) == sender
    # Auto-detection agrees with the kind, except for all-digit alphanumerics.
    if not (kind == "alphanumeric" and value.strip().isdigit()):
        assert sms_sender(value, country=country)["id"] == sender["id"]
    # country is descriptive
    assert sms_sender(value, kind=kind, country="DE")["id"] == sender["id"]
    if kind == "short-code":
        assert sms_sender(value, kind="alphanumeric")["id"] != sender["id"]


# ---------------------------------------------------------------------------
# Extension-definitions and the RED recipients extension
# ---------------------------------------------------------------------------


def test_extension_definitions() -> None:
    definitions = extension_definitions()
    assert [d["id"] for d in definitions] == [
        GLOBAL_TITLE_EXTENSION_ID,
        CELL_IDENTITY_EXTENSION_ID,
        SMS_SENDER_EXTENSION_ID,
        RED_RECIPIENTS_EXTENSION_ID,
    ]
    assert GLOBAL_TITLE_EXTENSION_ID == telsec_id("extension-definition", "telsec/global-title")
    assert set(EXTENSION_IDS) == TELECOM_TYPES == {"global-title", "cell-identity", "sms-sender"}
    assert extension_definitions() == definitions  # same object every time, on every node
    for definition in definitions:
        parsed = stix2.parse(definition, allow_custom=False)
        assert isinstance(parsed, v21.ExtensionDefinition)
        assert definition["created_by_ref"] == TELSEC_IDENTITY_ID
        assert definition["version"] == "1.0"
        assert definition["created"] == definition["modified"] == telecom.VOCABULARY_TIMESTAMP
        schema = json.loads(definition["schema"])
        assert schema["type"] == "object"
    kinds = [d["extension_types"] for d in definitions]
    assert kinds == [["new-sco"]] * 3 + [["property-extension"]]


@pytest.mark.parametrize(
    ("index", "builder_output", "properties"),
    [
        (0, _GT, telecom._GT_PROPERTIES),
        (1, _CELL, telecom._CELL_PROPERTIES),
        (2, _SMS, telecom._SMS_PROPERTIES),
    ],
)
def test_schema_lists_exactly_the_properties_check_accepts(
    index: int, builder_output: dict[str, Any], properties: frozenset[str]
) -> None:
    schema = json.loads(extension_definitions()[index]["schema"])
    assert schema["title"] == builder_output["type"]
    assert set(schema["required"]) <= set(builder_output)
    assert set(schema["properties"]) == {"type", "spec_version", "id", "extensions", *properties}
    with pytest.raises(ValueError, match="unknown properties not_in_schema"):
        check(_with(builder_output, not_in_schema=1))


def test_red_recipients_roundtrip() -> None:
    org_a = organisation_identity_id("Ofcom")
    org_b = organisation_identity_id("Example Mobile")
    indicator: dict[str, Any] = {
        "type": "indicator",
        "id": "indicator--" + str(uuid.uuid4()),
        "extensions": {"extension-definition--" + str(uuid.uuid4()): {"x": 1}},
    }
    marked = with_red_recipients(indicator, [org_b, org_a, org_b])
    assert indicator.get("extensions", {}).get(RED_RECIPIENTS_EXTENSION_ID) is None  # unchanged
    assert red_recipients(marked) == sorted([org_a, org_b])
    assert marked["extensions"][RED_RECIPIENTS_EXTENSION_ID]["extension_type"] == (
        "property-extension"
    )
    check_red_recipients(marked)
    assert len(marked["extensions"]) == 2
    cleared = with_red_recipients(marked, [])
    assert red_recipients(cleared) == []
    assert RED_RECIPIENTS_EXTENSION_ID not in cleared["extensions"]
    assert "extensions" not in with_red_recipients({"type": "note"}, [])
    with pytest.raises(ValueError, match="not identity ids"):
        with_red_recipients(indicator, ["organisation--x"])
    with pytest.raises(ValueError, match="not a string"):
        with_red_recipients(indicator, org_a)


@pytest.mark.parametrize(
    "ext",
    [
        None,
        "recipients",
        {"extension_type": "property-extension"},
        {"extension_type": "property-extension", "recipients": "identity--x"},
        {"extension_type": "new-sdo", "recipients": [TELSEC_IDENTITY_ID]},
        {"extension_type": "property-extension", "recipients": [TELSEC_IDENTITY_ID, 3]},
        {"extension_type": "property-extension", "recipients": ["indicator--" + str(uuid.uuid4())]},
    ],
)
def test_red_recipients_fail_closed(ext: Any) -> None:
    obj: dict[str, Any] = {"type": "indicator"}
    if ext is not None:
        obj["extensions"] = {RED_RECIPIENTS_EXTENSION_ID: ext}
    assert red_recipients(obj) == []
    assert red_recipients({"extensions": "bad"}) == []
    if ext is not None:
        with pytest.raises(ValueError, match="red-recipients: "):
            check_red_recipients(obj)
