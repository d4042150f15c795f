"""Fast STIX 2.1 object validation for the ingest hot path.

This module owns one question: *is this decoded JSON value a valid STIX 2.1
object?*  :func:`validate` answers it by raising :class:`StixValidationError`
with a human-readable reason, or returning ``None``.

The reference is the ``stix2`` library (``stix2.parse(obj, allow_custom=True)``);
this validator accepts and rejects the same objects, but is table driven and
runs an order of magnitude faster.  The differential tests in
``tests/stix/test_validate.py`` hold the two together.  Where ``stix2`` is laxer
than the STIX 2.1 specification this module follows the specification; each
such case is listed (with its section) in ``DEVIATIONS`` in that test module.
In short, unlike ``stix2`` this validator:

* requires every value to have its declared JSON type (no ``"5"`` for an
  integer, no bare string for a list, no ``null``, no empty lists or
  dictionaries), and integers to fit in 54 bits (sections 2.2-2.16);
* requires ``spec_version`` ``"2.1"``, ``id``, ``created`` and ``modified``
  where section 3.2 requires them, and ``valid_from`` on indicators, instead of
  filling in defaults or falling back to STIX 2.0 rules;
* requires ``modified >= created`` and ``confidence`` in 0..100 (section 3.2);
* parses timestamps exactly as section 2.16 writes them, with any number of
  fraction digits;
* requires canonical ``8-4-4-4-12`` UUIDs and valid type names in identifiers
  (section 2.9);
* applies the common-property checks to custom object types, which ``stix2``
  passes through unchecked, and rejects ``bundle`` (section 8: a bundle is not
  a STIX object);
* only accepts extension keys that are extension-definition ids or end in
  ``-ext`` (sections 7.3 and 11.3).

Indicator patterns (``pattern_type`` ``"stix"``) are checked by
``stix2patterns`` exactly as ``stix2`` does, behind a compiled regular
expression that accepts the common simple patterns without running the ANTLR
parser, and an LRU cache for the rest.

Object types in ``telsec.stix.telecom.TELECOM_TYPES`` are further checked by
``telsec.stix.telecom.check`` when that module is importable.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["StixValidationError", "validate"]


class StixValidationError(ValueError):
    """Human-readable reason an object is not valid STIX 2.1.

    For example ``indicator: 'pattern' is required``.
    """


class _Invalid(Exception):
    """Internal: a value is invalid; ``args[0]`` is the reason relative to it."""


Check = Callable[[Any], None]
Constraint = Callable[[dict[str, Any]], None]

# --------------------------------------------------------------------------
# Primitive syntax
# --------------------------------------------------------------------------

_TYPE_RE: Final = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
_UUID_RE: Final = re.compile(_UUID)
_REF_RE: Final = re.compile(r"([a-z][a-z0-9]*(?:-[a-z0-9]+)*)--" + _UUID)
_TIMESTAMP_RE: Final = re.compile(
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?Z"
)
_DICT_KEY_RE: Final = re.compile(r"[a-zA-Z0-9_-]+")
_HEX_RE: Final = re.compile(r"(?:[a-fA-F0-9]{2})+")
_SELECTOR_RE: Final = re.compile(r"[a-z0-9_-]{3,250}(?:\.(?:\[[0-9]+\]|[a-z0-9_-]{1,250}))*|id")
_MAX_INT: Final = 2**53 - 1
_DAYS_IN_MONTH: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# Bounded caches of strings already known to be valid: timestamps and
# references repeat a lot across objects (created == modified, created_by_ref,
# object_marking_refs).
_CACHE_LIMIT: Final = 1 << 16
_valid_timestamps: dict[str, None] = {}
_ref_types: dict[str, str] = {}


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a JSON object"
    return type(value).__name__


def _show(value: object) -> str:
    """A short, always-safe rendering of an arbitrary value for messages."""
    if isinstance(value, str):
        return repr(value[:80]) + ("..." if len(value) > 80 else "")
    if value is None or isinstance(value, (bool, float)):
        return repr(value)
    if isinstance(value, int):
        return str(value) if -(10**30) < value < 10**30 else "a very large integer"
    return _describe(value)


def _is_type_name(text: str) -> bool:
    return 3 <= len(text) <= 250 and _TYPE_RE.fullmatch(text) is not None


def _timestamp_ok(text: str) -> bool:
    m = _TIMESTAMP_RE.fullmatch(text)
    if m is None:
        return False
    year = int(m.group(1))
    if year == 0:
        return False
    day = int(m.group(3))
    if day > 28:
        month = int(m.group(2))
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        limit = 28 if month == 2 and not leap else _DAYS_IN_MONTH[month]
        if day > limit:
            return False
    return True


def _ts_key(text: str) -> tuple[str, str]:
    """Sort key of a valid timestamp: whole seconds, then fraction digits."""
    if len(text) == 20:
        return (text[:19], "")
    return (text[:19], text[20:-1].rstrip("0"))


# --------------------------------------------------------------------------
# Property checks
# --------------------------------------------------------------------------


def _skip(value: object) -> None:
    """Properties checked by the driver itself (type, id, spec_version)."""


def _string(value: object) -> None:
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, not {_describe(value)}")


def _boolean(value: object) -> None:
    if value is not True and value is not False:
        raise _Invalid(f"must be true or false, not {_describe(value)}")


def _integer(lo: int | None = None, hi: int | None = None) -> Check:
    low = -_MAX_INT if lo is None else lo
    high = _MAX_INT if hi is None else hi

    def check(value: object) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Invalid(f"must be an integer, not {_describe(value)}")
        if not low <= value <= high:
            raise _Invalid(f"must be an integer in {low}..{high}, not {_show(value)}")

    return check


def _number(lo: float | None = None, hi: float | None = None) -> Check:
    def check(value: object) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _Invalid(f"must be a number, not {_describe(value)}")
        try:
            finite = math.isfinite(value)
        except OverflowError:
            finite = False
        if not finite:
            raise _Invalid("must be a finite number")
        if lo is not None and value < lo:
            raise _Invalid(f"must be at least {lo}, not {_show(value)}")
        if hi is not None and value > hi:
            raise _Invalid(f"must be at most {hi}, not {_show(value)}")

    return check


def _timestamp(value: object) -> None:
    if not isinstance(value, str):
        raise _Invalid(f"must be a timestamp string, not {_describe(value)}")
    if value in _valid_timestamps:
        return
    if not _timestamp_ok(value):
        raise _Invalid(f"must be a UTC timestamp YYYY-MM-DDTHH:MM:SS[.s+]Z, not {value[:64]!r}")
    if len(_valid_timestamps) >= _CACHE_LIMIT:
        _valid_timestamps.clear()
    _valid_timestamps[value] = None


def _ref_type(value: object) -> str:
    """The type part of a syntactically valid identifier, else raise."""
    if isinstance(value, str):
        cached = _ref_types.get(value)
        if cached is not None:
            return cached
        m = _REF_RE.fullmatch(value)
        if m is not None and len(t := m.group(1)) <= 250 and len(t) >= 3:
            if len(_ref_types) >= _CACHE_LIMIT:
                _ref_types.clear()
            _ref_types[value] = t
            return t
        raise _Invalid(f"must be an identifier <type>--<RFC 4122 UUID>, not {value[:80]!r}")
    raise _Invalid(f"must be an identifier string, not {_describe(value)}")


def _ref(allowed: Callable[[str], bool], what: str) -> Check:
    cache = _ref_types

    def check(value: object) -> None:
        t = cache.get(value) if isinstance(value, str) else None
        if t is None:
            t = _ref_type(value)
        if not allowed(t):
            raise _Invalid(f"must refer to {what}, not {value!r}")

    return check


def _list(item: Check) -> Check:
    def check(value: object) -> None:
        if not isinstance(value, list):
            raise _Invalid(f"must be a list, not {_describe(value)}")
        if not value:
            raise _Invalid("must not be an empty list")
        for i, v in enumerate(value):
            try:
                item(v)
            except _Invalid as exc:
                raise _Invalid(f"item {i} {exc.args[0]}") from None

    return check


def _dictionary(value: object) -> None:
    if not isinstance(value, dict):
        raise _Invalid(f"must be a dictionary, not {_describe(value)}")
    if not value:
        raise _Invalid("must not be an empty dictionary")
    for k in value:
        if not isinstance(k, str) or len(k) > 250 or _DICT_KEY_RE.fullmatch(k) is None:
            raise _Invalid(f"has an invalid dictionary key {_show(k)}")


def _enum(*allowed: str) -> Check:
    values = frozenset(allowed)

    def check(value: object) -> None:
        if not isinstance(value, str) or value not in values:
            raise _Invalid(f"must be one of {', '.join(sorted(values))}, not {_show(value)}")

    return check


def _hex(value: object) -> None:
    if not isinstance(value, str) or _HEX_RE.fullmatch(value) is None:
        raise _Invalid("must be an even number of hexadecimal characters")


def _binary(value: object) -> None:
    if not isinstance(value, str):
        raise _Invalid(f"must be a base64 string, not {_describe(value)}")
    try:
        base64.b64decode(value)
    except (binascii.Error, ValueError):
        raise _Invalid("must be base64") from None


# Hash algorithms stix2 recognises (by upper-cased, hyphen-less name), their
# value syntax, and the names STIX 2.1's hash-algorithm-ov gives them.
_HASH_SYNTAX: Final[dict[str, re.Pattern[str]]] = {
    name: re.compile(rx, re.IGNORECASE)
    for name, rx in {
        "MD5": r"[a-f0-9]{32}",
        "MD6": r"[a-f0-9]{32}[\s\S]*",
        "RIPEMD160": r"[a-f0-9]{40}",
        "SHA1": r"[a-f0-9]{40}",
        "SHA224": r"[a-f0-9]{56}",
        "SHA256": r"[a-f0-9]{64}",
        "SHA384": r"[a-f0-9]{96}",
        "SHA512": r"[a-f0-9]{128}",
        "SHA3224": r"[a-f0-9]{56}",
        "SHA3256": r"[a-f0-9]{64}",
        "SHA3384": r"[a-f0-9]{96}",
        "SHA3512": r"[a-f0-9]{128}",
        "SSDEEP": r"[a-z0-9/+:.]{1,128}",
        "WHIRLPOOL": r"[a-f0-9]{128}",
        "TLSH": r"[a-f0-9]{70}",
    }.items()
}
_HASH_SPEC_NAMES: Final = {
    "MD5": "MD5",
    "SHA1": "SHA-1",
    "SHA256": "SHA-256",
    "SHA512": "SHA-512",
    "SHA3256": "SHA3-256",
    "SHA3512": "SHA3-512",
    "SSDEEP": "SSDEEP",
    "TLSH": "TLSH",
}


def _hash_algorithm(name: str) -> str | None:
    key = name.replace("-", "").upper()
    return key if key in _HASH_SYNTAX else None


def _hashes(vocabulary_only: bool) -> Check:
    def check(value: object) -> None:
        _dictionary(value)
        assert isinstance(value, dict)
        for k, v in value.items():
            if not isinstance(v, str):
                raise _Invalid(f"value of {k!r} must be a string, not {_describe(v)}")
            alg = _hash_algorithm(k)
            if alg is not None and _HASH_SYNTAX[alg].fullmatch(v) is None:
                raise _Invalid(f"value of {k!r} is not a valid {alg} hash")
            if vocabulary_only and alg not in _HASH_SPEC_NAMES:
                raise _Invalid(f"key {k!r} is not in hash-algorithm-ov")

    return check


# --------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Schema:
    """Properties, required properties and constraints of one object shape."""

    name: str
    kind: str  # sdo, sro, sco, meta, struct
    props: Mapping[str, Check]
    required: frozenset[str]
    constraints: tuple[Constraint, ...] = ()
    # Properties whose values stix2 turns into objects (or lists of objects):
    # granular-marking selectors cannot reach inside them.
    opaque: frozenset[str] = frozenset()
    hashes: frozenset[str] = frozenset()
    at_least_one: frozenset[str] = field(default_factory=frozenset)
    # props without type, id and spec_version, which the driver checks itself
    checks: Mapping[str, Check] = field(init=False)

    def __post_init__(self) -> None:
        checks = {k: c for k, c in self.props.items() if k not in ("type", "id", "spec_version")}
        object.__setattr__(self, "checks", checks)


def _check_struct(schema: _Schema, value: object) -> None:
    """Validate a nested JSON object (external reference, extension, ...)."""
    if not isinstance(value, dict):
        raise _Invalid(f"must be a JSON object, not {_describe(value)}")
    props = schema.props
    for k, v in value.items():
        chk = props.get(k)
        if chk is not None:
            try:
                chk(v)
            except _Invalid as exc:
                raise _Invalid(f"{k!r} {exc.args[0]}") from None
        else:
            _check_custom_property(k, v)
    if not value.keys() >= schema.required:
        missing = sorted(schema.required - value.keys())
        raise _Invalid(f"{missing[0]!r} is required")
    if schema.at_least_one and schema.at_least_one.isdisjoint(value):
        raise _Invalid(f"needs at least one of {', '.join(sorted(schema.at_least_one))}")
    for constraint in schema.constraints:
        constraint(value)


def _struct(schema: _Schema) -> Check:
    def check(value: object) -> None:
        _check_struct(schema, value)

    return check


def _check_custom_property(name: object, value: object) -> None:
    if not isinstance(name, str):
        raise _Invalid(f"property name {_show(name)} must be a string")
    if not name or not ("a" <= name[0] <= "z"):
        raise _Invalid(f"custom property name {_show(name)} must begin with a-z")
    if value is None:
        raise _Invalid(f"{_show(name)} must not be null")
    if isinstance(value, list) and not value:
        raise _Invalid(f"{_show(name)} must not be an empty list")


def _only(*types: str) -> Callable[[str], bool]:
    allowed = frozenset(types)
    return allowed.__contains__


def _not_in(types: Iterable[str]) -> Callable[[str], bool]:
    forbidden = frozenset(types)
    return lambda t: t not in forbidden


def _any_type(t: str) -> bool:
    return True


# The categories stix2 registers (STIXTypeClass); with allow_custom a
# "must be an SDO" reference accepts anything not known to be an SCO or SRO.
_SDO_TYPES: Final = frozenset(
    "attack-pattern campaign course-of-action extension-definition grouping identity incident "
    "indicator infrastructure intrusion-set location malware malware-analysis note observed-data "
    "opinion report threat-actor tool vulnerability".split()
)
_SCO_TYPES: Final = frozenset(
    "artifact autonomous-system directory domain-name email-addr email-message file ipv4-addr "
    "ipv6-addr mac-addr mutex network-traffic process software url user-account "
    "windows-registry-key x509-certificate".split()
)
_SRO_TYPES: Final = frozenset({"relationship", "sighting"})

_IDENTITY_REF = _ref(_only("identity"), "an identity")
_MARKING_REF = _ref(_only("marking-definition"), "a marking-definition")
_ANY_REF = _ref(_any_type, "an object")
_SDO_REF = _ref(_not_in(_SCO_TYPES | _SRO_TYPES), "an SDO")
_SCO_REF = _ref(_not_in(_SDO_TYPES | _SRO_TYPES), "an SCO")
_SCO_SRO_REF = _ref(_not_in(_SDO_TYPES), "an SCO or SRO")
_SOFTWARE_REF = _ref(_only("software"), "a software SCO")
_FILE_REF = _ref(_only("file"), "a file")
_ARTIFACT_REF = _ref(_only("artifact"), "an artifact")
_FILE_DIR_REF = _ref(_only("file", "directory"), "a file or directory")
_ARTIFACT_FILE_REF = _ref(_only("artifact", "file"), "an artifact or file")
_EMAIL_ADDR_REF = _ref(_only("email-addr"), "an email-addr")
_USER_ACCOUNT_REF = _ref(_only("user-account"), "a user-account")
_PROCESS_REF = _ref(_only("process"), "a process")
_TRAFFIC_REF = _ref(_only("network-traffic"), "a network-traffic")
_ADDRESS_REF = _ref(
    _only("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"), "an address or domain-name"
)

_STRINGS = _list(_string)
_INT = _integer()
_UINT = _integer(0)
_HASHES = _hashes(vocabulary_only=False)


def _at_least_one(*names: str) -> Constraint:
    wanted = frozenset(names)

    def check(obj: dict[str, Any]) -> None:
        if wanted.isdisjoint(obj):
            raise _Invalid(f"needs at least one of {', '.join(sorted(wanted))}")

    return check


def _exactly_one(a: str, b: str) -> Constraint:
    def check(obj: dict[str, Any]) -> None:
        if (a in obj) == (b in obj):
            raise _Invalid(f"needs exactly one of {a!r} and {b!r}")

    return check


def _ordered(first: str, last: str, *, strict: bool) -> Constraint:
    relation = "later than" if strict else "later than or equal to"

    def check(obj: dict[str, Any]) -> None:
        a = obj.get(first)
        b = obj.get(last)
        if a is None or b is None or (a == b and not strict):
            return
        ka, kb = _ts_key(a), _ts_key(b)
        if kb < ka or (strict and kb == ka):
            raise _Invalid(f"{last!r} must be {relation} {first!r}")

    return check


_MODIFIED_AFTER_CREATED = _ordered("created", "modified", strict=False)
_SEEN = _ordered("first_seen", "last_seen", strict=False)


# -- shared structures -------------------------------------------------------


def _external_reference_hashes(value: object) -> None:
    _hashes(vocabulary_only=True)(value)


_EXTERNAL_REFERENCE = _Schema(
    "external-reference",
    "struct",
    {
        "source_name": _string,
        "description": _string,
        "url": _string,
        "hashes": _external_reference_hashes,
        "external_id": _string,
    },
    frozenset({"source_name"}),
    constraints=(_at_least_one("description", "external_id", "url"),),
)
_KILL_CHAIN_PHASE = _Schema(
    "kill-chain-phase",
    "struct",
    {"kill_chain_name": _string, "phase_name": _string},
    frozenset({"kill_chain_name", "phase_name"}),
)


def _selectors(value: object) -> None:
    if not isinstance(value, list):
        raise _Invalid(f"must be a list, not {_describe(value)}")
    if not value:
        raise _Invalid("must not be an empty list")
    for i, s in enumerate(value):
        if not isinstance(s, str) or _SELECTOR_RE.fullmatch(s) is None:
            raise _Invalid(f"item {i} is not a valid selector: {_show(s)}")


_GRANULAR_MARKING = _Schema(
    "granular-marking",
    "struct",
    {"lang": _string, "marking_ref": _MARKING_REF, "selectors": _selectors},
    frozenset({"selectors"}),
    constraints=(_exactly_one("lang", "marking_ref"),),
)


# -- extensions --------------------------------------------------------------


def _ext(
    name: str, props: dict[str, Check], required: Iterable[str] = (), *c: Constraint
) -> _Schema:
    return _Schema(
        name,
        "struct",
        props,
        frozenset(required),
        constraints=c,
        at_least_one=frozenset(props),
    )


_ALTERNATE_DATA_STREAM = _Schema(
    "alternate-data-stream",
    "struct",
    {"name": _string, "hashes": _HASHES, "size": _INT},
    frozenset({"name"}),
)
_PE_OPTIONAL_HEADER_PROPS: dict[str, Check] = {
    "magic_hex": _hex,
    "major_linker_version": _INT,
    "minor_linker_version": _INT,
    "size_of_code": _UINT,
    "size_of_initialized_data": _UINT,
    "size_of_uninitialized_data": _UINT,
    "address_of_entry_point": _INT,
    "base_of_code": _INT,
    "base_of_data": _INT,
    "image_base": _INT,
    "section_alignment": _INT,
    "file_alignment": _INT,
    "major_os_version": _INT,
    "minor_os_version": _INT,
    "major_image_version": _INT,
    "minor_image_version": _INT,
    "major_subsystem_version": _INT,
    "minor_subsystem_version": _INT,
    "win32_version_value_hex": _hex,
    "size_of_image": _UINT,
    "size_of_headers": _UINT,
    "checksum_hex": _hex,
    "subsystem_hex": _hex,
    "dll_characteristics_hex": _hex,
    "size_of_stack_reserve": _UINT,
    "size_of_stack_commit": _UINT,
    "size_of_heap_reserve": _UINT,
    "size_of_heap_commit": _UINT,
    "loader_flags_hex": _hex,
    "number_of_rva_and_sizes": _INT,
    "hashes": _HASHES,
}
_PE_OPTIONAL_HEADER = _Schema(
    "windows-pe-optional-header-type",
    "struct",
    _PE_OPTIONAL_HEADER_PROPS,
    frozenset(),
    at_least_one=frozenset(_PE_OPTIONAL_HEADER_PROPS),
)
_PE_SECTION = _Schema(
    "windows-pe-section",
    "struct",
    {"name": _string, "size": _UINT, "entropy": _number(), "hashes": _HASHES},
    frozenset({"name"}),
)

_SOCKET_OPTION_PREFIXES: Final = frozenset(
    {"SO_", "ICMP_", "ICMP6_", "IP_", "IPV6_", "MCAST_", "TCP_", "IRLMP_"}
)


def _socket_options(obj: dict[str, Any]) -> None:
    options = obj.get("options")
    if options is None:
        return
    for key, val in options.items():
        if key[: key.find("_") + 1] not in _SOCKET_OPTION_PREFIXES:
            raise _Invalid(f"socket option {key!r} does not start with a known prefix")
        if not isinstance(val, int) or isinstance(val, bool):
            raise _Invalid(f"socket option {key!r} must be an integer")


_EXTENSIONS: Final[dict[str, _Schema]] = {
    "archive-ext": _ext(
        "archive-ext",
        {"contains_refs": _list(_FILE_DIR_REF), "comment": _string},
        ["contains_refs"],
    ),
    "ntfs-ext": _ext(
        "ntfs-ext",
        {"sid": _string, "alternate_data_streams": _list(_struct(_ALTERNATE_DATA_STREAM))},
    ),
    "pdf-ext": _ext(
        "pdf-ext",
        {
            "version": _string,
            "is_optimized": _boolean,
            "document_info_dict": _dictionary,
            "pdfid0": _string,
            "pdfid1": _string,
        },
    ),
    "raster-image-ext": _ext(
        "raster-image-ext",
        {
            "image_height": _INT,
            "image_width": _INT,
            "bits_per_pixel": _INT,
            "exif_tags": _dictionary,
        },
    ),
    "windows-pebinary-ext": _ext(
        "windows-pebinary-ext",
        {
            "pe_type": _string,
            "imphash": _string,
            "machine_hex": _hex,
            "number_of_sections": _UINT,
            "time_date_stamp": _timestamp,
            "pointer_to_symbol_table_hex": _hex,
            "number_of_symbols": _UINT,
            "size_of_optional_header": _UINT,
            "characteristics_hex": _hex,
            "file_header_hashes": _HASHES,
            "optional_header": _struct(_PE_OPTIONAL_HEADER),
            "sections": _list(_struct(_PE_SECTION)),
        },
        ["pe_type"],
    ),
    "http-request-ext": _ext(
        "http-request-ext",
        {
            "request_method": _string,
            "request_value": _string,
            "request_version": _string,
            "request_header": _dictionary,
            "message_body_length": _INT,
            "message_body_data_ref": _ARTIFACT_REF,
        },
        ["request_method", "request_value"],
    ),
    "icmp-ext": _ext(
        "icmp-ext",
        {"icmp_type_hex": _hex, "icmp_code_hex": _hex},
        ["icmp_type_hex", "icmp_code_hex"],
    ),
    "socket-ext": _ext(
        "socket-ext",
        {
            "address_family": _enum(
                "AF_UNSPEC",
                "AF_INET",
                "AF_IPX",
                "AF_APPLETALK",
                "AF_NETBIOS",
                "AF_INET6",
                "AF_IRDA",
                "AF_BTH",
            ),
            "is_blocking": _boolean,
            "is_listening": _boolean,
            "options": _dictionary,
            "socket_type": _enum(
                "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET"
            ),
            "socket_descriptor": _UINT,
            "socket_handle": _INT,
        },
        ["address_family"],
        _socket_options,
    ),
    "tcp-ext": _ext("tcp-ext", {"src_flags_hex": _hex, "dst_flags_hex": _hex}),
    "windows-process-ext": _ext(
        "windows-process-ext",
        {
            "aslr_enabled": _boolean,
            "dep_enabled": _boolean,
            "priority": _string,
            "owner_sid": _string,
            "window_title": _string,
            "startup_info": _dictionary,
            "integrity_level": _enum("low", "medium", "high", "system"),
        },
    ),
    "windows-service-ext": _ext(
        "windows-service-ext",
        {
            "service_name": _string,
            "descriptions": _STRINGS,
            "display_name": _string,
            "group_name": _string,
            "start_type": _enum(
                "SERVICE_AUTO_START",
                "SERVICE_BOOT_START",
                "SERVICE_DEMAND_START",
                "SERVICE_DISABLED",
                "SERVICE_SYSTEM_ALERT",
            ),
            "service_dll_refs": _list(_FILE_REF),
            "service_type": _enum(
                "SERVICE_KERNEL_DRIVER",
                "SERVICE_FILE_SYSTEM_DRIVER",
                "SERVICE_WIN32_OWN_PROCESS",
                "SERVICE_WIN32_SHARE_PROCESS",
            ),
            "service_status": _enum(
                "SERVICE_CONTINUE_PENDING",
                "SERVICE_PAUSE_PENDING",
                "SERVICE_PAUSED",
                "SERVICE_RUNNING",
                "SERVICE_START_PENDING",
                "SERVICE_STOP_PENDING",
                "SERVICE_STOPPED",
            ),
        },
    ),
    "unix-account-ext": _ext(
        "unix-account-ext",
        {"gid": _INT, "groups": _STRINGS, "home_dir": _string, "shell": _string},
    ),
}

_EXTENSION_DEFINITION_PREFIX: Final = "extension-definition--"
_TOPLEVEL: Final = "toplevel-property-extension"


def _extensions(value: object) -> None:
    if not isinstance(value, dict):
        raise _Invalid(f"must be a dictionary, not {_describe(value)}")
    if not value:
        raise _Invalid("must not be an empty dictionary")
    for k, ext in value.items():
        if not isinstance(k, str):
            raise _Invalid(f"key {_show(k)} must be a string")
        if not isinstance(ext, dict):
            raise _Invalid(f"{_show(k)} must be a JSON object, not {_describe(ext)}")
        schema = _EXTENSIONS.get(k)
        if schema is not None:
            if ext.get("extension_type") == _TOPLEVEL:
                raise _Invalid(f"{_show(k)} is a predefined extension, not a {_TOPLEVEL}")
            try:
                _check_struct(schema, ext)
            except _Invalid as exc:
                raise _Invalid(f"{_show(k)}: {exc.args[0]}") from None
        elif k.startswith(_EXTENSION_DEFINITION_PREFIX):
            if _UUID_RE.fullmatch(k, len(_EXTENSION_DEFINITION_PREFIX)) is None:
                raise _Invalid(f"key {k[:80]!r} is not a valid extension-definition id")
        elif not k.endswith("-ext"):
            raise _Invalid(
                f"key {k[:80]!r} must be an extension-definition id or a name ending in '-ext'"
            )


def _has_toplevel_extension(obj: dict[str, Any]) -> bool:
    exts = obj.get("extensions")
    if not isinstance(exts, dict):
        return False
    return any(
        isinstance(ext, dict) and ext.get("extension_type") == _TOPLEVEL and k not in _EXTENSIONS
        for k, ext in exts.items()
    )


# -- common property tables --------------------------------------------------

_CORE: Final[dict[str, Check]] = {"type": _skip, "id": _skip, "spec_version": _skip}
_MARKINGS: Final[dict[str, Check]] = {
    "object_marking_refs": _list(_MARKING_REF),
    "granular_markings": _list(_struct(_GRANULAR_MARKING)),
}
_EXTERNAL_REFERENCES = _list(_struct(_EXTERNAL_REFERENCE))
_KILL_CHAIN_PHASES = _list(_struct(_KILL_CHAIN_PHASE))
_CONFIDENCE = _integer(0, 100)
_SDO_COMMON: Final[dict[str, Check]] = {
    **_CORE,
    "created_by_ref": _IDENTITY_REF,
    "created": _timestamp,
    "modified": _timestamp,
    "revoked": _boolean,
    "labels": _STRINGS,
    "confidence": _CONFIDENCE,
    "lang": _string,
    "external_references": _EXTERNAL_REFERENCES,
    **_MARKINGS,
    "extensions": _extensions,
}
_SCO_COMMON: Final[dict[str, Check]] = {
    **_CORE,
    **_MARKINGS,
    "defanged": _boolean,
    "extensions": _extensions,
}
_COMMON_OPAQUE: Final = frozenset({"external_references", "granular_markings", "kill_chain_phases"})
_SDO_REQUIRED: Final = frozenset({"type", "id", "spec_version", "created", "modified"})


def _sdo(
    name: str,
    props: dict[str, Check],
    required: Iterable[str] = (),
    *constraints: Constraint,
    kind: str = "sdo",
    opaque: Iterable[str] = (),
) -> _Schema:
    return _Schema(
        name,
        kind,
        {**_SDO_COMMON, **props},
        _SDO_REQUIRED | frozenset(required),
        (_MODIFIED_AFTER_CREATED, *constraints),
        opaque=_COMMON_OPAQUE | frozenset(opaque),
    )


def _sco(
    name: str,
    props: dict[str, Check],
    required: Iterable[str] = (),
    *constraints: Constraint,
    opaque: Iterable[str] = (),
    hashes: Iterable[str] = (),
) -> _Schema:
    return _Schema(
        name,
        "sco",
        {**_SCO_COMMON, **props},
        frozenset({"type", "id"}) | frozenset(required),
        constraints,
        opaque=_COMMON_OPAQUE | frozenset(opaque),
        hashes=frozenset(hashes),
    )


# -- SDO-specific constraints -------------------------------------------------


def _location(obj: dict[str, Any]) -> None:
    has_lat = "latitude" in obj
    has_long = "longitude" in obj
    if has_lat != has_long:
        raise _Invalid("'latitude' and 'longitude' must be given together")
    if "precision" in obj and not has_lat:
        raise _Invalid("'precision' needs 'latitude' and 'longitude'")
    if not (has_lat or "region" in obj or "country" in obj):
        raise _Invalid("needs 'region', 'country', or 'latitude' and 'longitude'")


def _malware(obj: dict[str, Any]) -> None:
    if obj.get("is_family") is True and "name" not in obj:
        raise _Invalid("'name' is required for malware families")


_OBSERVED_DATA_ORDER = _ordered("first_observed", "last_observed", strict=False)
_VALID_UNTIL = _ordered("valid_from", "valid_until", strict=True)


def _indicator(obj: dict[str, Any]) -> None:
    _VALID_UNTIL(obj)
    if obj.get("pattern_type") != "stix":
        return
    pattern = obj["pattern"]
    version = obj.get("pattern_version") or ("2.1" if pattern else "")
    error = _pattern_error(pattern, version == "2.1")
    if error is not None:
        raise _Invalid(f"'pattern' is not a valid STIX pattern: {error}")


def _observed_objects(value: object) -> None:
    """The deprecated ``objects`` observable container of observed-data."""
    if not isinstance(value, dict):
        raise _Invalid(f"must be a dictionary, not {_describe(value)}")
    if not value:
        raise _Invalid("must not be an empty dictionary")
    for key, sco in value.items():
        if not isinstance(sco, dict):
            raise _Invalid(f"{_show(key)} must be a JSON object, not {_describe(sco)}")
        t = sco.get("type")
        if t is None:
            raise _Invalid(f"{_show(key)} has no 'type'")
        if not isinstance(t, str):
            raise _Invalid(f"{_show(key)} 'type' must be a string")
        schema = _SCHEMAS.get(t)
        if schema is None or schema.kind != "sco":
            continue  # unknown observables are carried as they are
        try:
            _check_object(schema, sco, t, embedded=True)
        except StixValidationError as exc:
            raise _Invalid(f"{_show(key)}: {exc.args[0]}") from None


def _tlp_definition(value: object) -> None:
    """The legacy ``definition`` object (TLP 1.0 or statement)."""
    if not isinstance(value, dict):
        raise _Invalid(f"must be a JSON object, not {_describe(value)}")


_TLP1: Final = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}


def _marking_definition(obj: dict[str, Any]) -> None:
    definition_type = obj.get("definition_type")
    definition: dict[str, Any] | None = obj.get("definition")
    if definition is not None:
        if definition_type not in ("tlp", "statement"):
            raise _Invalid("'definition' needs 'definition_type' 'tlp' or 'statement'")
        if set(definition) != {definition_type}:
            raise _Invalid(f"'definition' must have exactly the property {definition_type!r}")
        if not isinstance(definition[definition_type], str):
            raise _Invalid(f"'definition' {definition_type!r} must be a string")
    elif not obj.get("extensions"):
        raise _Invalid("needs 'definition_type' and 'definition', or 'extensions'")
    if not definition_type and not obj.get("extensions"):
        raise _Invalid("needs 'definition_type' and 'definition', or 'extensions'")
    if definition_type == "tlp":
        if definition is None:
            raise _Invalid("a 'tlp' marking needs 'definition'")
        expected = _TLP1.get(definition["tlp"])
        if expected is None:
            raise _Invalid("TLP 1.0 'definition' 'tlp' must be white, green, amber or red")
        if obj["id"] != expected or _ts_key(obj["created"]) != ("2017-01-20T00:00:00", ""):
            raise _Invalid(f"TLP:{definition['tlp'].upper()} must be the predefined object")


def _artifact(obj: dict[str, Any]) -> None:
    if ("payload_bin" in obj) == ("url" in obj):
        raise _Invalid("needs exactly one of 'payload_bin' and 'url'")
    if "url" in obj and "hashes" not in obj:
        raise _Invalid("'url' needs 'hashes'")


def _email_message(obj: dict[str, Any]) -> None:
    multipart = obj.get("is_multipart")
    if multipart is False and "body_multipart" in obj:
        raise _Invalid("'body_multipart' needs 'is_multipart' true")
    if multipart is True and obj.get("body"):
        raise _Invalid("'body' must not be used when 'is_multipart' is true")


def _network_traffic(obj: dict[str, Any]) -> None:
    if "src_ref" not in obj and "dst_ref" not in obj:
        raise _Invalid("needs at least one of 'src_ref' and 'dst_ref'")
    if "end" in obj and obj.get("is_active") is not False:
        raise _Invalid("'end' needs 'is_active' false")
    _ordered("start", "end", strict=False)(obj)


_PROCESS_OWN: Final = frozenset(
    {
        "is_hidden",
        "pid",
        "created_time",
        "cwd",
        "command_line",
        "environment_variables",
        "opened_connection_refs",
        "creator_user_ref",
        "image_ref",
        "parent_ref",
        "child_refs",
        "object_marking_refs",
        "granular_markings",
    }
)


def _process(obj: dict[str, Any]) -> None:
    if _PROCESS_OWN.isdisjoint(obj) and "extensions" not in obj:
        raise _Invalid("needs at least one property besides type, id and spec_version")


_EMAIL_MIME_COMPONENT = _Schema(
    "email-mime-component",
    "struct",
    {
        "body": _string,
        "body_raw_ref": _ARTIFACT_FILE_REF,
        "content_type": _string,
        "content_disposition": _string,
    },
    frozenset(),
    at_least_one=frozenset({"body", "body_raw_ref"}),
)
_REGISTRY_VALUE = _Schema(
    "windows-registry-value-type",
    "struct",
    {
        "name": _string,
        "data": _string,
        "data_type": _enum(
            "REG_NONE",
            "REG_SZ",
            "REG_EXPAND_SZ",
            "REG_BINARY",
            "REG_DWORD",
            "REG_DWORD_BIG_ENDIAN",
            "REG_DWORD_LITTLE_ENDIAN",
            "REG_LINK",
            "REG_MULTI_SZ",
            "REG_RESOURCE_LIST",
            "REG_FULL_RESOURCE_DESCRIPTION",
            "REG_RESOURCE_REQUIREMENTS_LIST",
            "REG_QWORD",
            "REG_INVALID_TYPE",
        ),
    },
    frozenset(),
)
_X509_V3_EXTENSIONS = _Schema(
    "x509-v3-extensions-type",
    "struct",
    {
        **{
            name: _string
            for name in (
                "basic_constraints",
                "name_constraints",
                "policy_constraints",
                "key_usage",
                "extended_key_usage",
                "subject_key_identifier",
                "authority_key_identifier",
                "subject_alternative_name",
                "issuer_alternative_name",
                "subject_directory_attributes",
                "crl_distribution_points",
                "inhibit_any_policy",
                "certificate_policies",
                "policy_mappings",
            )
        },
        "private_key_usage_period_not_before": _timestamp,
        "private_key_usage_period_not_after": _timestamp,
    },
    frozenset(),
)
_X509_PROPS: Final[dict[str, Check]] = {
    "is_self_signed": _boolean,
    "hashes": _HASHES,
    "version": _string,
    "serial_number": _string,
    "signature_algorithm": _string,
    "issuer": _string,
    "validity_not_before": _timestamp,
    "validity_not_after": _timestamp,
    "subject": _string,
    "subject_public_key_algorithm": _string,
    "subject_public_key_modulus": _string,
    "subject_public_key_exponent": _INT,
    "x509_v3_extensions": _struct(_X509_V3_EXTENSIONS),
}

# What a relationship may point at: any SDO or SCO.
_SDO_OR_SCO_REF = _ref(
    _not_in({"bundle", "language-content", "marking-definition", "relationship", "sighting"}),
    "an SDO or SCO",
)

_SCHEMAS: Final[dict[str, _Schema]] = {
    s.name: s
    for s in (
        # ---- STIX Domain Objects (section 4)
        _sdo(
            "attack-pattern",
            {
                "name": _string,
                "description": _string,
                "aliases": _STRINGS,
                "kill_chain_phases": _KILL_CHAIN_PHASES,
            },
            ["name"],
        ),
        _sdo(
            "campaign",
            {
                "name": _string,
                "description": _string,
                "aliases": _STRINGS,
                "first_seen": _timestamp,
                "last_seen": _timestamp,
                "objective": _string,
            },
            ["name"],
            _SEEN,
        ),
        _sdo("course-of-action", {"name": _string, "description": _string}, ["name"]),
        _sdo(
            "grouping",
            {
                "name": _string,
                "description": _string,
                "context": _string,
                "object_refs": _list(_ANY_REF),
            },
            ["context", "object_refs"],
        ),
        _sdo(
            "identity",
            {
                "name": _string,
                "description": _string,
                "roles": _STRINGS,
                "identity_class": _string,
                "sectors": _STRINGS,
                "contact_information": _string,
            },
            ["name"],
        ),
        _sdo(
            "incident",
            {"name": _string, "description": _string, "kill_chain_phases": _KILL_CHAIN_PHASES},
            ["name"],
        ),
        _sdo(
            "indicator",
            {
                "name": _string,
                "description": _string,
                "indicator_types": _STRINGS,
                "pattern": _string,
                "pattern_type": _string,
                "pattern_version": _string,
                "valid_from": _timestamp,
                "valid_until": _timestamp,
                "kill_chain_phases": _KILL_CHAIN_PHASES,
            },
            ["pattern", "pattern_type", "valid_from"],
            _indicator,
        ),
        _sdo(
            "infrastructure",
            {
                "name": _string,
                "description": _string,
                "infrastructure_types": _STRINGS,
                "aliases": _STRINGS,
                "kill_chain_phases": _KILL_CHAIN_PHASES,
                "first_seen": _timestamp,
                "last_seen": _timestamp,
            },
            ["name"],
            _SEEN,
        ),
        _sdo(
            "intrusion-set",
            {
                "name": _string,
                "description": _string,
                "aliases": _STRINGS,
                "first_seen": _timestamp,
                "last_seen": _timestamp,
                "goals": _STRINGS,
                "resource_level": _string,
                "primary_motivation": _string,
                "secondary_motivations": _STRINGS,
            },
            ["name"],
            _SEEN,
        ),
        _sdo(
            "location",
            {
                "name": _string,
                "description": _string,
                "latitude": _number(-90.0, 90.0),
                "longitude": _number(-180.0, 180.0),
                "precision": _number(0.0),
                "region": _string,
                "country": _string,
                "administrative_area": _string,
                "city": _string,
                "street_address": _string,
                "postal_code": _string,
            },
            (),
            _location,
        ),
        _sdo(
            "malware",
            {
                "name": _string,
                "description": _string,
                "malware_types": _STRINGS,
                "is_family": _boolean,
                "aliases": _STRINGS,
                "kill_chain_phases": _KILL_CHAIN_PHASES,
                "first_seen": _timestamp,
                "last_seen": _timestamp,
                "operating_system_refs": _list(_SOFTWARE_REF),
                "architecture_execution_envs": _STRINGS,
                "implementation_languages": _STRINGS,
                "capabilities": _STRINGS,
                "sample_refs": _list(_ARTIFACT_FILE_REF),
            },
            ["is_family"],
            _SEEN,
            _malware,
        ),
        _sdo(
            "malware-analysis",
            {
                "product": _string,
                "version": _string,
                "host_vm_ref": _SOFTWARE_REF,
                "operating_system_ref": _SOFTWARE_REF,
                "installed_software_refs": _list(_SOFTWARE_REF),
                "configuration_version": _string,
                "modules": _STRINGS,
                "analysis_engine_version": _string,
                "analysis_definition_version": _string,
                "submitted": _timestamp,
                "analysis_started": _timestamp,
                "analysis_ended": _timestamp,
                "result_name": _string,
                "result": _string,
                "analysis_sco_refs": _list(_SCO_REF),
                "sample_ref": _SCO_REF,
            },
            ["product"],
            _at_least_one("result", "analysis_sco_refs"),
        ),
        _sdo(
            "note",
            {
                "abstract": _string,
                "content": _string,
                "authors": _STRINGS,
                "object_refs": _list(_ANY_REF),
            },
            ["content", "object_refs"],
        ),
        _sdo(
            "observed-data",
            {
                "first_observed": _timestamp,
                "last_observed": _timestamp,
                "number_observed": _integer(1, 999_999_999),
                "objects": _observed_objects,
                "object_refs": _list(_SCO_SRO_REF),
            },
            ["first_observed", "last_observed", "number_observed"],
            _OBSERVED_DATA_ORDER,
            _exactly_one("objects", "object_refs"),
        ),
        _sdo(
            "opinion",
            {
                "explanation": _string,
                "authors": _STRINGS,
                "opinion": _enum(
                    "strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"
                ),
                "object_refs": _list(_ANY_REF),
            },
            ["opinion", "object_refs"],
        ),
        _sdo(
            "report",
            {
                "name": _string,
                "description": _string,
                "report_types": _STRINGS,
                "published": _timestamp,
                "object_refs": _list(_ANY_REF),
            },
            ["name", "published", "object_refs"],
        ),
        _sdo(
            "threat-actor",
            {
                "name": _string,
                "description": _string,
                "threat_actor_types": _STRINGS,
                "aliases": _STRINGS,
                "first_seen": _timestamp,
                "last_seen": _timestamp,
                "roles": _STRINGS,
                "goals": _STRINGS,
                "sophistication": _string,
                "resource_level": _string,
                "primary_motivation": _string,
                "secondary_motivations": _STRINGS,
                "personal_motivations": _STRINGS,
            },
            ["name"],
            _SEEN,
        ),
        _sdo(
            "tool",
            {
                "name": _string,
                "description": _string,
                "tool_types": _STRINGS,
                "aliases": _STRINGS,
                "kill_chain_phases": _KILL_CHAIN_PHASES,
                "tool_version": _string,
            },
            ["name"],
        ),
        _sdo("vulnerability", {"name": _string, "description": _string}, ["name"]),
        # ---- STIX Relationship Objects (section 5)
        _sdo(
            "relationship",
            {
                "relationship_type": _string,
                "description": _string,
                "source_ref": _SDO_OR_SCO_REF,
                "target_ref": _SDO_OR_SCO_REF,
                "start_time": _timestamp,
                "stop_time": _timestamp,
            },
            ["relationship_type", "source_ref", "target_ref"],
            _ordered("start_time", "stop_time", strict=True),
            kind="sro",
        ),
        _sdo(
            "sighting",
            {
                "description": _string,
                "first_seen": _timestamp,
                "last_seen": _timestamp,
                "count": _integer(0, 999_999_999),
                "sighting_of_ref": _SDO_REF,
                "observed_data_refs": _list(_ref(_only("observed-data"), "an observed-data")),
                "where_sighted_refs": _list(
                    _ref(_only("identity", "location"), "an identity or location")
                ),
                "summary": _boolean,
            },
            ["sighting_of_ref"],
            _SEEN,
            kind="sro",
        ),
        # ---- STIX Meta Objects (section 7)
        _Schema(
            "marking-definition",
            "meta",
            {
                **_CORE,
                "created_by_ref": _IDENTITY_REF,
                "created": _timestamp,
                "definition_type": _string,
                "name": _string,
                "definition": _tlp_definition,
                "external_references": _EXTERNAL_REFERENCES,
                **_MARKINGS,
                "extensions": _extensions,
            },
            frozenset({"type", "id", "spec_version", "created"}),
            (_marking_definition,),
            opaque=_COMMON_OPAQUE | {"definition"},
        ),
        _Schema(
            "language-content",
            "meta",
            {
                **_CORE,
                "created_by_ref": _IDENTITY_REF,
                "created": _timestamp,
                "modified": _timestamp,
                "object_ref": _ANY_REF,
                "object_modified": _timestamp,
                "contents": _dictionary,
                "revoked": _boolean,
                "labels": _STRINGS,
                "confidence": _CONFIDENCE,
                "external_references": _EXTERNAL_REFERENCES,
                **_MARKINGS,
                "extensions": _extensions,
            },
            _SDO_REQUIRED | {"object_ref", "contents"},
            (_MODIFIED_AFTER_CREATED,),
            opaque=_COMMON_OPAQUE,
        ),
        _Schema(
            "extension-definition",
            "meta",
            {
                **_CORE,
                "created_by_ref": _IDENTITY_REF,
                "created": _timestamp,
                "modified": _timestamp,
                "name": _string,
                "description": _string,
                "schema": _string,
                "version": _string,
                "extension_types": _list(
                    _enum(
                        "new-sdo",
                        "new-sco",
                        "new-sro",
                        "property-extension",
                        "toplevel-property-extension",
                    )
                ),
                "extension_properties": _STRINGS,
                "revoked": _boolean,
                "labels": _STRINGS,
                "external_references": _EXTERNAL_REFERENCES,
                **_MARKINGS,
            },
            _SDO_REQUIRED | {"created_by_ref", "name", "schema", "version", "extension_types"},
            (_MODIFIED_AFTER_CREATED,),
            opaque=_COMMON_OPAQUE,
        ),
        # ---- STIX Cyber-observable Objects (section 6)
        _sco(
            "artifact",
            {
                "mime_type": _string,
                "payload_bin": _binary,
                "url": _string,
                "hashes": _HASHES,
                "encryption_algorithm": _enum(
                    "AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"
                ),
                "decryption_key": _string,
            },
            (),
            _artifact,
            hashes=["hashes"],
        ),
        _sco(
            "autonomous-system",
            {"number": _INT, "name": _string, "rir": _string},
            ["number"],
        ),
        _sco(
            "directory",
            {
                "path": _string,
                "path_enc": _string,
                "ctime": _timestamp,
                "mtime": _timestamp,
                "atime": _timestamp,
                "contains_refs": _list(_FILE_DIR_REF),
            },
            ["path"],
        ),
        _sco(
            "domain-name",
            {
                "value": _string,
                "resolves_to_refs": _list(
                    _ref(_only("ipv4-addr", "ipv6-addr", "domain-name"), "an address or domain")
                ),
            },
            ["value"],
        ),
        _sco(
            "email-addr",
            {"value": _string, "display_name": _string, "belongs_to_ref": _USER_ACCOUNT_REF},
            ["value"],
        ),
        _sco(
            "email-message",
            {
                "is_multipart": _boolean,
                "date": _timestamp,
                "content_type": _string,
                "from_ref": _EMAIL_ADDR_REF,
                "sender_ref": _EMAIL_ADDR_REF,
                "to_refs": _list(_EMAIL_ADDR_REF),
                "cc_refs": _list(_EMAIL_ADDR_REF),
                "bcc_refs": _list(_EMAIL_ADDR_REF),
                "message_id": _string,
                "subject": _string,
                "received_lines": _STRINGS,
                "additional_header_fields": _dictionary,
                "body": _string,
                "body_multipart": _list(_struct(_EMAIL_MIME_COMPONENT)),
                "raw_email_ref": _ARTIFACT_REF,
            },
            ["is_multipart"],
            _email_message,
            opaque=["body_multipart"],
        ),
        _sco(
            "file",
            {
                "hashes": _HASHES,
                "size": _UINT,
                "name": _string,
                "name_enc": _string,
                "magic_number_hex": _hex,
                "mime_type": _string,
                "ctime": _timestamp,
                "mtime": _timestamp,
                "atime": _timestamp,
                "parent_directory_ref": _ref(_only("directory"), "a directory"),
                "contains_refs": _list(_SCO_REF),
                "content_ref": _ARTIFACT_REF,
            },
            (),
            _at_least_one("hashes", "name"),
            hashes=["hashes"],
        ),
        _sco(
            "ipv4-addr",
            {
                "value": _string,
                "resolves_to_refs": _list(_ref(_only("mac-addr"), "a mac-addr")),
                "belongs_to_refs": _list(_ref(_only("autonomous-system"), "an autonomous-system")),
            },
            ["value"],
        ),
        _sco(
            "ipv6-addr",
            {
                "value": _string,
                "resolves_to_refs": _list(_ref(_only("mac-addr"), "a mac-addr")),
                "belongs_to_refs": _list(_ref(_only("autonomous-system"), "an autonomous-system")),
            },
            ["value"],
        ),
        _sco("mac-addr", {"value": _string}, ["value"]),
        _sco("mutex", {"name": _string}, ["name"]),
        _sco(
            "network-traffic",
            {
                "start": _timestamp,
                "end": _timestamp,
                "is_active": _boolean,
                "src_ref": _ADDRESS_REF,
                "dst_ref": _ADDRESS_REF,
                "src_port": _integer(0, 65535),
                "dst_port": _integer(0, 65535),
                "protocols": _STRINGS,
                "src_byte_count": _UINT,
                "dst_byte_count": _UINT,
                "src_packets": _UINT,
                "dst_packets": _UINT,
                "ipfix": _dictionary,
                "src_payload_ref": _ARTIFACT_REF,
                "dst_payload_ref": _ARTIFACT_REF,
                "encapsulates_refs": _list(_TRAFFIC_REF),
                "encapsulated_by_ref": _TRAFFIC_REF,
            },
            ["protocols"],
            _network_traffic,
        ),
        _sco(
            "process",
            {
                "is_hidden": _boolean,
                "pid": _INT,
                "created_time": _timestamp,
                "cwd": _string,
                "command_line": _string,
                "environment_variables": _dictionary,
                "opened_connection_refs": _list(_TRAFFIC_REF),
                "creator_user_ref": _USER_ACCOUNT_REF,
                "image_ref": _FILE_REF,
                "parent_ref": _PROCESS_REF,
                "child_refs": _list(_PROCESS_REF),
            },
            (),
            _process,
        ),
        _sco(
            "software",
            {
                "name": _string,
                "cpe": _string,
                "swid": _string,
                "languages": _STRINGS,
                "vendor": _string,
                "version": _string,
            },
            ["name"],
        ),
        _sco("url", {"value": _string}, ["value"]),
        _sco(
            "user-account",
            {
                "user_id": _string,
                "credential": _string,
                "account_login": _string,
                "account_type": _string,
                "display_name": _string,
                "is_service_account": _boolean,
                "is_privileged": _boolean,
                "can_escalate_privs": _boolean,
                "is_disabled": _boolean,
                "account_created": _timestamp,
                "account_expires": _timestamp,
                "credential_last_changed": _timestamp,
                "account_first_login": _timestamp,
                "account_last_login": _timestamp,
            },
        ),
        _sco(
            "windows-registry-key",
            {
                "key": _string,
                "values": _list(_struct(_REGISTRY_VALUE)),
                "modified_time": _timestamp,
                "creator_user_ref": _USER_ACCOUNT_REF,
                "number_of_subkeys": _INT,
            },
            opaque=["values"],
        ),
        _sco(
            "x509-certificate",
            _X509_PROPS,
            (),
            _at_least_one(*(set(_X509_PROPS))),
            opaque=["x509_v3_extensions"],
            hashes=["hashes"],
        ),
    )
}

# Common properties checked on custom object types.
_CUSTOM_COMMON: Final[dict[str, Check]] = {**_SDO_COMMON, "defanged": _boolean}


# --------------------------------------------------------------------------
# Granular-marking selectors
# --------------------------------------------------------------------------


def _selector_view(schema: _Schema | None, obj: dict[str, Any]) -> dict[str, Any]:
    """The object as stix2 sees it when resolving selectors (with defaults)."""
    view = dict(obj)
    if schema is not None:
        if schema.kind == "sco" and "spec_version" not in view:
            view["spec_version"] = "2.1"
        if (
            schema.name == "indicator"
            and view.get("pattern")
            and view.get("pattern_type") == "stix"
            and not view.get("pattern_version")
        ):
            view["pattern_version"] = "2.1"
        for name in schema.hashes:
            hashes = view.get(name)
            if isinstance(hashes, dict):
                normal: dict[str, Any] = {}
                for k, v in hashes.items():
                    key = str(k)
                    alg = _hash_algorithm(key)
                    normal[_HASH_SPEC_NAMES.get(alg, key) if alg is not None else key] = v
                view[name] = normal
    return view


def _selector_resolves(schema: _Schema | None, view: dict[str, Any], selector: str) -> bool:
    """Whether stix2's ``iterpath`` walk yields ``selector`` with a truthy value."""
    opaque = schema.opaque if schema is not None else _COMMON_OPAQUE
    # (node, remaining selector, mode): mode 0 = descend freely, 1 = opaque,
    # 2 = list whose items are opaque, 3 = extensions dict, 4 = objects dict.
    stack: list[tuple[Any, str, int]] = []
    for k, v in view.items():
        if not isinstance(k, str):
            continue
        if selector == k:
            if v:
                return True
        elif selector.startswith(k + "."):
            if k in opaque:
                mode = 2 if isinstance(v, list) else 1
            elif k == "extensions":
                mode = 3
            elif k == "objects" and schema is not None and schema.name == "observed-data":
                mode = 4
            else:
                mode = 0
            stack.append((v, selector[len(k) + 1 :], mode))
    while stack:
        node, rest, mode = stack.pop()
        if mode == 1:
            continue
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str):
                    continue
                if rest == k:
                    if v:
                        return True
                elif rest.startswith(k + "."):
                    child = 0
                    if mode == 3 and k in _EXTENSIONS:
                        child = 1
                    elif (
                        mode == 4
                        and isinstance(v, dict)
                        and isinstance(v.get("type"), str)
                        and v["type"] in _SCO_TYPES
                    ):
                        child = 1
                    stack.append((v, rest[len(k) + 1 :], child))
        elif isinstance(node, list):
            if not rest.startswith("["):
                continue
            end = rest.find("]")
            digits = rest[1:end]
            if end < 0 or not digits.isascii() or not digits.isdigit():
                continue
            index = int(digits)
            if str(index) != digits or index >= len(node):
                continue
            item = node[index]
            if node.index(item) != index:
                continue
            tail = rest[end + 1 :]
            if not tail:
                if item:
                    return True
            elif tail.startswith(".") and isinstance(item, dict) and mode != 2:
                stack.append((item, tail[1:], 0))
    return False


def _check_selectors(schema: _Schema | None, obj: dict[str, Any]) -> None:
    view = _selector_view(schema, obj)
    for marking in obj["granular_markings"]:
        for selector in marking["selectors"]:
            try:
                found = _selector_resolves(schema, view, selector)
            except RecursionError:  # comparing pathologically deep list items
                found = False
            if not found:
                raise _Invalid(f"granular marking selector {_show(selector)} matches no property")


# --------------------------------------------------------------------------
# Indicator patterns
# --------------------------------------------------------------------------

# Simple patterns that stix2patterns always accepts: one observation of
# comparisons joined by AND / OR, each ``type:path = 'string'`` (or != or an
# integer), with plain lowercase path components that are neither keywords nor
# ``hashes``, plus the common hash comparisons with values of the right size.
_PATH_PART = r"(?!(?:true|false|hashes)\b)[a-z_][a-z0-9_]*"
_STRING_LITERAL = r"'(?:[^'\\]|\\['\\])*'"
_COMPARISON = (
    r"(?:[a-z][a-z0-9]*(?:-[a-z0-9]+)*:" + _PATH_PART + r"(?:\." + _PATH_PART + r")*"
    r" ?!?= ?(?:" + _STRING_LITERAL + r"|0|[1-9][0-9]{0,17})"
    r"|(?:file|artifact):hashes\.(?:"
    r"(?:MD5|'MD5') ?= ?'[0-9a-fA-F]{32}'"
    r"|(?:SHA1|'SHA1'|'SHA-1') ?= ?'[0-9a-fA-F]{40}'"
    r"|(?:SHA256|'SHA256'|'SHA-256') ?= ?'[0-9a-fA-F]{64}'"
    r"|(?:SHA512|'SHA512'|'SHA-512') ?= ?'[0-9a-fA-F]{128}'))"
)
_FAST_PATTERN_RE: Final = re.compile(
    r"\[ ?" + _COMPARISON + r"(?: (?:AND|OR) " + _COMPARISON + r")* ?\]"
)
_PATTERN_CACHE_MAX_LEN: Final = 4096


def _run_pattern_validator(pattern: str, version: str) -> str | None:
    try:
        from stix2patterns.validator import run_validator

        errors = run_validator(pattern, version)
    except Exception as exc:  # the parser itself failing means "not valid"
        return f"{type(exc).__name__}: {exc}"
    return str(errors[0]) if errors else None


_cached_pattern_validator = functools.lru_cache(maxsize=8192)(_run_pattern_validator)


def _pattern_error(pattern: str, stix21: bool) -> str | None:
    """None if ``pattern`` is a valid STIX pattern, else the first error."""
    if stix21 and _FAST_PATTERN_RE.fullmatch(pattern) is not None:
        return None
    version = "2.1" if stix21 else "2.0"
    if len(pattern) > _PATTERN_CACHE_MAX_LEN:
        return _run_pattern_validator(pattern, version)
    return _cached_pattern_validator(pattern, version)


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------


def _check_object(schema: _Schema, obj: dict[str, Any], t: str, *, embedded: bool = False) -> None:
    if not obj.keys() >= schema.required:
        for name in sorted(schema.required - obj.keys()):
            if not (embedded and name == "id"):
                raise StixValidationError(f"{t}: {name!r} is required")
    ident = obj.get("id")
    if ident is not None or "id" in obj:
        _check_own_id(t, ident)
    if "spec_version" in obj and obj["spec_version"] != "2.1":
        raise StixValidationError(
            f"{t}: 'spec_version' must be '2.1', not {_show(obj['spec_version'])}"
        )
    checks = schema.checks
    custom = False
    for k, v in obj.items():
        chk = checks.get(k)
        if chk is not None:
            try:
                chk(v)
            except _Invalid as exc:
                raise StixValidationError(f"{t}: {k!r} {exc.args[0]}") from None
        elif k not in _CORE:
            custom = True
    if custom:
        _check_custom_properties(t, obj, schema.props)
    try:
        for constraint in schema.constraints:
            constraint(obj)
        if "granular_markings" in obj:
            _check_selectors(schema, obj)
    except _Invalid as exc:
        raise StixValidationError(f"{t}: {exc.args[0]}") from None


def _check_own_id(t: str, ident: object) -> None:
    if (
        not isinstance(ident, str)
        or not ident.startswith(t)
        or ident[len(t) : len(t) + 2] != "--"
        or _UUID_RE.fullmatch(ident, len(t) + 2) is None
    ):
        raise StixValidationError(
            f"{t}: 'id' must be '{t}--' followed by an RFC 4122 UUID, not {_show(ident)}"
        )


def _check_custom_properties(t: str, obj: dict[str, Any], props: Mapping[str, Check]) -> None:
    if "custom_properties" in obj:
        inner = obj["custom_properties"]
        if not isinstance(inner, dict):
            raise StixValidationError(f"{t}: 'custom_properties' must be a JSON object")
        for k, v in inner.items():
            try:
                _check_custom_property(k, v)
            except _Invalid as exc:
                raise StixValidationError(f"{t}: {exc.args[0]}") from None
    if "extensions" not in props and obj.get("extensions"):
        # stix2 reads 'extensions' on every object, defined property or not.
        exts = obj["extensions"]
        if not isinstance(exts, dict) or not all(isinstance(e, dict) for e in exts.values()):
            raise StixValidationError(f"{t}: 'extensions' must map names to JSON objects")
    if _has_toplevel_extension(obj):
        # Unregistered toplevel-property-extension: stix2 takes every extra
        # property to be defined by the extension.
        for k, v in obj.items():
            if k not in props and (v is None or (isinstance(v, list) and not v)):
                raise StixValidationError(f"{t}: {_show(k)} must not be null or an empty list")
        return
    for k, v in obj.items():
        if k not in props:
            try:
                _check_custom_property(k, v)
            except _Invalid as exc:
                raise StixValidationError(f"{t}: {exc.args[0]}") from None


def _check_custom_type(obj: dict[str, Any], t: str) -> None:
    if not _is_type_name(t):
        raise StixValidationError(
            f"'type' {t[:80]!r} is not a valid STIX type name "
            "(3-250 characters a-z, 0-9 and single inner hyphens, starting with a letter)"
        )
    if "id" not in obj:
        raise StixValidationError(f"{t}: 'id' is required")
    _check_own_id(t, obj["id"])
    if "spec_version" in obj and obj["spec_version"] != "2.1":
        raise StixValidationError(
            f"{t}: 'spec_version' must be '2.1', not {_show(obj['spec_version'])}"
        )
    custom = _CUSTOM_COMMON
    for k, v in obj.items():
        chk = custom.get(k)
        if chk is not None:
            try:
                chk(v)
            except _Invalid as exc:
                raise StixValidationError(f"{t}: {k!r} {exc.args[0]}") from None
    _check_custom_properties(t, obj, custom)
    try:
        _MODIFIED_AFTER_CREATED(obj)
        if "granular_markings" in obj:
            _check_selectors(None, obj)
    except _Invalid as exc:
        raise StixValidationError(f"{t}: {exc.args[0]}") from None


# The telecom vocabulary hook, loaded on first use: (types, check) or None.
_UNLOADED: Final = object()
_telecom: object = _UNLOADED


def _telecom_hook() -> tuple[frozenset[str], Callable[[dict[str, Any]], None]] | None:
    global _telecom
    if _telecom is _UNLOADED:
        try:
            from telsec.stix import telecom
        except ImportError:
            _telecom = None
        else:
            types = getattr(telecom, "TELECOM_TYPES", None)
            check = getattr(telecom, "check", None)
            _telecom = (frozenset(types), check) if types is not None and callable(check) else None
    return _telecom  # type: ignore[return-value]


def validate(obj: object) -> None:
    """Raise StixValidationError if obj is not a valid STIX 2.1 object; return None otherwise."""
    if not isinstance(obj, dict):
        raise StixValidationError(f"a STIX object must be a JSON object, not {_describe(obj)}")
    t = obj.get("type")
    if not isinstance(t, str):
        if t is None:
            raise StixValidationError("'type' is required")
        raise StixValidationError(f"'type' must be a string, not {_describe(t)}")
    schema = _SCHEMAS.get(t)
    if schema is not None:
        _check_object(schema, obj, t)
    elif t == "bundle":
        raise StixValidationError(
            "bundle: a bundle is not a STIX object; validate each of its 'objects' instead"
        )
    else:
        _check_custom_type(obj, t)
    hook = _telecom if _telecom is not _UNLOADED else _telecom_hook()
    if hook is not None and t in hook[0]:  # type: ignore[index]
        try:
            hook[1](obj)  # type: ignore[index]
        except StixValidationError:
            raise
        except ValueError as exc:
            text = str(exc)
            raise StixValidationError(
                text if text.startswith(f"{t}:") else f"{t}: {text}"
            ) from None
        except (TypeError, KeyError, AttributeError, IndexError) as exc:
            raise StixValidationError(f"{t}: telecom check failed: {exc!r}") from None
