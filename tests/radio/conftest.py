"""Radio test fixtures: Wireshark's tshark (installed by the suite on CI), shared traces."""

from __future__ import annotations

from pathlib import Path

from tests.signalling.conftest import tshark  # noqa: F401  # the same fixture

SHARED_RADIO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "radio"
