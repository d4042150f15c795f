"""``telsec``: serve the hub, administer members and collections, publish, pull, audit."""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.main
from rich.markup import escape
from typer.core import TyperGroup

from telsec import __version__
from telsec.cli.output import OutputFormat, emit, err_console, fail, handled, worker_processes
from telsec.cli.output import when as _when

# The capabilities' command groups, in the order ``telsec --help`` lists them
# after ``db``: each module's ``app`` is imported and turned into commands only
# when its name is on the command line (or for help), so that screening a
# capture does not pay for the radio, fraud and federation commands.
CAPABILITIES = {
    "signalling": "telsec.cli.signalling",
    "radio": "telsec.cli.radio",
    "fraud": "telsec.cli.fraud",
    "federation": "telsec.cli.federation",
}


class _Telsec(TyperGroup):
    """The ``telsec`` group, with the capabilities' groups loaded on demand."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = [n for n in super().list_commands(ctx) if n not in CAPABILITIES]
        at = names.index("db") + 1 if "db" in names else len(names)
        return [*names[:at], *CAPABILITIES, *names[at:]]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in CAPABILITIES and cmd_name not in self.commands:
            group = typer.main.get_group(importlib.import_module(CAPABILITIES[cmd_name]).app)
            group.name = cmd_name
            self.commands[cmd_name] = group
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and args[0] not in CAPABILITIES:
            for name in CAPABILITIES:  # among the names a mistyped one is matched with
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="telsec",
    cls=_Telsec,
    help="telsec: the telecoms security exchange (STIX 2.1 over TAXII 2.1, TLP 2.0 enforced).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
admin_app = typer.Typer(help="Members, tokens and collections.", no_args_is_help=True)
org_app = typer.Typer(help="Member organisations.", no_args_is_help=True)
user_app = typer.Typer(help="Users (console and HTTP Basic sign-in).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
collection_app = typer.Typer(help="API roots, collections and grants.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
admin_app.add_typer(org_app, name="org")
admin_app.add_typer(user_app, name="user")
admin_app.add_typer(token_app, name="token")
admin_app.add_typer(collection_app, name="collection")


FormatOpt = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="table for people; json or jsonl for machines"),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="write results to this file, not standard output")
]


def _engine() -> Any:
    from telsec.config import load_settings
    from telsec.storage.db import make_engine, ping

    engine = make_engine(load_settings())
    ping(engine)
    return engine


def _ready_engine() -> Any:
    """An engine on a database migrated to the newest schema."""
    from telsec.storage.db import current_revision

    engine = _engine()
    if current_revision(engine) is None:
        fail("the database has no schema yet: run `telsec db upgrade` first")
    return engine


def _tlp(value: str) -> Any:
    from telsec.stix.tlp import Tlp

    try:
        return Tlp.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"telsec {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="print the version and exit", is_eager=True, callback=_print_version
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="log more to standard error")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("telsec").setLevel(logging.DEBUG if verbose else logging.INFO)


# ---------------------------------------------------------------- database


@db_app.command("upgrade")
@handled
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision and publish the vocabulary."""
    from telsec.exchange.bootstrap import prepare
    from telsec.storage.db import current_revision

    engine = _engine()
    prepare(engine)
    err_console.print(f"database at revision {current_revision(engine)}")


# ------------------------------------------------------------------- admin


@org_app.command("add")
@handled
def org_add(
    name: Annotated[str, typer.Argument(help="organisation name, e.g. Ofcom")],
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2 country, e.g. GB")] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Add a member organisation."""
    from telsec.members.service import add_organisation

    org = add_organisation(_ready_engine(), name, country)
    emit([{"name": org.name, "country": org.country, "identity": org.identity_id}], fmt=fmt)


@org_app.command("list")
@handled
def org_list(fmt: FormatOpt = OutputFormat.table, out: OutOpt = None) -> None:
    """List member organisations."""
    from telsec.members.service import list_organisations

    rows = [
        {"name": o.name, "country": o.country, "identity": o.identity_id}
        for o in list_organisations(_ready_engine())
    ]
    emit(rows, columns=["name", "country", "identity"], fmt=fmt, out=out, title="Organisations")


@user_app.command("add")
@handled
def user_add(
    username: str,
    org: Annotated[str, typer.Option(help="the user's organisation")],
    role: Annotated[str, typer.Option(help="reader, contributor or admin")] = "reader",
    password: Annotated[
        str | None,
        typer.Option(help="password (else TELSEC_PASSWORD or a prompt); at least 12 characters"),
    ] = None,
) -> None:
    """Add a user who signs in with a password."""
    from telsec.members.service import ROLES, add_user

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    secret = password or os.environ.get("TELSEC_PASSWORD")
    if not secret:
        secret = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    add_user(_ready_engine(), username, org, role, secret)
    err_console.print(f"user {username} added to {org} as {role}")


@token_app.command("issue")
@handled
def token_issue(
    org: Annotated[str, typer.Option(help="the organisation the token acts for")],
    role: Annotated[
        str, typer.Option(help="reader, contributor or admin; peer for a peer node's organisation")
    ] = "reader",
    label: Annotated[str, typer.Option(help="what the token is for")] = "",
    expires_days: Annotated[float | None, typer.Option(help="expire after this many days")] = None,
    user: Annotated[str | None, typer.Option(help="tie the token to this user")] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Issue an API token.  It is printed once; only its hash is kept."""
    from telsec.members.service import PEER_ROLE, ROLES, issue_token

    if role not in (*ROLES, PEER_ROLE):
        raise typer.BadParameter(f"role must be one of {', '.join((*ROLES, PEER_ROLE))}")
    token, info = issue_token(
        _ready_engine(), org, role, label=label, expires_in_days=expires_days, username=user
    )
    if fmt == OutputFormat.table:
        err_console.print(
            f"token {info.token_id} for {info.org} ({info.role}); it will not be shown again:"
        )
        typer.echo(token)
    else:
        emit(
            [
                {
                    "token": token,
                    "token_id": info.token_id,
                    "org": info.org,
                    "role": info.role,
                    "expires": _when(info.expires_us) or None,
                }
            ],
            fmt=fmt,
        )


@token_app.command("revoke")
@handled
def token_revoke(token: Annotated[str, typer.Argument(help="the token id or the token")]) -> None:
    """Revoke a token at once."""
    from telsec.members.service import revoke_token

    token_id = revoke_token(_ready_engine(), token)
    err_console.print(f"token {token_id} revoked")


@token_app.command("list")
@handled
def token_list(fmt: FormatOpt = OutputFormat.table, out: OutOpt = None) -> None:
    """List tokens (ids and state only; secrets are never stored)."""
    from telsec.members.service import list_tokens

    rows = [
        {
            "token_id": t.token_id,
            "org": t.org,
            "role": t.role,
            "label": t.label,
            "created": _when(t.created_us),
            "expires": _when(t.expires_us),
            "revoked": _when(t.revoked_us),
        }
        for t in list_tokens(_ready_engine())
    ]
    emit(
        rows,
        fmt=fmt,
        out=out,
        title="API tokens",
        columns=["token_id", "org", "role", "label", "created", "expires", "revoked"],
    )


@collection_app.command("add")
@handled
def collection_add(
    root: Annotated[str, typer.Option(help="API root (trust group); created if new")],
    title: Annotated[str, typer.Option(help="collection title")],
    read: Annotated[str, typer.Option(help="organisations that may read, comma-separated")] = "",
    write: Annotated[str, typer.Option(help="organisations that may write, comma-separated")] = "",
    default_tlp: Annotated[
        str,
        typer.Option(help="TLP for objects that carry none: clear|green|amber|amber+strict|red"),
    ] = "amber",
    description: Annotated[str, typer.Option(help="what the collection holds")] = "",
    alias: Annotated[str | None, typer.Option(help="a short name for the collection")] = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Add a collection to an API root, with read and write grants."""
    from telsec.exchange.bootstrap import ensure_vocabulary
    from telsec.members.service import add_collection

    level = _tlp(default_tlp)
    engine = _ready_engine()
    info = add_collection(
        engine,
        root,
        title,
        read=_names(read),
        write=_names(write),
        default_tlp=level,
        description=description,
        alias=alias,
    )
    ensure_vocabulary(engine)
    emit([_collection_row(info)], fmt=fmt)


def _collection_row(info: Any) -> dict[str, Any]:
    return {
        "id": info.id,
        "root": info.api_root,
        "title": info.title,
        "alias": info.alias,
        "default_tlp": info.default_tlp.display,
        "read": list(info.readers) if not info.is_vocabulary else ["(all members of the root)"],
        "write": list(info.writers),
    }


@collection_app.command("list")
@handled
def collection_list(
    root: Annotated[str | None, typer.Option(help="only this API root")] = None,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """List collections and who may read and write them."""
    from telsec.members.service import list_collections

    rows = [_collection_row(c) for c in list_collections(_ready_engine(), root)]
    emit(rows, fmt=fmt, out=out, title="Collections")


@collection_app.command("grant")
@handled
def collection_grant(
    collection: Annotated[str, typer.Argument(help="collection id or alias")],
    org: Annotated[str, typer.Option(help="organisation")],
    read: Annotated[bool, typer.Option("--read/--no-read")] = True,
    write: Annotated[bool, typer.Option("--write/--no-write")] = False,
) -> None:
    """Set an organisation's read and write rights on a collection."""
    from telsec.members.service import set_grant

    set_grant(_ready_engine(), collection, org, read=read, write=write)
    err_console.print(f"{org}: read={read} write={write} on {collection}")


# ------------------------------------------------------------------- serve


PortOpt = Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")]


def _check_listen(host: str, port: int) -> None:
    """Fail now, in one line, if the hub could not listen on ``host``:``port``
    (another process holds the port, or the address is not this machine's)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", 2)
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1)


@app.command()
@handled
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: PortOpt = 8000,
    workers: Annotated[
        int,
        typer.Option(min=1, help="worker processes (connections go to the least loaded)"),
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    sync: Annotated[
        bool, typer.Option("--sync/--no-sync", help="pull from the federation peers meanwhile")
    ] = True,
    sync_interval: Annotated[float, typer.Option(help="seconds between federation rounds")] = 1.0,
    tls_cert: Annotated[Path | None, typer.Option(help="serve HTTPS with this certificate")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="the certificate's private key")] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(help="require client certificates signed by this CA (mutual TLS)"),
    ] = None,
) -> None:
    """Run the hub: the web console at /, TAXII 2.1 at /taxii2/, and the federation sync loop."""
    import ssl

    import uvicorn

    from telsec.exchange.bootstrap import prepare
    from telsec.federation.peers import list_peers
    from telsec.federation.sync import SyncLoop

    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert and --tls-key go together", 2)
    if tls_client_ca is not None and tls_cert is None:
        fail("--tls-client-ca needs --tls-cert and --tls-key", 2)
    _check_listen(host, port)
    engine = _engine()
    prepare(engine)
    scheme = "https" if tls_cert else "http"
    err_console.print(
        f"telsec {__version__}: console at {scheme}://{host}:{port}/, "
        f"TAXII 2.1 discovery at {scheme}://{host}:{port}/taxii2/"
    )
    loop = None
    if sync:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
        loop = SyncLoop(engine, interval=sync_interval)
        loop.start()
        peers = len(list_peers(engine))
        err_console.print(f"federation: {peers} peer(s), syncing every {sync_interval:g} s")
    tls: dict[str, Any] = {}
    if tls_cert is not None:
        os.environ["TELSEC_SECURE_COOKIES"] = "1"  # console cookies only over HTTPS
        tls = {"ssl_certfile": str(tls_cert), "ssl_keyfile": str(tls_key)}
        if tls_client_ca is not None:
            tls.update(ssl_ca_certs=str(tls_client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
    options: dict[str, Any] = {"log_level": log_level, "access_log": log_level == "debug", **tls}
    application = "telsec.exchange.taxii:app_from_environment"
    workers = worker_processes(workers)
    try:
        if workers > 1:
            from telsec.exchange.workers import WorkerError, run_workers

            try:
                run_workers(application, host, port, workers, options)
            except WorkerError as exc:
                fail(str(exc), 1)
        else:
            uvicorn.run(application, factory=True, host=host, port=port, **options)
    finally:
        if loop is not None:
            loop.stop()


@app.command()
@handled
def demo(
    serve_hub: Annotated[
        bool, typer.Option("--serve/--no-serve", help="start the hub afterwards")
    ] = False,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: PortOpt = 8000,
) -> None:
    """Load the demo data set (coalition and UK roots, realistic threat data) and print a token."""
    from telsec.demo import load_demo

    if serve_hub:
        _check_listen(host, port)  # before the demo data, not after
    engine = _engine()
    info = load_demo(engine)
    err_console.print(
        f"demo data: {info.objects_added} objects added "
        f"({info.objects_total} in {len(info.collections)} collections)"
    )
    typer.echo(f"Console: http://{host}:{port}/   sign in as one of:")
    for username, org, role in info.users:
        typer.echo(f"         {username:<7} ({org}, {role})   password {info.password}")
    typer.echo(f"URL:   http://{host}:{port}/taxii2/")
    typer.echo(f"Token: {info.token}   (organisation {info.org}, role {info.role})")
    typer.echo(f"Try:   curl -H 'Authorization: Bearer {info.token}' http://{host}:{port}/taxii2/")
    if serve_hub:
        serve(host=host, port=port, workers=1, log_level="info")


# ------------------------------------------------------- publish and pull


UrlOpt = Annotated[
    str,
    typer.Option(envvar="TELSEC_URL", help="the hub's base URL (TELSEC_URL)"),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(envvar="TELSEC_TOKEN", help="API token (TELSEC_TOKEN)", show_default=False),
]


@app.command()
@handled
def publish(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="STIX bundle, envelope, JSON array or JSON Lines"
        ),
    ],
    collection: Annotated[str, typer.Option(help="collection id or alias")],
    root: Annotated[str | None, typer.Option(help="API root (else found by discovery)")] = None,
    url: UrlOpt = "http://127.0.0.1:8000",
    token: TokenOpt = None,
    batch: Annotated[int, typer.Option(min=1, max=10000, help="objects per envelope")] = 1000,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Publish STIX objects from a file to a collection over TAXII."""
    from rich.progress import Progress

    from telsec.exchange.client import TaxiiClient, read_stix_file

    data = read_stix_file(file)
    for problem in data.bad_records[:20]:
        err_console.print(f"[yellow]skipped[/] {escape(str(problem))}")
    if len(data.bad_records) > 20:
        err_console.print(f"[yellow]skipped[/] {len(data.bad_records) - 20:,} more")
    if not data.objects:
        unreadable = f" ({len(data.bad_records):,} unreadable)" if data.bad_records else ""
        fail(f"{file}: no STIX objects to publish{unreadable}", 2)
    stored = rejected = 0
    failures: list[dict[str, Any]] = []
    with TaxiiClient(url, token) as client:
        target = client.find_collection(collection, root)
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("publishing", total=len(data.objects))
            for start in range(0, len(data.objects), batch):
                chunk = data.objects[start : start + batch]
                status = client.post(target, chunk)
                stored += int(status.get("success_count", 0))
                rejected += int(status.get("failure_count", 0))
                failures.extend(status.get("failures", []))
                progress.advance(task, len(chunk))
    summary = {
        "file": str(file),
        "collection": collection,
        "read": len(data.objects) + len(data.bad_records),
        "unreadable": len(data.bad_records),
        "stored": stored,
        "rejected": rejected,
    }
    emit([summary], fmt=fmt)
    if failures and fmt == OutputFormat.table:
        emit(
            [{"id": f.get("id"), "reason": f.get("message")} for f in failures[:50]],
            fmt=fmt,
            title="Rejected objects",
        )


@app.command()
@handled
def pull(
    collection: Annotated[str, typer.Option(help="collection id or alias")],
    root: Annotated[str | None, typer.Option(help="API root (else found by discovery)")] = None,
    url: UrlOpt = "http://127.0.0.1:8000",
    token: TokenOpt = None,
    added_after: Annotated[
        str | None, typer.Option(help="only objects added after this timestamp")
    ] = None,
    type_: Annotated[
        str | None, typer.Option("--type", help="only these STIX types, comma-separated")
    ] = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="jsonl (default), json (a bundle) or table"),
    ] = OutputFormat.jsonl,
    out: OutOpt = None,
) -> None:
    """Fetch a collection's objects over TAXII."""
    from telsec.exchange.client import TaxiiClient

    params: dict[str, str] = {}
    if added_after:
        params["added_after"] = added_after
    if type_:
        params["match[type]"] = type_
    objects: list[dict[str, Any]] = []
    with TaxiiClient(url, token) as client:
        target = client.find_collection(collection, root)
        for page in client.pages(target, params):
            objects.extend(page)
    err_console.print(f"{len(objects)} objects")
    if fmt == OutputFormat.table:
        rows = [
            {
                "type": o.get("type"),
                "id": o.get("id"),
                "name": o.get("name") or o.get("value"),
                "modified": o.get("modified"),
            }
            for o in objects
        ]
        emit(rows, fmt=fmt, out=out)
    elif fmt == OutputFormat.json:
        import uuid

        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
        import orjson

        text = orjson.dumps(bundle, option=orjson.OPT_INDENT_2).decode() + "\n"
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    else:
        emit(objects, fmt=fmt, out=out)


# ------------------------------------------------------------------- audit


@app.command()
@handled
def audit(
    since: Annotated[
        str | None, typer.Option(help="entries at or after this time (ISO 8601)")
    ] = None,
    org: Annotated[str | None, typer.Option(help="only this organisation")] = None,
    action: Annotated[str | None, typer.Option(help="read, write or delete")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="at most this many entries")] = None,
    verify: Annotated[bool, typer.Option(help="check the hash chain and report")] = False,
    fmt: FormatOpt = OutputFormat.table,
    out: OutOpt = None,
) -> None:
    """Show the append-only audit log of AMBER, AMBER+STRICT and RED access."""
    from telsec.members import audit as audit_log
    from telsec.members.service import find_organisation, list_organisations

    engine = _ready_engine()
    if verify:
        checked, broken = audit_log.verify_chain(engine)
        if broken is not None:
            fail(f"audit chain broken at entry {broken} ({checked} entries checked)")
        err_console.print(f"audit chain intact: {checked} entries")
    since_us = None
    if since:
        try:
            parsed = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter(f"--since {since!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        since_us = int(parsed.timestamp() * 1e6)
    org_id = find_organisation(engine, org).id if org else None
    names = {o.id: o.name for o in list_organisations(engine)}
    rows = [
        {
            "id": e.id,
            "time": _when(e.at_us),
            "org": names.get(e.org_id or -1, ""),
            "actor": e.actor,
            "action": e.action,
            "root": e.api_root,
            "collection": e.collection_id,
            "tlp": e.tlp.display if e.tlp is not None else "",
            "count": len(e.objects),
            "objects": [f"{i}@{v}" for i, v in e.objects]
            if fmt != OutputFormat.table
            else [i for i, _ in e.objects[:3]] + (["..."] if len(e.objects) > 3 else []),
        }
        for e in audit_log.entries(
            engine, since_us=since_us, org_id=org_id, action=action, limit=limit
        )
    ]
    emit(rows, fmt=fmt, out=out, title="Audit log")


def run() -> None:
    """The ``telsec`` command: a bug is reported in one line, not as a stack trace
    (``TELSEC_DEBUG=1`` shows the trace), and so is an operating-system error the
    user can act on (an output directory that does not exist, a full disk)."""
    try:
        app()
    except SystemExit as done:  # how every command ends (click's standalone mode)
        leave(done.code)
    except OSError as exc:  # a file, a disk, a connection: the machine's answer, not a bug
        if os.environ.get("TELSEC_DEBUG"):
            raise
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("TELSEC_DEBUG"):
            raise
        err_console.print(
            f"[bold red]internal error:[/] {exc.__class__.__name__}: {escape(str(exc))[:500]}\n"
            "This is a bug in telsec; run again with TELSEC_DEBUG=1 for the details."
        )
        sys.exit(1)


def leave(code: str | int | None) -> NoReturn:
    """Exit with ``code`` (as ``sys.exit`` takes it) without tearing the interpreter
    down: freeing every module and object a command leaves behind takes tens of
    milliseconds (55 ms after a scan of a million messages) and nobody needs it, so
    the exit handlers run (temporary files, worker processes, logging), the streams
    are flushed and the process ends, as mypy's ``hard_exit`` does.  Where another
    thread still runs, Python's own exit waits for it as usual."""
    if threading.active_count() > 1 or os.environ.get("TELSEC_DEBUG"):
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # a message, as sys.exit("...") prints it
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`), a closed stream
            pass
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    run()
