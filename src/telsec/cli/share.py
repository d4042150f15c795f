"""Sharing an analyser's STIX output: the options every ``scan`` takes, and posting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape

from telsec.cli.output import err_console, fail

PublishOpt = Annotated[
    str | None,
    typer.Option(
        metavar="COLLECTION", help="post the STIX report to this collection (id or alias)"
    ),
]
TlpOpt = Annotated[
    str | None,
    typer.Option(help="TLP of what you share: clear|green|amber|amber+strict|red"),
]
BundleOpt = Annotated[Path | None, typer.Option(help="also write the STIX bundle to this file")]
ProducerOpt = Annotated[
    str | None,
    typer.Option(envvar="TELSEC_ORG", help="your organisation: stable indicator ids (TELSEC_ORG)"),
]
UrlOpt = Annotated[str, typer.Option(envvar="TELSEC_URL", help="hub URL (TELSEC_URL)")]
TokenOpt = Annotated[
    str | None,
    typer.Option(envvar="TELSEC_TOKEN", help="API token (TELSEC_TOKEN)", show_default=False),
]


def share_level(publish: str | None, bundle: Path | None, tlp: str | None) -> Any:
    """The TLP to mark shared objects with, or None when nothing is shared (exit 2 if
    something is to be shared without a TLP: there is no safe default)."""
    from telsec.stix.tlp import Tlp

    if not (publish or bundle):
        return None
    if not tlp:
        fail("--publish and --bundle need --tlp (the marking of what you share)", 2)
    try:
        return Tlp.parse(tlp or "")
    except ValueError as exc:
        fail(str(exc), 2)
        raise


def share(
    stix: dict[str, Any], publish: str | None, bundle: Path | None, url: str, token: str | None
) -> None:
    if bundle:
        bundle.write_bytes(orjson.dumps(stix, option=orjson.OPT_INDENT_2))
        err_console.print(f"STIX bundle: {len(stix['objects'])} objects in {escape(str(bundle))}")
    if publish:
        publish_objects(stix["objects"], publish, url, token)


def publish_objects(
    objects: list[dict[str, Any]], collection: str, url: str, token: str | None
) -> None:
    from telsec.exchange.client import ClientError, TaxiiClient

    if not objects:
        err_console.print("nothing to publish: no source was flagged")
        return
    stored = rejected = 0
    try:
        with TaxiiClient(url, token) as client:
            target = client.find_collection(collection, None)
            for start in range(0, len(objects), 1000):
                status = client.post(target, objects[start : start + 1000])
                stored += int(status.get("success_count", 0))
                rejected += int(status.get("failure_count", 0))
                for failure in status.get("failures", [])[:10]:
                    err_console.print(
                        f"[yellow]rejected[/] {escape(str(failure.get('id')))}: "
                        f"{escape(str(failure.get('message')))}"
                    )
    except ClientError as exc:
        fail(f"publishing to {url}: {exc}")
    err_console.print(f"published to {escape(collection)}: {stored} stored, {rejected} rejected")
    if rejected:
        raise typer.Exit(1)
