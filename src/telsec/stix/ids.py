"""Identifiers telsec mints: its UUIDv5 namespace and the fixed ids derived from it."""

from __future__ import annotations

import json
import uuid

# The namespace under which telsec derives every id it mints itself (extension
# definitions, organisation identities).  SCO ids use the STIX namespace instead.
TELSEC_NAMESPACE = uuid.UUID("6d1b1f4e-2c1a-5d8e-9a4b-7c3e0f5a2b91")

# STIX 2.1 section 2.9: namespace for deterministic SCO identifiers.
STIX_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


def telsec_id(stix_type: str, name: str) -> str:
    """A deterministic id ``<stix_type>--uuid5(TELSEC_NAMESPACE, name)``."""
    return f"{stix_type}--{uuid.uuid5(TELSEC_NAMESPACE, name)}"


# Property extension that names the organisations entitled to a TLP:RED object.
RED_RECIPIENTS_EXTENSION_ID = telsec_id("extension-definition", "telsec/red-recipients")
# The identity that produces telsec's own vocabulary objects.
TELSEC_IDENTITY_ID = telsec_id("identity", "telsec")


def organisation_identity_id(org_name: str) -> str:
    """The STIX identity id of a member organisation, stable across nodes."""
    return telsec_id("identity", "organisation/" + org_name.strip().lower())


def value_sco(stix_type: str, value: str) -> dict[str, str]:
    """A standard SCO keyed by ``value`` alone (domain-name, url, ipv4-addr ...),
    with its deterministic id (STIX 2.1 section 2.9)."""
    canonical = json.dumps({"value": value}, separators=(",", ":"), ensure_ascii=False)
    return {
        "type": stix_type,
        "spec_version": "2.1",
        "id": f"{stix_type}--{uuid.uuid5(STIX_SCO_NAMESPACE, canonical)}",
        "value": value,
    }
