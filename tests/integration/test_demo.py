"""`roadlink demo` on embedded defaults: the main job works end to end and reports what it saw."""

from __future__ import annotations

import subprocess
import sys

import pytest

from roadlink.demo import DemoOptions, run_demo

pytestmark = pytest.mark.integration


async def test_demo_runs_every_tier_and_reports() -> None:
    lines: list[str] = []
    report = await run_demo(DemoOptions(speed=20.0, duration_s=4.0), emit=lines.append)
    assert report.published > 40
    assert len(report.track_ids) >= 46  # 45 radar targets in the first cycles + the simulated vehicle
    assert report.latency.total > 0
    assert report.counters["gateway"]["dead_lettered"] == 1  # the one malformed message, on purpose
    assert report.counters["gateway"]["items_out"] == report.counters["cloud"]["frames"]
    assert report.counters["cloud"]["vehicle_states"] > 0
    assert any("source->subscriber p50/p99" in line for line in lines)


def test_demo_command_exits_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "roadlink.cli", "demo", "--speed", "20", "--duration", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "dead-lettered 1" in result.stdout
    assert "Traceback" not in result.stderr
