"""docs/oem-guide.md's runnable example, run as a user would: a subprocess against a real CloudNode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings
from tests.sdk.servers import BackgroundServer
from tests.sdk.test_async_client import dead_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "oem_quickstart.py"
MAP_FILE = ROOT / "tests" / "data" / "maps" / "intersection_1201.json"
RUN_TIMEOUT_S = 60.0


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        cwd=ROOT,
        check=False,
    )


def test_quickstart_drives_and_sees_its_own_vehicle() -> None:
    with BackgroundServer(CloudNode(CloudSettings.load(listen="127.0.0.1:0"))) as node:
        target = node.target
        done = run_example("--target", target, "--seconds", "1")

    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[0] == f"connected to {target}"
    assert any(line.startswith("situation #") and "own vehicle at 39.07" in line for line in lines)
    summary = dict(field.split("=") for field in lines[-1].removeprefix("summary: ").split())
    assert summary["own_vehicle_seen"] == "yes"
    assert int(summary["updates"]) >= 1
    assert int(summary["states_sent"]) >= 1


def test_quickstart_prints_what_the_rsu_broadcasts() -> None:
    with BackgroundServer(CloudNode(CloudSettings.load(listen="127.0.0.1:0"))) as cloud:
        settings = RoadsideSettings.load(
            listen="127.0.0.1:0",
            cloud_target=cloud.target,
            latitude_deg=39.0742,  # where the example's vehicle starts
            longitude_deg=115.9325,
            heartbeat_s=60.0,
            map_files=[MAP_FILE],
        )
        with BackgroundServer(RoadsideNode(settings)) as rsu:
            done = run_example("--target", cloud.target, "--rsu", rsu.target, "--seconds", "1")

    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert "rsu map: intersection 1201 with 4 lanes" in lines
    summary = dict(field.split("=") for field in lines[-1].removeprefix("summary: ").split())
    assert int(summary["rsu_updates"]) >= 1


def test_quickstart_reports_an_unreachable_node_as_an_error() -> None:
    done = run_example("--target", f"127.0.0.1:{dead_port()}", "--seconds", "1", "--connect-timeout", "0.3")

    assert done.returncode == 1
    assert done.stderr.startswith("error: UNAVAILABLE: cannot connect")
    assert "Traceback" not in done.stderr
