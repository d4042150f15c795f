"""The console's routes: sign-in, dashboard, search, object pages, Global Title
lookup, the SMS blaster map, campaigns, upload and publish, and administration.

Handlers are thin: they check the session (and the CSRF token on every POST),
call :mod:`telsec.exchange.browse` / :mod:`telsec.exchange.profiles` or the
members and federation services, audit what they show at AMBER and above, and
render a template.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile
from starlette.middleware.gzip import GZipMiddleware

from telsec.config import Settings
from telsec.console import charts
from telsec.console.jobs import (
    KINDS,
    MAX_BYTES,
    AlreadyPublishing,
    Jobs,
    UploadError,
    mark,
    spool,
)
from telsec.console.jobs import Settings as JobSettings
from telsec.console.sessions import COOKIE, LIFETIME_US, Sessions, SignedIn
from telsec.exchange import access, browse, profiles, store
from telsec.members import audit, service
from telsec.members.auth import Principal
from telsec.stix.timestamps import parse_timestamp, readable
from telsec.stix.tlp import Tlp
from telsec.storage.db import read_transaction, write_transaction

HERE = Path(__file__).parent
TLP_CLASS = {
    Tlp.CLEAR: "tlp-clear",
    Tlp.GREEN: "tlp-green",
    Tlp.AMBER: "tlp-amber",
    Tlp.AMBER_STRICT: "tlp-amber-strict",
    Tlp.RED: "tlp-red",
}
PRE_COOKIE = "telsec_login"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class Redirect(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class Refused(Exception):
    """A page answer other than 200, rendered as an error page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _when(us: int | None) -> str:
    return f"{readable(us)} UTC" if us is not None else ""


def _day(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%d %b")


def _stamp(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return _when(parse_timestamp(value))
    except ValueError:
        return value


def _tlp_badge(level: Tlp) -> Markup:
    return Markup('<span class="tlp {}">{}</span>').format(TLP_CLASS[level], level.display)


def _object_url(stix_id: str) -> str:
    return "/objects/" + quote(stix_id, safe="")


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc or "\\" in target else target


#: the first path segments the console answers (API roots may not take these names)
SECTIONS = service.RESERVED_ROOT_NAMES - {"taxii2", "docs", "openapi.json"}


def owns(path: str) -> bool:
    """True for a console path (its errors are pages); anything else is the TAXII API's."""
    return path == "/" or path.split("/", 2)[1] in SECTIONS


class Console:
    """What the handlers share."""

    def __init__(self, app: FastAPI, node: Any, settings: Settings) -> None:
        self.node = node
        self.engine = node.engine
        self.sessions = Sessions(self.engine, node.signer.derive("console-csrf"))
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        env = self.templates.env
        env.globals.update(
            tlp_badge=_tlp_badge,
            when=_when,
            stamp=_stamp,
            object_url=_object_url,
            tlp_levels=list(Tlp),
            kinds=KINDS,
        )
        env.filters["json"] = lambda v: orjson.dumps(v, option=orjson.OPT_INDENT_2).decode()
        policy = os.environ.get("TELSEC_SIGNALLING_POLICY")
        inventory = os.environ.get("TELSEC_CELL_INVENTORY")
        self.jobs = Jobs(
            JobSettings(
                signalling_policy=Path(policy) if policy else None,
                cell_inventory=Path(inventory) if inventory else None,
                data_dir=settings.data_dir,
            )
        )
        self.secure_cookies = os.environ.get("TELSEC_SECURE_COOKIES") == "1"

    # ------------------------------------------------------------ helpers

    def signed_in(self, request: Request) -> SignedIn | None:
        return self.sessions.check(request.cookies.get(COOKIE))

    def require(self, request: Request, *, admin: bool = False) -> SignedIn:
        who = self.signed_in(request)
        if who is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise Redirect("/login?next=" + quote(target, safe=""))
        if admin and not who.principal.is_admin:
            raise Refused(403, "only a node administrator may see this page")
        return who

    async def form(self, request: Request, who: SignedIn) -> FormData:
        """The posted form, once its CSRF token is checked."""
        form = await request.form(max_files=2, max_fields=100, max_part_size=MAX_BYTES)
        token = form.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(token, who.csrf):
            raise Refused(403, "the form was out of date or not sent by this console; reload it")
        return form

    def page(
        self,
        request: Request,
        template: str,
        who: SignedIn | None,
        status: int = 200,
        **context: Any,
    ) -> Response:
        context.update(request=request, who=who, path=request.url.path)
        response = self.templates.TemplateResponse(request, template, context, status_code=status)
        response.headers.update(SECURITY_HEADERS)
        return response

    def error_page(self, request: Request, status: int, message: str) -> Response:
        titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 413: "Too large"}
        return self.page(
            request,
            "error.html",
            self.signed_in(request),
            status=status,
            title=titles.get(status, "Error" if status >= 500 else "Bad request"),
            message=message,
        )

    def audited(self, who: SignedIn, rows: Iterable[browse.ObjectRow], detail: str) -> None:
        rows = [r for r in rows if r.tlp >= store.AUDITED]
        if rows:
            with write_transaction(self.engine) as conn:
                browse.audit_rows(conn, who.principal, rows, detail)


def mount(app: FastAPI, node: Any, settings: Settings) -> None:
    """Add the console to the node's application."""
    console = Console(app, node, settings)
    app.state.console = console
    app.state.html_errors = console.error_page
    app.state.html_paths = owns
    app.mount(
        "/static",
        GZipMiddleware(StaticFiles(directory=str(HERE / "static")), minimum_size=1000),
        name="static",
    )

    @app.exception_handler(Redirect)
    async def _redirect(_request: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return console.error_page(request, exc.status, exc.message)

    _sign_in_routes(app, console)
    _reading_routes(app, console)
    _upload_routes(app, console)
    _admin_routes(app, console)


# ------------------------------------------------------------- sign in


def _sign_in_routes(app: FastAPI, console: Console) -> None:
    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> Response:
        nonce = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
        response = console.page(
            request, "login.html", None, next=_safe_next(next), nonce=nonce, failed=False
        )
        response.set_cookie(
            PRE_COOKIE, nonce, httponly=True, samesite="strict", secure=console.secure_cookies
        )
        return response

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        nonce = request.cookies.get(PRE_COOKIE)
        sent = form.get("nonce")
        target = _safe_next(str(form.get("next") or "/"))
        if not nonce or not isinstance(sent, str) or not hmac.compare_digest(sent, nonce):
            raise Refused(403, "the sign-in form was out of date; reload it and try again")
        username = str(form.get("username") or "")[:200]
        password = str(form.get("password") or "")[:1000]
        principal = console.node.authenticator.from_password(username, password)
        if principal is None or principal.is_peer:
            response = console.page(
                request, "login.html", None, status=401, next=target, nonce=nonce, failed=True
            )
            return response
        secret = console.sessions.start(username)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            secret,
            max_age=LIFETIME_US // 1_000_000,
            httponly=True,
            samesite="strict",
            secure=console.secure_cookies,
        )
        response.delete_cookie(PRE_COOKIE)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        who = console.require(request)
        await console.form(request, who)
        secret = request.cookies.get(COOKIE)
        if secret:
            console.sessions.end(secret)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response


# ------------------------------------------------------------ reading


def _threat_series() -> list[str]:
    return list(profiles.THREATS)


def _parse_day(text: str, field: str) -> int | None:
    if not text:
        return None
    try:
        return int(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1e6)
    except ValueError:
        raise Refused(400, f"{field} must be a date written YYYY-MM-DD") from None


def _reading_routes(app: FastAPI, console: Console) -> None:
    @app.get("/", include_in_schema=False)
    def dashboard(request: Request, days: int = 7) -> Response:
        who = console.require(request)
        if days not in (1, 7, 30):
            days = 7
        with read_transaction(console.engine) as conn:
            seen = profiles.activity(conn, who.principal, days)
            names = browse.organisation_names(conn)
        series = _threat_series()
        columns: list[tuple[str, dict[str, int]]] = []
        grouped = profiles.by_day(seen.by_day)
        start = seen.since_us
        for i in range(days):
            day = start + i * profiles.DAY_US
            columns.append((_day(day + profiles.DAY_US - 1), grouped.get(day, {})))
        if days == 1:
            columns = [("last 24 h", grouped.get(start, {}))]
        chart = charts.stacked_bars(
            f"threat objects received per day, last {days} days", columns, series
        )
        tlp_chart = charts.bars(
            "by TLP",
            [(t.display, seen.by_tlp.get(t, 0), TLP_CLASS[t]) for t in Tlp],
        )
        producers = seen.by_producer.most_common(8)
        producer_chart = charts.bars(
            "by producing organisation", [(name, n, "s0") for name, n in producers]
        )
        threat_chart = charts.bars(
            "by threat",
            [(t, seen.by_threat.get(t, 0), charts.SERIES_CLASSES[i]) for i, t in enumerate(series)],
        )
        console.audited(who, seen.high, "console dashboard")
        return console.page(
            request,
            "dashboard.html",
            who,
            days=days,
            seen=seen,
            names=names,
            chart=chart,
            tlp_chart=tlp_chart,
            producer_chart=producer_chart,
            threat_chart=threat_chart,
        )

    @app.get("/objects", include_in_schema=False)
    def search_page(
        request: Request,
        q: str = "",
        type: str = "",
        tlp: str = "",
        label: str = "",
        producer: str = "",
        collection: str = "",
        since: str = "",
        until: str = "",
        before: int | None = None,
    ) -> Response:
        who = console.require(request)
        if len(q) > 200 or len(label) > 100 or len(type) > 250 or len(producer) > 200:
            raise Refused(400, "a search term is too long")
        levels: tuple[Tlp, ...] = ()
        if tlp:
            try:
                levels = (Tlp.parse(tlp),)
            except ValueError as exc:
                raise Refused(400, str(exc)) from None
        until_us = _parse_day(until, "until")
        query = browse.SearchQuery(
            text=q,
            types=(type,) if type else (),
            tlps=levels,
            label=label,
            producer=producer,
            collection=collection,
            since_us=_parse_day(since, "since"),
            until_us=until_us + profiles.DAY_US if until_us is not None else None,
            before_us=before,
            limit=50,
        )
        with read_transaction(console.engine) as conn:
            result = browse.search(conn, who.principal, query)
            names = browse.organisation_names(conn)
            collections = [c for c in browse.readable(conn, who.principal) if not c.is_vocabulary]
            organisations = sorted(o for o in names.values())
        console.audited(who, result.rows, "console search")
        params = dict(request.query_params)
        params.pop("before", None)
        next_url = None
        if result.next_before_us is not None:
            params["before"] = str(result.next_before_us)
            next_url = "/objects?" + "&".join(f"{k}={quote(v)}" for k, v in params.items())
        return console.page(
            request,
            "search.html",
            who,
            result=result,
            names=names,
            collections=collections,
            organisations=organisations,
            types=sorted(profiles.COUNTED | {"relationship", "location", "identity"}),
            form={
                "q": q, "type": type, "tlp": tlp, "label": label, "producer": producer,
                "collection": collection, "since": since, "until": until,
            },
            next_url=next_url,
        )  # fmt: skip

    @app.get("/objects/{stix_id}", include_in_schema=False)
    def object_page(request: Request, stix_id: str) -> Response:
        who = console.require(request)
        if len(stix_id) > 300:
            raise Refused(404, "no such object")
        with read_transaction(console.engine) as conn:
            versions = browse.versions(conn, who.principal, stix_id)
            if not versions:
                raise Refused(404, "no such object, or not one you may see")
            current = versions[0]
            hood = browse.neighbourhood(conn, who.principal, current)
            names = browse.organisation_names(conn)
            identities = browse.identity_names(conn)
        console.audited(
            who, [*versions, *hood.nodes.values(), *hood.relationships], "console object page"
        )
        nodes = [
            charts.GraphNode(n.stix_id, n.name, n.stix_type, TLP_CLASS[n.tlp])
            for n in hood.nodes.values()
            if n.stix_id != current.stix_id
        ]
        graph = charts.radial_graph(
            charts.GraphNode(
                current.stix_id, current.name, current.stix_type, TLP_CLASS[current.tlp]
            ),
            nodes,
            [(e.source, e.target, e.label) for e in hood.edges],
        )
        return console.page(
            request,
            "object.html",
            who,
            obj=current,
            versions=versions,
            hood=hood,
            graph=graph,
            names=names,
            identities=identities,
            body=orjson.dumps(current.body, option=orjson.OPT_INDENT_2).decode(),
        )

    @app.get("/global-titles", include_in_schema=False)
    def global_title_page(request: Request, gt: str = "") -> Response:
        who = console.require(request)
        profile = None
        problem = None
        if gt:
            digits = browse.normalise_digits(gt[:40])
            if digits is None:
                problem = "a Global Title is 1 to 15 digits (spaces, + and 00 are allowed)"
            else:
                with read_transaction(console.engine) as conn:
                    profile = profiles.global_title_profile(conn, who.principal, digits)
                console.audited(
                    who,
                    [
                        *profile.observables,
                        *(row for row, _ in profile.indicators),
                        *profile.sightings,
                        *profile.related,
                    ],
                    "console Global Title lookup",
                )
        return console.page(
            request,
            "global_title.html",
            who,
            gt=gt,
            profile=profile,
            problem=problem,
            status=400 if problem else 200,
        )

    @app.get("/map", include_in_schema=False)
    def map_page(request: Request) -> Response:
        who = console.require(request)
        with read_transaction(console.engine) as conn:
            tracks = profiles.blaster_tracks(conn, who.principal)
        console.audited(
            who,
            [row for t in tracks for row in (t.indicator, *(p.sighting for p in t.points))],
            "console map",
        )
        return console.page(request, "map.html", who, tracks=tracks, geojson=_geojson(tracks))

    @app.get("/map/tracks.geojson", include_in_schema=False)
    def map_data(request: Request) -> Response:
        who = console.signed_in(request)
        if who is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        with read_transaction(console.engine) as conn:
            tracks = profiles.blaster_tracks(conn, who.principal)
        console.audited(
            who,
            [row for t in tracks for row in (t.indicator, *(p.sighting for p in t.points))],
            "console map data",
        )
        return JSONResponse(_geojson(tracks), headers={"Cache-Control": "no-store"})

    @app.get("/campaigns", include_in_schema=False)
    def campaigns_page(request: Request) -> Response:
        who = console.require(request)
        with read_transaction(console.engine) as conn:
            found = profiles.campaign_profiles(conn, who.principal)
        console.audited(who, [p.campaign for p in found], "console campaigns")
        return console.page(request, "campaigns.html", who, campaigns=found, volume=_volume_chart)

    @app.get("/campaigns/{stix_id}", include_in_schema=False)
    def campaign_page(request: Request, stix_id: str) -> Response:
        who = console.require(request)
        with read_transaction(console.engine) as conn:
            found = profiles.campaign_profiles(conn, who.principal, campaign_id=stix_id[:300])
        if not found:
            raise Refused(404, "no such campaign, or not one you may see")
        profile = found[0]
        console.audited(
            who, [profile.campaign, *profile.blasters, *profile.global_titles], "console campaign"
        )
        return console.page(
            request, "campaign.html", who, p=profile, chart=_volume_chart(profile, wide=True)
        )


def _volume_chart(profile: profiles.CampaignProfile, wide: bool = False) -> Markup:
    columns = [(_day(day), {"messages": n}) for day, n in profile.volume.items()]
    return charts.stacked_bars(
        f"messages sighted per day: {profile.campaign.name}",
        columns,
        ["messages"],
        width=640 if wide else 320,
        height=180 if wide else 110,
    )


def _geojson(tracks: list[profiles.BlasterTrack]) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for track in tracks:
        if not track.points:
            continue
        meta = {
            "indicator": track.indicator.stix_id,
            "name": track.indicator.name,
            "tlp": track.tlp.display,
            "tlp_class": TLP_CLASS[track.tlp],
            "url": _object_url(track.indicator.stix_id),
        }
        if len(track.points) > 1:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[p.longitude, p.latitude] for p in track.points],
                    },
                    "properties": {
                        **meta,
                        "kind": "track",
                        "first_seen": track.points[0].first_seen_us,
                        "last_seen": track.points[-1].last_seen_us,
                    },
                }
            )
        for point in track.points:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [point.longitude, point.latitude]},
                    "properties": {
                        **meta,
                        "kind": "sighting",
                        "place": point.place,
                        "precision_m": point.precision_m,
                        "count": point.count,
                        "first_seen": point.first_seen_us,
                        "last_seen": point.last_seen_us,
                        "sighting_tlp": point.sighting.tlp.display,
                        "sighting_tlp_class": TLP_CLASS[point.sighting.tlp],
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}


# -------------------------------------------------------------- upload


def _writable(conn: Any, principal: Principal) -> list[access.VisibleCollection]:
    return [
        c
        for root in access.visible_roots(conn, principal)
        for c in access.visible_collections(conn, root, principal)
        if c.scope.can_write and not c.is_vocabulary
    ]


async def _save(upload: UploadFile, folder: Path, name: str) -> Path:
    target = folder / name
    written = 0
    with target.open("wb") as handle:
        while chunk := await upload.read(1 << 20):
            written += len(chunk)
            if written > MAX_BYTES:
                raise Refused(413, f"uploads are limited to {MAX_BYTES // (1 << 20)} MiB")
            handle.write(chunk)
    return target


def _upload_routes(app: FastAPI, console: Console) -> None:
    @app.get("/upload", include_in_schema=False)
    def upload_form(request: Request) -> Response:
        who = console.require(request)
        return console.page(
            request, "upload.html", who, jobs=console.jobs.mine(who.username), problem=None
        )

    @app.post("/upload", include_in_schema=False)
    async def upload(request: Request) -> Response:
        who = console.require(request)
        if not who.principal.can_write:
            raise Refused(403, "your role may not publish; ask for the contributor role")
        form = await console.form(request, who)
        upload = form.get("file")
        helper = form.get("helper")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Refused(400, "choose a file to upload")
        folder = spool()
        try:
            path = await _save(upload, folder, "upload")
            helper_path = None
            if isinstance(helper, UploadFile) and helper.filename:
                suffix = Path(helper.filename).suffix.lower()[:10]
                helper_path = await _save(helper, folder, "helper" + suffix)
            job = console.jobs.submit(
                who.username, who.principal.org_name, upload.filename[:200], path, helper_path
            )
        except UploadError as exc:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            return console.page(
                request, "upload.html", who, status=400,
                jobs=console.jobs.mine(who.username), problem=str(exc),
            )  # fmt: skip
        except BaseException:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            raise
        if request.headers.get("accept", "").startswith("application/json"):
            return JSONResponse({"job": job.id, "url": f"/upload/{job.id}"})
        return RedirectResponse(f"/upload/{job.id}", status_code=303)

    @app.get("/upload/{job_id}", include_in_schema=False)
    def job_page(request: Request, job_id: str) -> Response:
        who = console.require(request)
        job = console.jobs.get(job_id, who.username)
        if job is None:
            raise Refused(404, "no such upload (uploads are kept for six hours)")
        with read_transaction(console.engine) as conn:
            targets = _writable(conn, who.principal)
        return console.page(request, "job.html", who, job=job, targets=targets)

    @app.get("/upload/{job_id}/status", include_in_schema=False)
    def job_status(request: Request, job_id: str) -> Response:
        who = console.signed_in(request)
        job = console.jobs.get(job_id, who.username) if who else None
        if job is None:
            return JSONResponse({"error": "no such upload"}, status_code=404)
        return JSONResponse(job.status(), headers={"Cache-Control": "no-store"})

    @app.post("/upload/{job_id}/publish", include_in_schema=False)
    async def publish(request: Request, job_id: str) -> Response:
        who = console.require(request)
        form = await console.form(request, who)
        job = console.jobs.get(job_id, who.username)
        if job is None:
            raise Refused(404, "no such upload (uploads are kept for six hours)")
        if job.state != "done":
            raise Refused(409, "this upload is not ready to publish, or is published already")
        try:
            level = Tlp.parse(str(form.get("tlp") or ""))
        except ValueError as exc:
            raise Refused(400, str(exc)) from None
        wanted = str(form.get("collection") or "")
        with read_transaction(console.engine) as conn:
            targets = {c.scope.id: c for c in _writable(conn, who.principal)}
        found = targets.get(wanted)
        if found is None:
            raise Refused(403, "you may not publish to that collection")
        target: access.VisibleCollection = found

        def publish_objects(objects: list[dict[str, Any]]) -> dict[str, Any]:
            with write_transaction(console.engine) as conn:
                result = store.ingest(
                    conn, target.scope, who.principal, mark(objects, level), console.node.validate
                )
            return {
                "collection": target.alias or target.scope.id,
                "tlp": level.display,
                "stored": len(result.successes),
                "new": result.added,
                "rejected": [f"{oid or '?'}: {why}" for oid, _v, why in result.failures[:50]],
                "rejected_count": len(result.failures),
            }

        try:
            console.jobs.publish(job, publish_objects)
        except AlreadyPublishing:
            raise Refused(409, "this upload is being published already") from None
        return RedirectResponse(f"/upload/{job.id}", status_code=303)


# --------------------------------------------------------------- admin


def _admin_routes(app: FastAPI, console: Console) -> None:
    @app.get("/admin", include_in_schema=False)
    def admin_page(request: Request) -> Response:
        who = console.require(request, admin=True)
        return _admin_again(request, console, who)

    @app.get("/admin/audit", include_in_schema=False)
    def audit_page(request: Request, action: str = "", before: int | None = None) -> Response:
        who = console.require(request, admin=True)
        records = audit.entries(console.engine, action=action or None)
        if before is not None:
            records = [r for r in records if r.id < before]
        shown = list(reversed(records))[:200]
        names = {o.id: o.name for o in service.list_organisations(console.engine)}
        verified, broken = audit.verify_chain(console.engine)
        return console.page(
            request, "audit.html", who, records=shown, names=names, action=action,
            verified=verified, broken=broken,
            older=shown[-1].id if len(shown) == 200 else None,
        )  # fmt: skip

    async def act(request: Request, work: Callable[[FormData], str | None]) -> Response:
        who = console.require(request, admin=True)
        form = await console.form(request, who)
        try:
            issued = work(form)
        except (service.MembersError, ValueError) as exc:
            return _admin_again(request, console, who, problem=str(exc))
        if issued:
            return _admin_again(request, console, who, issued=issued)
        return RedirectResponse("/admin", status_code=303)

    def text(form: FormData, name: str, limit: int = 200) -> str:
        value = form.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    @app.post("/admin/organisations", include_in_schema=False)
    async def add_org(request: Request) -> Response:
        def work(f: FormData) -> None:
            service.add_organisation(
                console.engine, text(f, "name"), text(f, "country", 2).upper() or None
            )

        return await act(request, work)

    @app.post("/admin/users", include_in_schema=False)
    async def add_user(request: Request) -> Response:
        def work(f: FormData) -> None:
            service.add_user(
                console.engine,
                text(f, "username"),
                text(f, "org"),
                text(f, "role"),
                text(f, "password", 1000),
            )

        return await act(request, work)

    @app.post("/admin/users/active", include_in_schema=False)
    async def user_active(request: Request) -> Response:
        return await act(
            request,
            lambda f: service.set_user_active(
                console.engine, text(f, "username"), text(f, "active") == "yes"
            ),
        )

    @app.post("/admin/tokens", include_in_schema=False)
    async def issue(request: Request) -> Response:
        def work(f: FormData) -> str:
            days = text(f, "days")
            token, _info = service.issue_token(
                console.engine,
                text(f, "org"),
                text(f, "role"),
                label=text(f, "label"),
                expires_in_days=float(days) if days else None,
            )
            return token

        return await act(request, work)

    @app.post("/admin/tokens/revoke", include_in_schema=False)
    async def revoke(request: Request) -> Response:
        def work(f: FormData) -> None:
            service.revoke_token(console.engine, text(f, "token_id"))

        return await act(request, work)

    @app.post("/admin/collections", include_in_schema=False)
    async def add_collection(request: Request) -> Response:
        def work(f: FormData) -> None:
            service.add_collection(
                console.engine,
                text(f, "root", 100),
                text(f, "title"),
                read=[x.strip() for x in text(f, "read", 2000).split(",") if x.strip()],
                write=[x.strip() for x in text(f, "write", 2000).split(",") if x.strip()],
                default_tlp=Tlp.parse(text(f, "default_tlp") or "amber"),
                alias=text(f, "alias", 100) or None,
                description=text(f, "description", 2000),
            )

        return await act(request, work)

    @app.post("/admin/grants", include_in_schema=False)
    async def grant(request: Request) -> Response:
        return await act(
            request,
            lambda f: service.set_grant(
                console.engine,
                text(f, "collection", 100),
                text(f, "org"),
                read=text(f, "read") == "yes",
                write=text(f, "write") == "yes",
            ),
        )


def _admin_again(
    request: Request,
    console: Console,
    who: SignedIn,
    *,
    issued: str | None = None,
    problem: str | None = None,
) -> Response:
    from telsec.federation.peers import list_peers

    engine = console.engine
    return console.page(
        request,
        "admin.html",
        who,
        status=400 if problem else 200,
        organisations=service.list_organisations(engine),
        users=service.list_users(engine),
        tokens=service.list_tokens(engine),
        collections=service.list_collections(engine),
        peers=list_peers(engine),
        roles=service.ROLES,
        issued=issued,
        problem=problem,
    )
