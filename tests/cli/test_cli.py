"""The ``telsec`` command line: in-process with Typer's CliRunner, plus a few real
subprocesses (the console script exactly as an operator runs it).

Administration runs on SQLite and PostgreSQL (a fresh, empty schema each time);
``publish``, ``pull`` and ``audit`` talk to a real ``telsec serve`` process.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from telsec.cli.main import app
from telsec.config import load_settings
from telsec.exchange.taxii import create_app
from telsec.members import service
from telsec.stix.tlp import Tlp
from telsec.storage.db import make_engine
from tests.conftest import POSTGRES_URL, Coalition, build_coalition, require_postgres
from tests.interop.hub import (
    SECRET_KEY,
    TAXII,
    Hub,
    attack_pattern,
    cli_env,
    close_database,
    indicator,
    make_database,
    start_hub,
)

runner = CliRunner()
TELSEC = shutil.which("telsec", path=str(Path(sys.executable).parent)) or "telsec"
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/x"
HAS_DEMO_OBJECTS = importlib.util.find_spec("telsec.demo.objects") is not None


def invoke(env: dict[str, str | None], *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), env=env, input=input)


def ok(env: dict[str, str | None], *args: str) -> Result:
    result = invoke(env, *args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return result


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def assert_usage_error(result: Result, *words: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.stderr, result.stderr


def assert_failure(result: Result, *words: str) -> str:
    """Exit 1 with an ``error:`` message on standard error and no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: "), result.stderr
    message = " ".join(lines)
    for word in words:
        assert word in message, message
    return message


def clean_env(**values: str | None) -> dict[str, str | None]:
    """Every TELSEC_* variable of the outer environment unset, then ``values``."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("TELSEC_")}
    env.update({"TELSEC_SECRET_KEY": SECRET_KEY, "COLUMNS": "200"})
    env.update(values)
    return env


# ------------------------------------------------------------ a fresh node


@dataclass
class Node:
    backend: str
    env: dict[str, str | None]
    directory: Path

    def settings(self) -> Any:
        return load_settings(
            database_url=self.env["TELSEC_DATABASE_URL"],
            data_dir=self.directory,
            database_schema=self.env.get("TELSEC_DATABASE_SCHEMA"),
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Node]:
    """An empty database (no schema yet) and the environment that selects it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'telsec.db'}"
        yield Node(
            "sqlite", clean_env(TELSEC_DATA_DIR=str(tmp_path), TELSEC_DATABASE_URL=url), tmp_path
        )
        return
    require_postgres()
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield Node(
            "postgres",
            clean_env(
                TELSEC_DATA_DIR=str(tmp_path),
                TELSEC_DATABASE_URL=POSTGRES_URL,
                TELSEC_DATABASE_SCHEMA=schema,
            ),
            tmp_path,
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def upgraded(fresh: Node) -> Node:
    result = ok(fresh.env, "db", "upgrade")
    assert "database at revision" in result.stderr
    return fresh


def api_client(node: Node) -> tuple[TestClient, Any]:
    engine = make_engine(node.settings(), pool_size=2)
    return TestClient(create_app(node.settings(), engine=engine, secret_key=SECRET_KEY)), engine


# -------------------------------------------------------------------- help


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the Typer app, the groups loaded on demand included
    (typer vendors click: no isinstance checks)."""
    yield prefix
    if hasattr(command, "list_commands"):
        for name in command.list_commands(None):
            yield from _command_paths(command.get_command(None, name), (*prefix, name))


ALL_COMMANDS = list(_command_paths(typer.main.get_command(app)))


def test_the_command_tree_is_complete() -> None:
    expected = {
        ("db", "upgrade"),
        ("admin", "org", "add"),
        ("admin", "org", "list"),
        ("admin", "user", "add"),
        ("admin", "token", "issue"),
        ("admin", "token", "revoke"),
        ("admin", "token", "list"),
        ("admin", "collection", "add"),
        ("admin", "collection", "list"),
        ("admin", "collection", "grant"),
        ("serve",),
        ("demo",),
        ("publish",),
        ("pull",),
        ("audit",),
        ("signalling", "decode"),
        ("signalling", "scan"),
        ("radio", "scan"),
        ("fraud", "campaigns"),
        ("federation", "peer", "add"),
    }
    assert expected <= set(ALL_COMMANDS)


def test_help_lists_the_groups_in_order() -> None:
    result = ok(clean_env(), "--help")
    groups = ["db", "signalling", "radio", "fraud", "federation", "admin"]
    at = [result.stdout.index(f"│ {name} ") for name in groups]
    assert at == sorted(at), result.stdout


def test_a_mistyped_group_is_suggested() -> None:
    result = invoke(clean_env(), "signaling", "scan")
    assert result.exit_code == 2
    assert "Did you mean 'signalling'?" in result.output


def test_a_scan_loads_only_what_it_needs(tmp_path: Path) -> None:
    """``telsec signalling scan`` imports neither the other capabilities' command
    modules nor pydantic (typer 0.29 would, to check the options: 0.13 s of every
    command's start-up, hence ``typer<0.29``): start-up is part of every scan."""
    from telsec.signalling.generate import demo_policy, write_capture

    capture, policy = tmp_path / "small.pcap", tmp_path / "policy.toml"
    with capture.open("wb") as out, (tmp_path / "labels.jsonl").open("wb") as labels:
        write_capture(out, labels, "all", 300, seed=3)
    policy.write_text(demo_policy())
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from telsec.cli.main import app\n"
        f"args = ['signalling', 'scan', {str(capture)!r}, '--policy', {str(policy)!r},\n"
        f"        '-f', 'jsonl', '-o', {str(tmp_path / 'found.jsonl')!r}]\n"
        "result = CliRunner().invoke(app, args)\n"
        "assert result.exit_code == 0, result.output\n"
        "print(' '.join(m for m in sys.modules if m.startswith(('telsec.cli.', 'pydantic'))))\n"
    )
    loaded = set(subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split())  # fmt: skip
    assert (tmp_path / "found.jsonl").stat().st_size > 0
    assert "telsec.cli.signalling" in loaded
    assert not {"telsec.cli.radio", "telsec.cli.fraud", "telsec.cli.federation"} & loaded
    assert not {m for m in loaded if m.startswith("pydantic")}


LEAVE_PROBE = """
import atexit, sys, threading, time
from telsec.cli.main import leave
atexit.register(lambda: print("exit handler ran"))
sys.stdout.write("buffered, not flushed")
if sys.argv[1] == "thread":  # a thread still working: Python's own exit waits for it
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread done"))).start()
leave(None if sys.argv[2] == "none" else int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])
"""


@pytest.mark.parametrize(
    ("thread", "code", "status"),
    [("no", "none", 0), ("no", "0", 0), ("no", "3", 3), ("no", "cannot go on", 1),
     ("thread", "none", 0), ("thread", "3", 3)],
)  # fmt: skip
def test_leaving_keeps_the_status_the_output_and_the_exit_handlers(
    thread: str, code: str, status: int
) -> None:
    """``leave`` ends the process without tearing the interpreter down, but as
    ``sys.exit`` would: the same status, buffered output written, exit handlers run,
    a message on standard error, and a thread still running waited for."""
    done = subprocess.run(
        [sys.executable, "-c", LEAVE_PROBE, thread, code], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == status
    assert done.stdout.startswith("buffered, not flushed")
    assert "exit handler ran" in done.stdout
    assert ("thread done" in done.stdout) == (thread == "thread")
    assert ("cannot go on" in done.stderr) == (code == "cannot go on")


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "telsec")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    env = clean_env(TELSEC_DATABASE_URL=UNREACHABLE)  # --help must not touch the database
    for flag in ("--help", "-h"):
        result = invoke(env, *path, flag)
        assert result.exit_code == 0, (path, result.output, result.exception)
        assert "Usage:" in result.stdout
        assert "Traceback" not in result.output


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "telsec")
def test_every_summary_is_one_line(path: tuple[str, ...]) -> None:
    """The first paragraph of a command's help is what its group's listing shows,
    line breaks and all."""
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.get_command(None, name)
    summary = inspect.cleandoc(command.help or "").split("\n\n")[0]
    assert summary and "\n" not in summary, summary


def test_workers_are_one_per_core_by_default_and_bounded(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--workers 10000`` (a typo) must not fork ten thousand processes."""
    from telsec.cli import output

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2}, raising=False)
    assert output.worker_processes(None) == output.worker_processes(0) == 3
    assert output.worker_processes(5) == 5 and output.worker_processes(12) == 12
    assert "note" not in capsys.readouterr().err
    assert output.worker_processes(10_000) == 12
    assert "10,000 workers on 3 cores: running 12" in capsys.readouterr().err


def test_version() -> None:
    result = ok(clean_env(), "--version")
    assert result.stdout.startswith("telsec ")


# ----------------------------------------------------------- db and admin


def test_commands_before_db_upgrade_say_what_to_do(fresh: Node) -> None:
    assert_failure(invoke(fresh.env, "admin", "org", "list"), "telsec db upgrade")


def test_db_upgrade_is_idempotent(upgraded: Node) -> None:
    again = ok(upgraded.env, "db", "upgrade")
    assert "database at revision" in again.stderr
    orgs = as_json(ok(upgraded.env, "admin", "org", "list", "--format", "json"))
    assert [o["name"] for o in orgs] == ["telsec-node"]  # the node's own organisation only


def test_org_add_and_list_in_every_format(upgraded: Node, tmp_path: Path) -> None:
    env = upgraded.env
    added = as_json(ok(env, "admin", "org", "add", "Ofcom", "--country", "GB", "-f", "json"))
    assert added[0]["name"] == "Ofcom" and added[0]["country"] == "GB"
    assert added[0]["identity"].startswith("identity--")
    table = ok(env, "admin", "org", "add", "FCC", "--country", "US")
    assert "FCC" in table.stdout and "identity--" in table.stdout
    ok(env, "admin", "org", "add", "ISED")

    listed = ok(env, "admin", "org", "list")
    assert "Organisations" in listed.stdout
    for name in ("Ofcom", "FCC", "ISED", "GB", "US"):
        assert name in listed.stdout

    rows = as_json(ok(env, "admin", "org", "list", "--format", "json"))
    assert [r["name"] for r in rows] == ["FCC", "ISED", "Ofcom", "telsec-node"]
    assert {r["name"]: r["country"] for r in rows}["ISED"] is None
    assert rows[2]["identity"] == added[0]["identity"]

    lines = ok(env, "admin", "org", "list", "-f", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == rows

    out = tmp_path / "orgs.jsonl"
    written = ok(env, "admin", "org", "list", "-f", "jsonl", "--out", str(out))
    assert written.stdout == ""
    assert [json.loads(line) for line in out.read_text().splitlines()] == rows
    table_file = tmp_path / "orgs.txt"
    ok(env, "admin", "org", "list", "-o", str(table_file))
    assert "Ofcom" in table_file.read_text()


def test_token_issue_use_list_and_revoke(upgraded: Node) -> None:
    env = upgraded.env
    ok(env, "admin", "org", "add", "Ofcom", "--country", "GB")
    ok(
        env,
        "admin",
        "collection",
        "add",
        "--root",
        "coalition",
        "--title",
        "Shared",
        "--read",
        "Ofcom",
    )
    issued = as_json(
        ok(
            env,
            "admin",
            "token",
            "issue",
            "--org",
            "Ofcom",
            "--role",
            "contributor",
            "--label",
            "ci",
            "--expires-days",
            "30",
            "-f",
            "json",
        )
    )[0]
    token = issued["token"]
    assert token.startswith(f"tsk_{issued['token_id']}_")
    assert (issued["org"], issued["role"]) == ("Ofcom", "contributor")
    assert issued["expires"]

    plain = ok(env, "admin", "token", "issue", "--org", "Ofcom")  # table format: just the token
    assert plain.stdout.strip().startswith("tsk_") and len(plain.stdout.splitlines()) == 1
    assert "will not be shown again" in plain.stderr

    client, engine = api_client(upgraded)
    try:
        auth = {"Authorization": f"Bearer {token}", "Accept": TAXII}
        response = client.get("/taxii2/", headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["api_roots"] == ["http://testserver/coalition/"]

        revoked = ok(env, "admin", "token", "revoke", issued["token_id"])
        assert f"token {issued['token_id']} revoked" in revoked.stderr
        assert client.get("/taxii2/", headers=auth).status_code == 401
        assert_failure(
            invoke(env, "admin", "token", "revoke", issued["token_id"]), "no active token"
        )
        # Revoking by the whole token works as well.
        second = plain.stdout.strip()
        ok(env, "admin", "token", "revoke", second)
        assert (
            client.get("/taxii2/", headers={"Authorization": f"Bearer {second}"}).status_code == 401
        )
    finally:
        engine.dispose()


def test_token_list_shows_ids_and_state_never_secrets(upgraded: Node) -> None:
    env = upgraded.env
    ok(env, "admin", "org", "add", "Ofcom")
    issued = as_json(
        ok(env, "admin", "token", "issue", "--org", "Ofcom", "--label", "ci", "-f", "json")
    )[0]
    listed = as_json(ok(env, "admin", "token", "list", "-f", "json"))
    mine = next(t for t in listed if t["token_id"] == issued["token_id"])
    assert (mine["org"], mine["role"], mine["label"], mine["revoked"]) == (
        "Ofcom",
        "reader",
        "ci",
        "",
    )
    assert issued["token"] not in json.dumps(listed)
    assert issued["token_id"] in ok(env, "admin", "token", "list").stdout
    ok(env, "admin", "token", "revoke", issued["token_id"])
    listed = as_json(ok(env, "admin", "token", "list", "-f", "json"))
    assert next(t for t in listed if t["token_id"] == issued["token_id"])["revoked"] != ""


def test_token_plaintext_is_not_in_the_sqlite_file(tmp_path: Path) -> None:
    env = clean_env(TELSEC_DATA_DIR=str(tmp_path), TELSEC_DATABASE_URL=None)  # the default file
    ok(env, "db", "upgrade")
    ok(env, "admin", "org", "add", "Ofcom")
    issued = as_json(ok(env, "admin", "token", "issue", "--org", "Ofcom", "-f", "json"))[0]
    secret = issued["token"].split("_", 2)[2]
    files = sorted(tmp_path.glob("telsec.db*"))
    assert tmp_path / "telsec.db" in files
    stored = b"".join(path.read_bytes() for path in files)  # with the WAL, if not checkpointed
    assert issued["token_id"].encode() in stored
    assert service.token_digest(secret).encode() in stored  # only the digest is kept
    assert secret.encode() not in stored
    assert issued["token"].encode() not in stored


def test_user_add_and_http_basic(upgraded: Node) -> None:
    env = upgraded.env
    ok(env, "admin", "org", "add", "Ofcom")
    ok(env, "admin", "collection", "add", "--root", "uk", "--title", "UK", "--read", "Ofcom")
    result = ok(
        env,
        "admin",
        "user",
        "add",
        "alice",
        "--org",
        "Ofcom",
        "--role",
        "contributor",
        "--password",
        "a perfectly long password",
    )
    assert "user alice added to Ofcom as contributor" in result.stderr
    prompted = invoke(
        env,
        "admin",
        "user",
        "add",
        "bob",
        "--org",
        "Ofcom",
        input="another long password\nanother long password\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert_failure(
        invoke(env, "admin", "user", "add", "carol", "--org", "Ofcom", "--password", "short"),
        "at least 12",
    )
    assert_failure(
        invoke(env, "admin", "user", "add", "alice", "--org", "Ofcom", "--password", "x" * 12),
        "already exists",
    )
    client, engine = api_client(upgraded)
    try:
        for user, password in (
            ("alice", "a perfectly long password"),
            ("bob", "another long password"),
        ):
            response = client.get("/taxii2/", auth=(user, password))
            assert response.status_code == 200, response.text
        assert client.get("/taxii2/", auth=("alice", "wrong password")).status_code == 401
    finally:
        engine.dispose()


def test_collection_add_list_and_grant(upgraded: Node) -> None:
    env = upgraded.env
    for name in ("Ofcom", "FCC", "ISED"):
        ok(env, "admin", "org", "add", name)
    added = as_json(
        ok(
            env,
            "admin",
            "collection",
            "add",
            "--root",
            "coalition",
            "--title",
            "Signalling",
            "--read",
            "Ofcom,FCC",
            "--write",
            "Ofcom",
            "--default-tlp",
            "amber",
            "--alias",
            "signalling",
            "--description",
            "SS7 and Diameter",
            "-f",
            "json",
        )
    )[0]
    assert added["root"] == "coalition" and added["title"] == "Signalling"
    assert added["read"] == ["FCC", "Ofcom"] and added["write"] == ["Ofcom"]
    assert added["default_tlp"] == "TLP:AMBER" and added["alias"] == "signalling"
    uuid.UUID(added["id"])
    table = ok(
        env,
        "admin",
        "collection",
        "add",
        "--root",
        "uk",
        "--title",
        "UK reports",
        "--read",
        "Ofcom",
        "--write",
        "Ofcom",
        "--default-tlp",
        "TLP:RED",
    )
    assert "TLP:RED" in table.stdout

    rows = as_json(ok(env, "admin", "collection", "list", "-f", "json"))
    by_title = {r["title"]: r for r in rows}
    assert by_title["Signalling"] == added
    assert by_title["UK reports"]["default_tlp"] == "TLP:RED"
    vocabularies = [r for r in rows if r["alias"] == "vocabulary"]
    assert sorted(r["root"] for r in vocabularies) == ["coalition", "uk"]  # one per root
    assert all(r["read"] == ["(all members of the root)"] for r in vocabularies)
    only_uk = as_json(ok(env, "admin", "collection", "list", "--root", "uk", "-f", "json"))
    assert {r["root"] for r in only_uk} == {"uk"} and len(only_uk) == 2
    listed = ok(env, "admin", "collection", "list")
    assert "Signalling" in listed.stdout and "TLP:AMBER" in listed.stdout

    granted = ok(env, "admin", "collection", "grant", "signalling", "--org", "ISED", "--write")
    assert "ISED: read=True write=True" in granted.stderr
    ok(env, "admin", "collection", "grant", added["id"], "--org", "FCC", "--no-read")
    after = next(
        r
        for r in as_json(ok(env, "admin", "collection", "list", "-f", "json"))
        if r["id"] == added["id"]
    )
    assert after["read"] == ["ISED", "Ofcom"] and after["write"] == ["ISED", "Ofcom"]


# ---------------------------------------------------------- usage errors


USAGE_ERRORS = [
    (
        ("admin", "collection", "add", "--root", "r", "--title", "t", "--default-tlp", "purple"),
        ("unknown TLP level",),
    ),
    (("admin", "token", "issue", "--org", "Ofcom", "--role", "boss"), ("role must be one of",)),
    (
        ("admin", "user", "add", "u", "--org", "Ofcom", "--role", "root", "--password", "x" * 12),
        ("role must be one of",),
    ),
    (("admin", "token", "issue"), ("Missing option", "--org")),
    (("admin", "collection", "add", "--root", "r"), ("Missing option", "--title")),
    (("admin", "org", "add"), ("Missing argument",)),
    (("admin", "org", "list", "--format", "yaml"), ("Invalid value",)),
    (("admin", "token", "issue", "--org", "Ofcom", "--expires-days", "soon"), ("Invalid value",)),
    (("audit", "--since", "last tuesday"), ("ISO 8601",)),
    (("audit", "--limit", "0"), ("Invalid value",)),
    (("publish", "/nonexistent/file.json", "--collection", "c"), ("does not exist",)),
    (("publish", "--collection", "c"), ("Missing argument",)),
    (("pull",), ("Missing option", "--collection")),
    (("admin", "org", "frobnicate"), ("No such command",)),
    (("serve", "--port", "http"), ("Invalid value",)),
]


@pytest.mark.parametrize(
    ("args", "words"), USAGE_ERRORS, ids=[" ".join(a[:4]) for a, _ in USAGE_ERRORS]
)
def test_usage_errors_exit_2(
    upgraded_sqlite: Node, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    ok(upgraded_sqlite.env, "admin", "org", "add", "Ofcom")
    assert_usage_error(invoke(upgraded_sqlite.env, *args), *words)


@pytest.fixture
def upgraded_sqlite(tmp_path: Path) -> Node:
    url = f"sqlite:///{tmp_path / 'telsec.db'}"
    node = Node(
        "sqlite", clean_env(TELSEC_DATA_DIR=str(tmp_path), TELSEC_DATABASE_URL=url), tmp_path
    )
    ok(node.env, "db", "upgrade")
    return node


# -------------------------------------------------------------- failures


def test_failures_exit_1_with_one_error_line(upgraded: Node) -> None:
    env = upgraded.env
    ok(env, "admin", "org", "add", "Ofcom")
    cases = [
        (("admin", "org", "add", "Ofcom"), "already exists"),
        (("admin", "org", "add", "Ofcom2", "--country", "gb"), "ISO 3166-1"),
        (("admin", "token", "issue", "--org", "Nobody"), "no organisation named 'Nobody'"),
        (("admin", "token", "revoke", "0123456789abcdef"), "no active token"),
        (
            ("admin", "collection", "add", "--root", "r", "--title", "t", "--read", "Nobody"),
            "no organisation named",
        ),
        (("admin", "collection", "add", "--root", "Bad Root", "--title", "t"), "API root name"),
        (("admin", "collection", "grant", "nope", "--org", "Ofcom"), "no collection 'nope'"),
        (
            ("admin", "user", "add", "u", "--org", "Nobody", "--password", "x" * 12),
            "no organisation",
        ),
        (("admin", "token", "issue", "--org", "Ofcom", "--user", "ghost"), "no user 'ghost'"),
        (("audit", "--org", "Nobody"), "no organisation named"),
    ]
    for args, words in cases:
        message = assert_failure(invoke(env, *args), words)
        assert len(message) < 200, message


def test_duplicate_alias_in_a_root_is_refused(upgraded_sqlite: Node) -> None:
    env = upgraded_sqlite.env
    ok(env, "admin", "collection", "add", "--root", "r", "--title", "t", "--alias", "dup")
    assert_failure(
        invoke(env, "admin", "collection", "add", "--root", "r", "--title", "t2", "--alias", "dup"),
        "already exists",
    )


@pytest.mark.parametrize(
    "args",
    [
        ("db", "upgrade"),
        ("admin", "org", "list"),
        ("admin", "token", "issue", "--org", "x"),
        ("audit", "--verify"),
        ("demo",),
    ],
    ids=" ".join,
)
def test_unreachable_database_is_a_clean_failure(args: tuple[str, ...], tmp_path: Path) -> None:
    env = clean_env(TELSEC_DATA_DIR=str(tmp_path), TELSEC_DATABASE_URL=UNREACHABLE)
    assert_failure(invoke(env, *args), "cannot reach the database")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", "is not a database URL"),
        ("mysql://telsec:s3cret-pass@db.example/telsec", "names a mysql database"),
    ],
)
def test_a_database_url_telsec_cannot_use_is_a_clean_failure(
    url: str, words: str, tmp_path: Path
) -> None:
    env = clean_env(TELSEC_DATA_DIR=str(tmp_path), TELSEC_DATABASE_URL=url)
    for args in (("admin", "org", "list"), ("serve", "--port", "8019")):
        message = assert_failure(invoke(env, *args), words)
        assert "s3cret" not in message  # a URL may hold a password: it is not echoed


@pytest.mark.parametrize("command", [("serve",), ("demo", "--serve")], ids=" ".join)
def test_a_port_in_use_is_a_clean_failure_before_any_work(
    command: tuple[str, ...], upgraded_sqlite: Node
) -> None:
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = str(held.getsockname()[1])
        result = invoke(upgraded_sqlite.env, *command, "--port", port)
    assert_failure(result, f"cannot listen on 127.0.0.1:{port}")
    assert "demo data" not in result.stderr  # checked before loading anything
    out_of_range = invoke(upgraded_sqlite.env, *command, "--port", "99999")
    assert out_of_range.exit_code == 2


def test_unreachable_database_error_is_one_line(tmp_path: Path) -> None:
    env = clean_env(TELSEC_DATA_DIR=str(tmp_path), TELSEC_DATABASE_URL=UNREACHABLE)
    result = invoke(env, "admin", "org", "list")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_long_error_message_is_not_wrapped(upgraded_sqlite: Node) -> None:
    env = {**upgraded_sqlite.env, "COLUMNS": "80"}  # a standard terminal
    name = "An organisation with a rather long official name that nobody has registered"
    result = invoke(env, "admin", "token", "issue", "--org", name)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no organisation named {name!r} (see `telsec admin org list`)"
    ]


def test_error_message_with_brackets_is_printed_verbatim(upgraded_sqlite: Node) -> None:
    result = invoke(upgraded_sqlite.env, "admin", "token", "issue", "--org", "[/x]")
    assert_failure(result, "no organisation named '[/x]'")


def test_table_shows_names_with_brackets_verbatim(upgraded_sqlite: Node) -> None:
    env = upgraded_sqlite.env
    ok(env, "admin", "org", "add", "[red]Evil[/red] Corp", "-f", "json")
    ok(env, "admin", "org", "add", "[/x]", "-f", "json")
    listed = invoke(env, "admin", "org", "list")
    assert listed.exit_code == 0, listed.exception
    assert "[red]Evil[/red] Corp" in listed.stdout and "[/x]" in listed.stdout


def _subprocess(env: dict[str, str | None], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TELSEC_")}
    full.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run(
        [TELSEC, *args], env=full, capture_output=True, text=True, timeout=60, check=False
    )


def test_real_process_failure_exits_1_without_traceback(upgraded_sqlite: Node) -> None:
    env = upgraded_sqlite.env
    ok(env, "admin", "org", "add", "Ofcom")
    result = _subprocess(env, "admin", "org", "add", "Ofcom")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: organisation 'Ofcom' already exists"]
    assert result.stderr.strip().splitlines()[-1] == errors[0]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_output_that_cannot_be_written_is_an_error_not_a_bug(
    tmp_path: Path, workers: str
) -> None:
    """An output directory that does not exist: one line saying so, exit 1."""
    from telsec.signalling.generate import write_capture

    capture = tmp_path / "a.pcap"
    with capture.open("wb") as out, open(tmp_path / "labels.jsonl", "wb") as labels:
        write_capture(out, labels, "all", 200, seed=3)
    missing = tmp_path / "no such directory" / "out.jsonl"
    result = _subprocess(
        clean_env(), "signalling", "decode", str(capture), "-w", workers, "-o", str(missing)
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "bug" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: [Errno 2] No such file or directory: '{missing}'"
    ]


# -------------------------------------------------------------------- demo


@pytest.mark.skipif(not HAS_DEMO_OBJECTS, reason="src/telsec/demo/objects.py is not there yet")
def test_demo_loads_once_and_prints_a_working_token(tmp_path: Path) -> None:
    env = clean_env(TELSEC_DATA_DIR=str(tmp_path))
    first = ok(env, "demo", "--port", "8123")
    lines = first.stdout.splitlines()
    url = [line for line in lines if line.startswith("URL:")]
    token_lines = [line for line in lines if line.startswith("Token:")]
    assert url == ["URL:   http://127.0.0.1:8123/taxii2/"]
    assert len(token_lines) == 1
    token = token_lines[0].split()[1]
    assert token.startswith("tsk_")
    assert "(organisation Ofcom, role contributor)" in token_lines[0]
    added_first = int(first.stderr.split("demo data: ")[1].split()[0])
    assert added_first > 0

    second = ok(env, "demo")
    assert "demo data: 0 objects added" in second.stderr
    total = second.stderr.split("(")[1].split()[0]
    assert int(total) == added_first

    node = Node("sqlite", env, tmp_path)
    node.env["TELSEC_DATABASE_URL"] = f"sqlite:///{tmp_path / 'telsec.db'}"
    client, engine = api_client(node)
    try:
        response = client.get("/taxii2/", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert {r.rsplit("/", 2)[-2] for r in response.json()["api_roots"]} == {"coalition", "uk"}
    finally:
        engine.dispose()


# ----------------------------------------------- publish, pull and audit


@dataclass
class Exchange:
    hub: Hub
    coalition: Coalition
    env: dict[str, str | None]  # the CLI on the hub's database

    def as_org(self, org: str, role: str = "contributor") -> dict[str, str | None]:
        env = dict(self.env)
        env["TELSEC_URL"] = self.hub.url
        env["TELSEC_TOKEN"] = self.coalition.token(org, role)
        return env


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    directory = tmp_path_factory.mktemp("cli-exchange")
    db = make_database("sqlite", directory)
    hub: Hub | None = None
    try:
        coalition = build_coalition(db)
        hub = start_hub(db, directory / "server.log")
        telsec_vars = {k: v for k, v in cli_env(db).items() if k.startswith("TELSEC_")}
        yield Exchange(hub, coalition, clean_env(**telsec_vars))
    finally:
        if hub is not None:
            hub.stop()
        close_database(db)


def _bundle(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}


def _pull(exchange: Exchange, org: str, *args: str) -> list[dict[str, Any]]:
    result = ok(exchange.as_org(org), "pull", "--collection", "shared", *args)
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_publish_bundle_and_pull_it_back(exchange: Exchange, tmp_path: Path) -> None:
    objects = [attack_pattern(f"bundle ap {n}", tlp=Tlp.GREEN) for n in range(4)]
    objects += [indicator(f"bundle ind {n}", 100 + n, tlp=Tlp.CLEAR) for n in range(3)]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(_bundle(objects)))

    token = exchange.coalition.token("Ofcom")
    summary = as_json(
        ok(
            exchange.env,
            "publish",
            str(bundle),
            "--collection",
            "shared",
            "--url",
            exchange.hub.url,
            "--token",
            token,
            "--batch",
            "3",
            "-f",
            "json",
        )
    )[0]
    assert summary == {
        "file": str(bundle),
        "collection": "shared",
        "read": 7,
        "unreadable": 0,
        "stored": 7,
        "rejected": 0,
    }
    # Publishing again stores nothing new but is not an error.
    again = as_json(
        ok(
            exchange.as_org("Ofcom"),
            "publish",
            str(bundle),
            "--collection",
            "shared",
            "--root",
            "coalition",
            "-f",
            "json",
        )
    )[0]
    assert (again["stored"], again["rejected"]) == (7, 0)

    wanted = {o["id"]: o for o in objects}
    pulled = [o for o in _pull(exchange, "FCC") if o["id"] in wanted]
    assert sorted(o["id"] for o in pulled) == sorted(wanted)  # each exactly once
    assert all(o == wanted[o["id"]] for o in pulled)

    types = {o["type"] for o in _pull(exchange, "FCC", "--type", "indicator")}
    assert types == {"indicator"}

    out = tmp_path / "pulled.json"
    result = ok(
        exchange.as_org("ISED"),
        "pull",
        "--collection",
        "shared",
        "--root",
        "coalition",
        "-f",
        "json",
        "--out",
        str(out),
    )
    assert result.stdout == ""
    document = json.loads(out.read_text())
    assert document["type"] == "bundle" and document["id"].startswith("bundle--")
    assert set(wanted) <= {o["id"] for o in document["objects"]}
    printed = as_json(ok(exchange.as_org("ISED"), "pull", "--collection", "shared", "-f", "json"))
    assert set(wanted) <= {o["id"] for o in printed["objects"]}

    table = ok(exchange.as_org("FCC"), "pull", "--collection", "shared", "-f", "table")
    assert "bundle ap 0" in table.stdout and "indicator" in table.stdout

    # The collection is found by id as well as by alias.
    by_id = ok(
        exchange.as_org("FCC"),
        "pull",
        "--collection",
        exchange.coalition.collections["shared"].id,
        "-f",
        "jsonl",
    )
    assert set(wanted) <= {json.loads(line)["id"] for line in by_id.stdout.splitlines()}


def test_publish_json_lines_counts_unreadable_and_rejected(
    exchange: Exchange, tmp_path: Path
) -> None:
    good = [attack_pattern(f"jsonl ap {n}", tlp=Tlp.GREEN) for n in range(3)]
    invalid = attack_pattern("jsonl without created", tlp=Tlp.GREEN)
    del invalid["created"]
    lines = [
        json.dumps(good[0]),
        json.dumps(good[1]),
        "{this is not json",
        "",
        json.dumps(invalid),
        json.dumps(good[2]),
    ]
    path = tmp_path / "objects.jsonl"
    path.write_text("\n".join(lines) + "\n")

    summary = as_json(
        ok(exchange.as_org("ISED"), "publish", str(path), "--collection", "shared", "-f", "json")
    )[0]
    assert summary["read"] == 5  # four objects and one unreadable line; blank lines skipped
    assert summary["unreadable"] == 1
    assert summary["stored"] == 3
    assert summary["rejected"] == 1

    table = ok(exchange.as_org("ISED"), "publish", str(path), "--collection", "shared")
    assert "skipped" in table.stderr and "line 3" in table.stderr
    assert "Rejected objects" in table.stdout and invalid["id"] in table.stdout

    pulled = {o["id"] for o in _pull(exchange, "Ofcom")}
    assert {o["id"] for o in good} <= pulled
    assert invalid["id"] not in pulled


def test_publishing_a_file_without_stix_objects_is_a_usage_error(
    exchange: Exchange, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"\n".join(b"\xd2\xd9 not json %d" % n for n in range(25)))
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    env = exchange.as_org("Ofcom")
    for path, words in ((junk, "no STIX objects to publish (25 unreadable)"), (empty, "no STIX")):
        result = invoke(env, "publish", str(path), "--collection", "shared")
        assert result.exit_code == 2, (result.stdout, result.stderr)
        assert words in result.stderr and "Traceback" not in result.output
    assert "5 more" in invoke(env, "publish", str(junk), "--collection", "shared").stderr


def test_publish_and_pull_failures(exchange: Exchange, tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(attack_pattern("one", tlp=Tlp.GREEN)))
    env = exchange.as_org("Ofcom")
    assert_failure(
        invoke(env, "publish", str(path), "--collection", "nope"), "no collection 'nope' visible"
    )
    assert_failure(
        invoke(
            {**env, "TELSEC_TOKEN": "tsk_0_wrong"}, "publish", str(path), "--collection", "shared"
        ),
        "401",
    )
    assert_failure(
        invoke(
            {**env, "TELSEC_URL": f"http://127.0.0.1:{_closed_port()}"},
            "pull",
            "--collection",
            "shared",
        ),
        "cannot reach",
    )
    # ACMA may read "shared" but not write to it.
    assert_failure(
        invoke(exchange.as_org("ACMA"), "publish", str(path), "--collection", "shared"), "403"
    )
    # NCSC-NZ has no grant: the collection does not exist for it.
    assert_failure(
        invoke(exchange.as_org("NCSC-NZ"), "pull", "--collection", "shared"),
        "no collection 'shared' visible",
    )


def _closed_port() -> int:
    from tests.interop.hub import free_port

    return free_port()


def test_publish_and_pull_as_real_processes(exchange: Exchange, tmp_path: Path) -> None:
    objects = [attack_pattern(f"subprocess ap {n}", tlp=Tlp.GREEN) for n in range(3)]
    path = tmp_path / "array.json"
    path.write_text(json.dumps(objects))  # a plain JSON array
    env = exchange.as_org("FCC")
    published = _subprocess(env, "publish", str(path), "--collection", "shared", "-f", "jsonl")
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["stored"] == 3

    out = tmp_path / "pulled.jsonl"
    pulled = _subprocess(
        env, "pull", "--collection", "shared", "--type", "attack-pattern", "--out", str(out)
    )
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout == ""
    found = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert all(found.count(o["id"]) == 1 for o in objects)

    failed = _subprocess(env, "pull", "--collection", "no-such-collection")
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith("error: no collection")


def test_real_process_pull_failure_prints_only_the_error_line(exchange: Exchange) -> None:
    failed = _subprocess(exchange.as_org("FCC"), "pull", "--collection", "no-such-collection")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        "error: no collection 'no-such-collection' visible with this token"
    ]


def test_audit_after_an_amber_read_and_verify(exchange: Exchange, tmp_path: Path) -> None:
    amber = [attack_pattern(f"amber {n}", tlp=Tlp.AMBER) for n in range(2)]
    path = tmp_path / "amber.json"
    path.write_text(json.dumps(_bundle(amber)))
    ok(exchange.as_org("Ofcom"), "publish", str(path), "--collection", "shared")
    pulled = {o["id"] for o in _pull(exchange, "FCC", "--type", "attack-pattern")}
    assert {o["id"] for o in amber} <= pulled

    env = exchange.env
    entries = as_json(ok(env, "audit", "--org", "FCC", "--action", "read", "-f", "json"))
    assert entries, "an AMBER read is audited"
    last = entries[-1]
    assert (last["org"], last["action"], last["tlp"]) == ("FCC", "read", "TLP:AMBER")
    assert last["root"] == "coalition"
    assert last["collection"] == exchange.coalition.collections["shared"].id
    assert last["actor"].startswith("token:")
    read_ids = {item.split("@")[0] for entry in entries for item in entry["objects"]}
    assert {o["id"] for o in amber} <= read_ids
    assert all("@" in item for entry in entries for item in entry["objects"])

    writes = as_json(ok(env, "audit", "--org", "Ofcom", "--action", "write", "-f", "json"))
    written = {item.split("@")[0] for entry in writes for item in entry["objects"]}
    assert {o["id"] for o in amber} <= written

    table = ok(env, "audit")
    assert "Audit log" in table.stdout and "FCC" in table.stdout and "TLP:AMBER" in table.stdout
    assert len(ok(env, "audit", "--limit", "1", "-f", "jsonl").stdout.splitlines()) == 1
    assert as_json(ok(env, "audit", "--since", "2999-01-01T00:00:00Z", "-f", "json")) == []
    since = as_json(ok(env, "audit", "--since", "2000-01-01", "-f", "json"))
    assert len(since) >= len(entries)


def test_audit_verify_reports_the_chain_intact(exchange: Exchange, tmp_path: Path) -> None:
    amber = attack_pattern("amber for verify", tlp=Tlp.AMBER)
    path = tmp_path / "amber.json"
    path.write_text(json.dumps(amber))
    ok(exchange.as_org("Ofcom"), "publish", str(path), "--collection", "shared")
    _pull(exchange, "FCC")
    env = exchange.env
    verified = ok(env, "audit", "--verify", "-f", "json")
    assert "audit chain intact:" in verified.stderr
    checked = int(verified.stderr.split("audit chain intact:")[1].split()[0])
    assert checked == len(as_json(ok(env, "audit", "-f", "json"))) >= 2


def test_a_bug_is_one_line_not_a_stack_trace(tmp_path, monkeypatch, capsys) -> None:
    import sys

    import telsec.radio.detect
    from telsec.cli.main import run

    def broken(*_args, **_kwargs):
        raise RuntimeError("something telsec did not expect")

    monkeypatch.setattr(telsec.radio.detect, "detect", broken)
    monkeypatch.delenv("TELSEC_DEBUG", raising=False)
    observations = tmp_path / "o.jsonl"
    observations.write_text(
        '{"time": 1763028000, "lat": 51.5, "lon": -0.1, "rat": "lte", "mcc": 234, '
        '"mnc": 15, "area": 1150, "cell": 257, "signal": -90}\n'
    )
    cells = tmp_path / "c.csv"
    cells.write_text(
        "radio,mcc,net,area,cell,unit,lon,lat,range\nLTE,234,15,1150,257,1,-0.1,51.5,900\n"
    )
    monkeypatch.setattr(
        sys, "argv", ["telsec", "radio", "scan", str(observations), "--cells", str(cells)]
    )
    with pytest.raises(SystemExit) as exited:
        run()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "did not expect" in err and "Traceback" not in err
