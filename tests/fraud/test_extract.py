"""What a message carries, read off as an analyst would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from telsec.fraud.extract import classify_sender, clean_text, registrable_domain, scan


def test_a_parcel_lure() -> None:
    text = (
        "Royal Mail: your parcel 4HG7KX is held, fee £1.99. Pay at "
        "https://pay.royalmail-fee.co.uk/4HG7KX or call 07911 123456, help@rm-help.com. ok.so"
    )
    found = scan(text, "GB")
    assert found.urls == ["https://pay.royalmail-fee.co.uk/4HG7KX"]
    assert found.domains == [registrable_domain(found.urls[0])] == ["royalmail-fee.co.uk"]
    assert found.callbacks == ["+447911123456"]
    assert found.emails == ["help@rm-help.com"]
    assert found.template == (
        "royal mail your parcel <code> is held fee <amount> pay at <url> or call <phone> "
        "<email> ok.so"
    )


def test_links_to_ip_addresses_are_links() -> None:
    """Smishing links to bare IP addresses so that there is no domain to block:
    they are URLs (for the blocklist and the indicators), without a domain."""
    found = scan(
        "Log in http://192.0.2.7/login, or 198.51.100.9/pay, or http://[2001:db8::1]/x, "
        "or https://portal.example/y today. Version 1.2.3.4, score 3.5/10, https://",
        "GB",
    )
    assert found.urls == [
        "http://192.0.2.7/login", "198.51.100.9/pay", "http://[2001:db8::1]/x",
        "https://portal.example/y",
    ]  # fmt: skip
    assert found.domains == []
    # the address is what a firewall blocks and what a STIX ipv4-addr/ipv6-addr names
    assert found.ip_addresses == ["192.0.2.7", "198.51.100.9", "2001:db8::1"]
    assert found.template == (
        "log in <url> or <url> or <url> or <url> today version <code> score <code> https://"
    )


def test_ip_addresses_in_canonical_form() -> None:
    found = scan(
        "Pay at HTTP://[2001:DB8:0:0::1]:8443/p or http://user@192.0.2.7:8080/q or "
        "http://192.0.2.7/r or http://999.1.2.3/s (not an address) or hxxps://203.0.113.5",
        "GB",
    )
    assert len(found.urls) == 5
    assert found.ip_addresses == ["192.0.2.7", "2001:db8::1", "203.0.113.5"]


def test_copies_of_one_lure_share_a_template() -> None:
    one = scan("USPS: package 8KD2M on hold, update at https://a-usps.top/8KD2M", "US")
    two = scan("USPS: package Q7PZ3 on hold, update at https://b-usps.xyz/x", "US")
    assert one.template == two.template


def test_senders() -> None:
    assert classify_sender("RoyalMail", "GB").kind == "alphanumeric"
    assert classify_sender("80488", "GB").kind == "short-code"
    assert classify_sender("07911 123456", "GB").value == "+447911123456"
    assert classify_sender("+44123", "GB").kind == "unknown"
    assert classify_sender("", None).kind == "unknown"


def test_mojibake_and_control_characters() -> None:
    assert clean_text("win a Â£2,000 prize\x00") == "win a £2,000 prize "


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.sampled_from([None, "GB", "US"]))
def test_any_text_scans(text: str, region: str | None) -> None:
    found = scan(clean_text(text), region)
    assert all(n.startswith("+") for n in found.callbacks)
    assert isinstance(found.template, str)
