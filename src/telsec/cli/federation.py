"""``telsec federation``: peers, and pulling their collections into this node."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from telsec.cli.output import OutputFormat, emit, err_console, handled, when

app = typer.Typer(help="Federation with other telsec nodes over TAXII 2.1.", no_args_is_help=True)
peer_app = typer.Typer(help="The peers this node pulls from and serves.", no_args_is_help=True)
app.add_typer(peer_app, name="peer")

FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table for people; json or jsonl")
]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="write to this file")]


def _engine() -> Any:
    """The node's engine, its schema brought up to date (as ``telsec serve`` does)."""
    from telsec.config import load_settings
    from telsec.exchange.bootstrap import prepare
    from telsec.storage.db import make_engine, ping

    engine = make_engine(load_settings())
    ping(engine)
    prepare(engine)
    return engine


@peer_app.command("add")
@handled
def peer_add(
    name: Annotated[str, typer.Argument(help="a short name for the peer node, e.g. fcc")],
    url: Annotated[str, typer.Argument(help="the peer's base URL, e.g. https://taxii.fcc.example")],
    into: Annotated[
        str,
        typer.Option(
            help="the local collection exchanged with the peer: what is pulled goes into it, "
            "and the peer may pull it (id or alias)"
        ),
    ],
    pull: Annotated[
        str,
        typer.Option(
            help="the peer's collections to pull (ids or aliases, comma-separated); "
            "none: the peer only pulls from this node"
        ),
    ] = "",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="TELSEC_PEER_TOKEN",
            help="the token the peer issued to this node (TELSEC_PEER_TOKEN); "
            "can be set later with `peer update`",
            show_default=False,
        ),
    ] = None,
    forward_amber: Annotated[
        bool,
        typer.Option(
            "--forward-amber",
            help="TLP:AMBER in the local collection may flow to this peer (CLEAR and GREEN "
            "always do; AMBER+STRICT and RED never)",
        ),
    ] = False,
    ca: Annotated[Path | None, typer.Option(help="CA certificate(s) to check the peer's")] = None,
    cert: Annotated[Path | None, typer.Option(help="this node's client certificate (mTLS)")] = None,
    key: Annotated[Path | None, typer.Option(help="the client certificate's key")] = None,
    country: Annotated[str | None, typer.Option(help="the peer's country (ISO 3166-1)")] = None,
) -> None:
    """Add a peer: pull its collections into a local one, and let it pull that one back.

    Prints the inbound token (once): give it to the peer's operator, who adds
    this node with it.
    """
    from telsec.federation.peers import Tls, add_peer

    collections = [c.strip() for c in pull.split(",") if c.strip()]
    info, inbound = add_peer(
        _engine(),
        name,
        url,
        token=token,
        pull=collections,
        into=into,
        forward_amber=forward_amber,
        tls=Tls(*(None if p is None else str(p) for p in (ca, cert, key))),
        country=country,
    )
    amber = "with" if forward_amber else "without"
    pulls = f"pulls {', '.join(collections)} into {into}" if collections else "pulls nothing"
    err_console.print(
        f"peer {escape(info.name)}: {escape(pulls)}; "
        f"may pull {escape(into)} from this node ({amber} AMBER)"
    )
    if collections and not token:
        err_console.print("no token to present to the peer yet: `telsec federation peer update`")
    err_console.print("Inbound token for the peer's operator (shown once):")
    typer.echo(inbound)


@peer_app.command("update")
@handled
def peer_update(
    name: Annotated[str, typer.Argument(help="the peer")],
    token: Annotated[
        str | None,
        typer.Option(envvar="TELSEC_PEER_TOKEN", help="new token to present", show_default=False),
    ] = None,
    url: Annotated[str | None, typer.Option(help="new base URL")] = None,
    forward_amber: Annotated[
        bool | None,
        typer.Option("--forward-amber/--no-forward-amber", help="AMBER may flow to the peer"),
    ] = None,
) -> None:
    """Change the token presented to a peer, its URL, or whether AMBER flows to it."""
    from telsec.federation.peers import update_peer

    update_peer(_engine(), name, token=token, url=url, forward_amber=forward_amber)
    err_console.print(f"peer {escape(name)} updated")


@peer_app.command("list")
@handled
def peer_list(fmt: FormatOpt = OutputFormat.table, out: OutOpt = None) -> None:
    """The peers, their feeds and how far each has got (tokens are never shown)."""
    from telsec.federation.peers import list_peers

    rows = []
    for peer in list_peers(_engine()):
        for feed in peer.feeds or ():
            rows.append(
                {
                    "peer": peer.name,
                    "url": peer.url,
                    "token": "set" if peer.has_token else "missing",
                    "mtls": "yes" if peer.tls.cert_file else "no",
                    "pull": feed.remote_collection,
                    "into": feed.local_alias or feed.local_collection,
                    "cursor": feed.cursor,
                    "last_success": when(feed.last_success_us),
                    "stored": feed.stored,
                    "duplicates": feed.duplicates,
                    "rejected": feed.rejected,
                    "last_error": feed.last_error,
                }
            )
    if not rows and fmt == OutputFormat.table:
        err_console.print("no peers (add one with `telsec federation peer add`)")
    emit(rows, fmt=fmt, out=out, title="peers")


@peer_app.command("remove")
@handled
def peer_remove(name: Annotated[str, typer.Argument(help="the peer")]) -> None:
    """Stop federating with a peer: its feeds and grants go, its tokens are revoked.

    What was pulled from it stays.
    """
    from telsec.federation.peers import remove_peer

    remove_peer(_engine(), name)
    err_console.print(f"peer {escape(name)} removed; its inbound tokens are revoked")


@app.command("sync")
@handled
def sync(
    peer: Annotated[str | None, typer.Option(help="only this peer")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="keep syncing until interrupted")] = False,
    interval: Annotated[float, typer.Option(help="seconds between rounds (--watch)")] = 1.0,
    page_size: Annotated[int, typer.Option(help="objects per page requested")] = 1000,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """Pull what is new from every peer (or one); exit 1 if a peer could not be synced."""
    from telsec.federation.sync import SyncLoop, sync_all, sync_peer

    engine = _engine()
    if watch:
        err_console.print("syncing every peer; Ctrl-C to stop")
        SyncLoop(engine, interval=interval, page_size=page_size).run()
        return
    if peer:
        outcomes = sync_peer(engine, peer, page_size=page_size)
    else:
        outcomes = sync_all(engine, page_size=page_size)
    emit([o.as_row() for o in outcomes], fmt=fmt, out=out, title="federation sync")
    for outcome in outcomes:
        for reason in outcome.reasons:
            err_console.print(f"{escape(outcome.peer)}: refused {escape(reason)}")
    if any(o.error for o in outcomes):
        raise typer.Exit(1)
