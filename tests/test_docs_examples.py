"""The settings files the docs show are files the strict readers take as they are."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from telsec.radio.detect import parse_config
from telsec.signalling.policy import parse_policy

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize(
    ("doc", "reader"), [("signalling.md", parse_policy), ("radio.md", parse_config)]
)
def test_each_toml_example_is_read(doc: str, reader: Callable[[str], Any]) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", (DOCS / doc).read_text(), re.S)
    assert blocks
    for block in blocks:
        reader(block)
