"""``telsec federation``: peers set up by two operators, a sync, and the errors
people make, through the command line (Typer's CliRunner, real databases, a
real peer server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from telsec.stix.tlp import Tlp
from tests.cli.test_cli import assert_failure, assert_usage_error, clean_env, invoke, ok
from tests.federation.cluster import Node
from tests.interop.hub import attack_pattern


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    uk = Node("uk", tmp_path / "uk", serve_args=["--no-sync"]).create()
    us = Node("us", tmp_path / "us", serve_args=["--no-sync"]).create()
    try:
        uk.start()
        yield uk, us
    finally:
        uk.stop()
        us.stop()


def env_of(node: Node) -> dict[str, str | None]:
    return clean_env(
        TELSEC_DATABASE_URL=node.db.settings.database_url,
        TELSEC_DATA_DIR=str(node.db.settings.data_dir),
    )


def test_two_operators_set_up_a_peering_and_sync(two: tuple[Node, Node]) -> None:
    uk, us = two
    uk_env, us_env = env_of(uk), env_of(us)
    # the UK operator lets the US node pull, with AMBER; pulls nothing from it yet
    added = ok(
        uk_env, "federation", "peer", "add", "us", us.url, "--into", "coalition", "--forward-amber"
    )
    token_for_us = added.stdout.strip()
    assert token_for_us.startswith("tsk_")
    # the US operator adds the UK node with that token
    ok(
        us_env,
        "federation",
        "peer",
        "add",
        "uk",
        uk.url,
        "--pull",
        "coalition",
        "--into",
        "coalition",
        "--token",
        token_for_us,
    )
    listed = ok(us_env, "federation", "peer", "list", "--format", "json")
    [row] = json.loads(listed.stdout)
    assert row["token"] == "set" and token_for_us not in listed.stdout
    assert (row["pull"], row["stored"]) == ("coalition", 0)

    uk.post([attack_pattern(f"shared {n}", tlp=Tlp.AMBER) for n in range(3)])
    synced = ok(us_env, "federation", "sync", "--format", "jsonl")
    [outcome] = [json.loads(line) for line in synced.stdout.splitlines()]
    assert (outcome["stored"], outcome["error"]) == (3, None)

    # AMBER stops flowing when the UK operator says so
    ok(uk_env, "federation", "peer", "update", "us", "--no-forward-amber")
    uk.post([attack_pattern("amber, later", tlp=Tlp.AMBER)])
    synced = ok(us_env, "federation", "sync", "--format", "jsonl")
    assert json.loads(synced.stdout)["stored"] == 0

    # removing the peer revokes its token: the US node is refused from then on
    ok(uk_env, "federation", "peer", "remove", "us")
    failed = invoke(us_env, "federation", "sync", "--format", "jsonl")
    assert failed.exit_code == 1
    assert "401" in json.loads(failed.stdout)["error"]


def test_mistakes_get_a_clear_message(two: tuple[Node, Node]) -> None:
    uk, _us = two
    env = env_of(uk)
    assert_failure(
        invoke(env, "federation", "peer", "add", "x", "ftp://nowhere", "--into", "coalition"),
        "http(s)://",
    )
    assert_failure(
        invoke(env, "federation", "peer", "add", "Bad Name", uk.url, "--into", "coalition"),
        "peer name",
    )
    assert_failure(
        invoke(env, "federation", "peer", "add", "x", uk.url, "--into", "no-such"),
        "no local collection",
    )
    assert_failure(
        invoke(
            env,
            "federation",
            "peer",
            "add",
            "x",
            uk.url,
            "--into",
            "coalition",
            "--cert",
            "/nonexistent.pem",
        ),
        "--cert and --key",
    )
    assert_failure(invoke(env, "federation", "peer", "remove", "ghost"), "no peer named")
    assert_usage_error(invoke(env, "federation", "peer", "add", "x"), "Missing")
    # a peer's organisation is the only one that takes peer tokens, and only those
    assert_failure(
        invoke(env, "admin", "token", "issue", "--org", "uk-regulator", "--role", "peer"),
        "peer",
    )
    ok(env, "federation", "peer", "add", "x", uk.url, "--into", "coalition")
    assert_failure(
        invoke(env, "federation", "peer", "add", "x", uk.url, "--into", "coalition"),
        "already exists",
    )
    # a peer without a token: the sync says so and exits 1
    result = invoke(env, "federation", "sync", "--format", "jsonl")
    assert result.exit_code == 0  # x pulls nothing: there is nothing to do
