"""What a message carries: URLs, domains, shorteners, callback numbers, e-mail
addresses, the kind of its sender, and its template.

Pure functions, cached where the same value recurs (a campaign repeats its
domains and numbers thousands of times): this runs once per report.

* Domains are reduced to the registrable domain with ``tldextract`` and its
  bundled public suffix list (no network); a link to an IP address has none,
  and its address is kept instead, in canonical form.
* Numbers are runs of digit words ("07911 123456"), checked and put in E.164
  by ``phonenumbers`` with the reporter's country as the default region.
* The template is the text with URLs, e-mail addresses, numbers, amounts,
  codes and greeted names ("Hi Sarah," -> "hi <name>") replaced by
  placeholders: what near-duplicate clustering compares, and what may be
  shared of a text (it no longer names its recipient).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
import tldextract

_EMAIL = re.compile(r"(?i)[a-z0-9._%+-]{1,64}@(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}")
_SHORT_CODE = re.compile(r"^\d{3,8}$")
_ALPHANUMERIC = re.compile(r"^[A-Za-z0-9 .&_-]{1,11}$")
_TRAILING = ".,;:!?)]}'\""
_LEADING = "\"'([{<"
_NUMERIC = frozenset("0123456789+()-.")
_CURRENCY = frozenset("£$€₹")
_DIGIT = re.compile(r"\d")
#: A capitalised word after one of these is taken for the recipient's name ...
_GREETINGS = frozenset({"hi", "hello", "dear", "hey", "hiya", "morning", "evening"})
#: ... unless it is one of these.
_NOT_NAMES = frozenset(
    """mum mom dad mummy mommy mother father son daughter there all customer customers
    client member user sir madam friend team everyone everybody again""".split()
)
_AMOUNT = re.compile(r"\d[\d,]*\.\d+|\d{1,3}(?:,\d{3})+")

#: Link shorteners and redirectors (their links hide the real destination).
SHORTENERS = frozenset(
    """bit.ly bitly.com tinyurl.com t.co goo.gl ow.ly is.gd buff.ly rebrand.ly cutt.ly
    shorturl.at rb.gy tiny.cc t.ly s.id v.gd qrco.de lnkd.in bl.ink short.io
    tr.im x.co 1url.com soo.gd clck.ru u.to shorturl.com trib.al""".split()
)
#: Suffixes that make a bare "word.word" a host only when they are common in
#: messages; without a scheme, "ok.so" or "mins.half" are words, not hosts.
_BARE_SUFFIXES = frozenset(
    """com net org info biz uk co.uk org.uk gov.uk me io ly xyz top online site club
    shop live link click app us ca com.au au nz co.nz in co.in ru cn tk ml ga cf gq
    de fr es it nl eu icu buzz vip cc""".split()
)

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def clean_text(text: str) -> str:
    """NFKC, mojibake of UTF-8 read as Latin-1 undone, control characters out."""
    if "Ã" in text or "Â" in text:
        try:
            text = text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in "\n\t" else " " for c in text)


@lru_cache(maxsize=200_000)
def _host_parts(host: str) -> tuple[str, str] | None:
    """(registrable domain, suffix) of a host, None when it has no public suffix."""
    parts = _EXTRACT(host)
    if not parts.suffix or not parts.domain:
        return None
    return f"{parts.domain}.{parts.suffix}", parts.suffix


def registrable_domain(url: str) -> str | None:
    """The registrable domain of a URL or host (``a.b.example.co.uk`` -> ``example.co.uk``)."""
    scheme = url.find("://")
    host = url[scheme + 3 :] if 0 <= scheme <= 5 else url
    host = host.split("/", 1)[0].split("?", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].strip(".").lower()
    if not host or len(host) > 253:
        return None
    found = _host_parts(host)
    return found[0] if found else None


@lru_cache(maxsize=200_000)
def e164(number: str, region: str | None) -> str | None:
    """``number`` in E.164 if ``phonenumbers`` finds it valid (``region`` for
    national formats), else None."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Sender:
    kind: str  # "e164", "short-code", "alphanumeric" or "unknown"
    value: str


@lru_cache(maxsize=200_000)
def classify_sender(raw: str, region: str | None) -> Sender:
    """A claimed sender as an E.164 number, a short code or an alphanumeric ID."""
    text = raw.strip()
    if not text:
        return Sender("unknown", "")
    compact = re.sub(r"[\s().-]", "", text)
    if _SHORT_CODE.match(compact) and not compact.startswith("0"):
        return Sender("short-code", compact)
    if re.fullmatch(r"\+?\d{7,15}", compact):
        number = e164(compact, region)
        return Sender("e164", number) if number else Sender("unknown", compact[:32])
    if _ALPHANUMERIC.match(text) and any(c.isalpha() for c in text):
        return Sender("alphanumeric", text)
    return Sender("unknown", text[:32])


def template(text: str) -> str:
    """The message with what changes from one copy to the next replaced:
    ``<url>``, ``<email>``, ``<phone>``, ``<amount>``, ``<code>``; lower case."""
    return scan(text, None).template


def url_domain(word: str) -> str | None:
    """The registrable domain when ``word`` is a URL (a scheme or ``www.``, or a
    bare host with a common suffix: "ok.so" is a word), else None."""
    lowered = word.lower()
    if lowered.startswith(("http", "hxxp", "www.")):
        return registrable_domain(word)
    host = lowered.split("/", 1)[0]
    if "." not in host or not host[-1].isalpha():
        return None
    parts = _host_parts(host)
    return parts[0] if parts is not None and parts[1] in _BARE_SUFFIXES else None


_SCHEMES = ("http://", "https://", "hxxp://", "hxxps://")
#: A bare IPv4 address with a path ("192.0.2.7/login"): a link, where the
#: address alone could be a version or a code
_BARE_IP_LINK = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?/")


def ip_address(host: str) -> str | None:
    """``host`` as an IP address in its canonical form (IPv6 compressed, lower
    case), or None if it is not one."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


#: A link: its registrable domain, or the IP address it points at (neither: a
#: host of no public suffix after an explicit scheme).
Link = tuple[str | None, str | None]


def link_of(word: str) -> Link | None:
    """``word``'s :data:`Link` if it is a link, else None: a host with a public
    suffix (:func:`url_domain`), a link to an IP address (``http://192.0.2.7/login``,
    ``192.0.2.7/login``; smishing uses them to have no domain to block) or to a
    host of no public suffix after an explicit scheme."""
    domain = url_domain(word)
    if domain is not None:
        return domain, None
    lowered = word.lower()
    if lowered.startswith(_SCHEMES):
        rest = lowered.split("://", 1)[1]
        host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
        # an IPv6 address is bracketed, so that a port can follow it
        host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
        address = ip_address(host) if host else None
        if address is not None or ("." in host and host[-1].isalnum()):
            return None, address
        return None
    bare = _BARE_IP_LINK.match(lowered)
    address = ip_address(bare.group(1)) if bare else None
    return (None, address) if address else None


@dataclass(frozen=True)
class Extracted:
    urls: list[str]
    #: the registrable domains of ``urls``, sorted, once each
    domains: list[str]
    #: the IP addresses that ``urls`` without a domain point at, sorted, once each
    ip_addresses: list[str]
    emails: list[str]
    callbacks: list[str]
    template: str


def _numeric(word: str) -> bool:
    return bool(word) and word[0] in _NUMERIC and set(word.rstrip(_TRAILING)) <= _NUMERIC


def _word(word: str, before: list[str]) -> str:
    """A word for the template: lower case, or ``<name>`` if it is a greeted name."""
    lower = word.lower()
    if before and before[-1] in _GREETINGS and lower not in _NOT_NAMES and lower not in _GREETINGS:
        return "<name>"
    return lower


def scan(text: str, region: str | None) -> Extracted:
    """URLs, e-mail addresses, callback numbers (E.164, valid for ``region``) and
    the template of a message, in one pass over its words (a few microseconds:
    regular expressions over the whole text cost ten times more)."""
    found_urls: list[str] = []
    domains: set[str] = set()
    addresses: set[str] = set()
    found_emails: list[str] = []
    callbacks: list[str] = []
    parts: list[str] = []
    words = text.split()
    i, count = 0, len(words)
    while i < count:
        word = words[i]
        if word.isalpha():  # most words: nothing to look at
            parts.append(_word(word, parts) if word[0].isupper() else word.lower())
            i += 1
            continue
        # a number may be written across words: "07911 123456", "+44 20 7946 0123"
        if word[0] in _NUMERIC and _numeric(word):
            j, digits = i, ""
            while j < count and _numeric(words[j]) and len(digits) < 20:
                digits += words[j].rstrip(_TRAILING)
                j += 1
            compact = "".join(c for c in digits if c.isdigit() or c == "+")
            if len(compact.lstrip("+")) >= 7:
                number = e164(compact, region)
                if number and number not in callbacks:
                    callbacks.append(number)
                parts.append("<phone>")
                i = j
                continue
        i += 1
        link = word.lstrip(_LEADING).rstrip(_TRAILING)
        if not link or link.isalpha():
            if link:
                parts.append(_word(link, parts) if link[0].isupper() else link.lower())
        elif "@" in link and _EMAIL.fullmatch(link):
            found_emails.append(link.lower())
            parts.append("<email>")
        elif ("." in link or "://" in link) and (found := link_of(link)) is not None:
            found_urls.append(link)
            domain, address = found
            if domain is not None:
                domains.add(domain)
            elif address is not None:
                addresses.add(address)
            parts.append("<url>")
        elif _DIGIT.search(link) is None:
            parts.append(link.lower())
        elif link[0] in _CURRENCY or _AMOUNT.fullmatch(link):
            parts.append("<amount>")
        else:
            parts.append("<code>")
    return Extracted(found_urls, sorted(domains), sorted(addresses), found_emails, callbacks,
                     " ".join(parts))  # fmt: skip
