"""The demo data set: a coalition of five regulators and a national root.

``load_demo`` creates the organisations, API roots ("coalition" for the five
regulators, "uk" for Ofcom and UK providers) and collections, posts the
objects from :mod:`.objects` as their producers through the same store the
TAXII API uses, and issues a fresh demo token.  Loading twice adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, insert, select

from telsec.exchange import store
from telsec.exchange.bootstrap import ensure_vocabulary, prepare
from telsec.members import service
from telsec.members.auth import Principal
from telsec.stix.timestamps import now_us
from telsec.stix.tlp import Tlp
from telsec.stix.validate import validate
from telsec.storage.db import write_transaction
from telsec.storage.models import Setting

REGULATORS = ("Ofcom", "FCC", "ISED", "ACMA", "NCSC-NZ")
DEMO_ORG = "Ofcom"


@dataclass(frozen=True)
class DemoInfo:
    token: str
    org: str
    role: str
    collections: list[str]
    objects_added: int
    objects_total: int
    #: console users: (user name, organisation, role); they share one password
    users: list[tuple[str, str, str]] = field(default_factory=list)
    password: str = ""


#: the demo's console users: an analyst at Ofcom, one at ACMA (who does not see
#: what is TLP:RED for others), and a node administrator
DEMO_USERS = (
    ("ofcom", "Ofcom", "contributor"),
    ("acma", "ACMA", "contributor"),
    ("admin", "Ofcom", "admin"),
)


def demo_users(engine: Engine) -> tuple[list[tuple[str, str, str]], str]:
    """Create the demo users if needed and give them a new password (printed once)."""
    import secrets

    password = secrets.token_urlsafe(12)
    existing = {u.username for u in service.list_users(engine)}
    for username, org, role in DEMO_USERS:
        if username in existing:
            service.set_password(engine, username, password)
        else:
            service.add_user(engine, username, org, role, password)
    return list(DEMO_USERS), password


def _collections() -> list[tuple[str, str, str, list[str], list[str], Tlp, str]]:
    from telsec.demo.objects import DEMO_ORGANISATIONS

    uk_members = [
        "Ofcom",
        *(name for name, country in DEMO_ORGANISATIONS if country == "GB" and name != "Ofcom"),
    ]
    coalition = list(REGULATORS)
    return [
        (
            "coalition",
            "coalition-signalling",
            "Signalling threats: Global Title misuse",
            coalition,
            coalition,
            Tlp.AMBER,
            "SS7/Diameter findings shared by the five regulators",
        ),
        (
            "coalition",
            "coalition-radio",
            "SMS blasters and false base stations",
            coalition,
            coalition,
            Tlp.AMBER,
            "Fake base station alerts, tracks and locations",
        ),
        (
            "coalition",
            "coalition-fraud",
            "Fraud and smishing campaigns",
            coalition,
            coalition,
            Tlp.GREEN,
            "Smishing campaigns, senders, domains and URLs",
        ),
        (
            "uk",
            "uk-reports",
            "UK provider reports",
            uk_members,
            uk_members,
            Tlp.AMBER,
            "Reports from UK providers to Ofcom",
        ),
    ]


def load_demo(engine: Engine) -> DemoInfo:
    from telsec.demo.objects import DEMO_ORGANISATIONS, demo_objects

    prepare(engine)
    known = {o.name for o in service.list_organisations(engine)}
    for name, country in DEMO_ORGANISATIONS:
        if name not in known:
            service.add_organisation(engine, name, country)
    existing = {
        c.alias: c for c in service.list_collections(engine) if c.alias and not c.is_vocabulary
    }
    for root, alias, title, read, write, tlp, description in _collections():
        if alias not in existing:
            existing[alias] = service.add_collection(
                engine,
                root,
                title,
                read=read,
                write=write,
                default_tlp=tlp,
                description=description,
                alias=alias,
            )
    ensure_vocabulary(engine)
    orgs = {o.name: o for o in service.list_organisations(engine)}
    added = total = 0
    from telsec.demo import fraud, radio, signalling

    anchor = _anchor(engine)
    content = demo_objects(anchor)
    # the analysers' own output, as a provider or regulator would publish it
    sources = signalling.signalling_sources(anchor)
    alerts = radio.radio_alerts(anchor)
    campaigns = fraud.fraud_campaigns(anchor, alerts, sources)
    for module, objects in (
        (signalling, signalling.signalling_report(anchor, sources)),
        (radio, radio.radio_report(anchor, alerts)),
        (fraud, fraud.fraud_report(anchor, campaigns)),
    ):
        content.setdefault(module.COLLECTION, []).append((module.PRODUCER, objects))
    for alias, batches in content.items():
        info = existing[alias]
        scope = store.CollectionScope(info.pk, info.id, info.api_root, info.default_tlp, True, True)
        for producer, objects in batches:
            org = orgs[producer]
            principal = Principal(org.id, org.name, org.identity_id, "contributor", "system:demo")
            with write_transaction(engine) as conn:
                before = store.count_objects(conn, info.pk)
                store.ingest(conn, scope, principal, objects, validate)
                after = store.count_objects(conn, info.pk)
            added += after - before
    with write_transaction(engine) as conn:
        total = sum(store.count_objects(conn, c.pk) for c in existing.values())
    token, _ = service.issue_token(engine, DEMO_ORG, "contributor", label="demo")
    users, password = demo_users(engine)
    return DemoInfo(
        users=users,
        password=password,
        token=token,
        org=DEMO_ORG,
        role="contributor",
        collections=sorted(existing),
        objects_added=added,
        objects_total=total,
    )


def _anchor(engine: Engine) -> int:
    """The time the demo data is laid out from, fixed at the first load."""
    with write_transaction(engine) as conn:
        value = conn.execute(select(Setting.value).where(Setting.key == "demo_anchor_us")).scalar()
        if value is None:
            value = str(now_us())
            conn.execute(insert(Setting).values(key="demo_anchor_us", value=value))
    return int(value)
