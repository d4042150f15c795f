"""Fixtures for the signalling tests: Wireshark's tshark, generated captures."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from telsec.signalling.generate import write_capture

SHARED_CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "captures"


def _install_tshark() -> None:
    """Debian's tshark, installed by the suite itself on CI machines (we run as root there)."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # test workers run in parallel: one installs, the others wait for it
    with open("/tmp/telsec-tshark-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if shutil.which("tshark"):
            return
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "tshark"],
            env=env,
            check=False,
            capture_output=True,
        )


@pytest.fixture(scope="session")
def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        _install_tshark()
        path = shutil.which("tshark")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("tshark is needed to check the decoder and could not be installed")
        pytest.skip("tshark not installed (apt-get install tshark)")
    return path


@pytest.fixture(scope="session")
def generated_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Every scenario interleaved: 3,000 frames and their labels."""
    folder = tmp_path_factory.mktemp("capture")
    pcap, labels = folder / "all.pcap", folder / "all.labels.jsonl"
    with pcap.open("wb") as out, labels.open("wb") as lab:
        write_capture(out, lab, "all", 3000, seed=7)
    return pcap, labels
