"""The three tiers as separate OS processes, started and stopped the way an operator does it.

`python -m roadlink.cli cloud|roadside|gateway`, configured only by ROADLINK_<TIER>_* environment variables
or only by one TOML file with [cloud], [roadside] and [gateway] tables. Radar frames go in through a real
Mosquitto and come out of the cloud's FusionService; SIGTERM must end every process with exit code 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import pytest
from grpc import aio
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc
from v2x.cloud.v1 import situation_pb2
from v2x.common.v1 import common_pb2

from roadlink.domain.clock import now_unix_ms
from roadlink.replay import restamp_payload
from roadlink.samples import RADAR_DEVICE_ID, RecordedMessage, load_radar_recording
from tests.broker import MosquittoBroker

pytestmark = pytest.mark.integration

TOPIC = f"rsu/{RADAR_DEVICE_ID}/radar/radar0"
AREA = common_pb2.Area(
    circle=common_pb2.Circle(center=common_pb2.Position(latitude_deg=39.0742, longitude_deg=115.9325), radius_m=5_000)
)
READY_TIMEOUT_S = 20.0
TRACKS_TIMEOUT_S = 20.0
EXIT_TIMEOUT_S = 10.0
WARM_UP_INTERVAL_S = 0.5


def probe_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class TierProcess:
    """One `roadlink <tier>` process; its stderr goes to `log_path`."""

    tier: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_for_line(self, marker: str) -> str:
        """The first stdout line containing `marker`; fails with the log if the process exits first."""
        assert self.process.stdout is not None
        async with asyncio.timeout(READY_TIMEOUT_S):
            while line := (await self.process.stdout.readline()).decode():
                if marker in line:
                    return line.strip()
        code = await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT_S)
        raise AssertionError(f"{self.tier} exited ({code}) before printing {marker!r}:\n{self.log()}")

    async def terminate(self) -> int | None:
        """SIGTERM, then the exit code (None if it did not exit within EXIT_TIMEOUT_S; it is then killed)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT_S)
            return None


@dataclass
class Deployment:
    """The running processes, and after the block their exit codes by tier."""

    cloud_port: int
    roadside_port: int
    processes: list[TierProcess] = field(default_factory=list)
    exit_codes: dict[str, int | None] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)

    def assert_clean_exit(self) -> None:
        """Every tier exited with 0 on SIGTERM and logged no traceback."""
        assert self.exit_codes == {"gateway": 0, "roadside": 0, "cloud": 0}, self.logs
        assert not [tier for tier, log in self.logs.items() if "Traceback" in log], self.logs


async def start_tier(tier: str, workdir: Path, env: Mapping[str, str], args: Sequence[str] = ()) -> TierProcess:
    base_env = {key: value for key, value in os.environ.items() if not key.startswith("ROADLINK_")}
    log_path = workdir / f"{tier}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "roadlink.cli",
            tier,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env={**base_env, **env},
            cwd=workdir,
        )
    return TierProcess(tier, process, log_path)


@contextlib.asynccontextmanager
async def deployment(
    workdir: Path, ports: tuple[int, int], envs: Mapping[str, Mapping[str, str]], args: Sequence[str] = ()
) -> AsyncIterator[Deployment]:
    """Start cloud, roadside and gateway in that order, each once ready; SIGTERM them in reverse order.

    `ports` are the (cloud, roadside) ports the configuration names; each node must report listening there.
    """
    running = Deployment(*ports)
    try:
        for tier, port in (("cloud", running.cloud_port), ("roadside", running.roadside_port)):
            tier_process = await start_tier(tier, workdir, envs[tier], args)
            running.processes.append(tier_process)
            line = await tier_process.wait_for_line(f"{tier} node listening on port")
            assert line == f"{tier} node listening on port {port}"
        gateway = await start_tier("gateway", workdir, envs["gateway"], args)
        running.processes.append(gateway)
        await gateway.wait_for_line("gateway running")
        yield running
    finally:
        for tier_process in reversed(running.processes):
            running.exit_codes[tier_process.tier] = await tier_process.terminate()
            running.logs[tier_process.tier] = tier_process.log()


async def list_radar_tracks(stub: fs_grpc.FusionServiceStub) -> list[situation_pb2.Track]:
    response = await stub.ListTracks(fs_pb2.ListTracksRequest(area=AREA), timeout=5.0)
    return [t for t in response.tracks if RADAR_DEVICE_ID in t.source_ids]


class Publisher:
    """Publishes recorded frames, each stamped with a strictly increasing current time."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._last_stamp = 0

    async def publish(self, message: RecordedMessage) -> int:
        stamp = max(now_unix_ms(), self._last_stamp + 1)
        self._last_stamp = stamp
        await self._client.publish(TOPIC, restamp_payload(message.payload, stamp), qos=1)
        return stamp


async def warm_up(publisher: Publisher, stub: fs_grpc.FusionServiceStub, message: RecordedMessage) -> None:
    """Publish `message` until the cloud shows it: "gateway running" is printed before its MQTT
    subscription exists, and the broker drops messages published before that."""
    async with asyncio.timeout(TRACKS_TIMEOUT_S):
        while True:
            stamp = await publisher.publish(message)
            loop_time = asyncio.get_running_loop().time()
            while asyncio.get_running_loop().time() - loop_time < WARM_UP_INTERVAL_S:
                if any(t.time_unix_ms == stamp for t in await list_radar_tracks(stub)):
                    return
                await asyncio.sleep(0.05)


async def tracks_at(stub: fs_grpc.FusionServiceStub, stamp: int) -> set[tuple[float, float]]:
    """Positions of the radar tracks stamped `stamp`, once there are any (TRACKS_TIMEOUT_S)."""
    async with asyncio.timeout(TRACKS_TIMEOUT_S):
        while True:
            tracks = [t for t in await list_radar_tracks(stub) if t.time_unix_ms == stamp]
            if tracks:
                return {(t.position.latitude_deg, t.position.longitude_deg) for t in tracks}
            await asyncio.sleep(0.05)


def target_positions(message: RecordedMessage) -> set[tuple[float, float]]:
    return {(t["latitude"], t["longitude"]) for t in json.loads(message.payload)["targets"]}


async def check_frames_flow(running: Deployment, broker: MosquittoBroker) -> None:
    """Five recorded frames published to MQTT: the last one's targets come out of the cloud unchanged."""
    recording = load_radar_recording()
    frames = recording[1:6]
    async with (
        aio.insecure_channel(f"127.0.0.1:{running.cloud_port}") as channel,
        aiomqtt.Client(broker.host, broker.port) as mqtt,
    ):
        stub = fs_grpc.FusionServiceStub(channel)
        publisher = Publisher(mqtt)
        await warm_up(publisher, stub, recording[0])
        stamps = [await publisher.publish(message) for message in frames]
        assert await tracks_at(stub, stamps[-1]) == target_positions(frames[-1])


def tier_envs(cloud_port: int, roadside_port: int, mqtt_url: str) -> dict[str, dict[str, str]]:
    return {
        "cloud": {"ROADLINK_CLOUD_LISTEN": f"127.0.0.1:{cloud_port}"},
        "roadside": {
            "ROADLINK_ROADSIDE_LISTEN": f"127.0.0.1:{roadside_port}",
            "ROADLINK_ROADSIDE_CLOUD_TARGET": f"127.0.0.1:{cloud_port}",
        },
        "gateway": {
            "ROADLINK_GATEWAY_MQTT_URL": mqtt_url,
            "ROADLINK_GATEWAY_ROADSIDE_TARGET": f"127.0.0.1:{roadside_port}",
        },
    }


def config_toml(cloud_port: int, roadside_port: int, mqtt_url: str) -> str:
    return (
        f'[cloud]\nlisten = "127.0.0.1:{cloud_port}"\n\n'
        f'[roadside]\nlisten = "127.0.0.1:{roadside_port}"\ncloud_target = "127.0.0.1:{cloud_port}"\n\n'
        f'[gateway]\nmqtt_url = "{mqtt_url}"\nroadside_target = "127.0.0.1:{roadside_port}"\n'
    )


async def test_tiers_configured_by_environment(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    cloud_port, roadside_port = probe_port(), probe_port()
    envs = tier_envs(cloud_port, roadside_port, mosquitto.url)
    async with deployment(tmp_path, (cloud_port, roadside_port), envs) as running:
        await check_frames_flow(running, mosquitto)
    running.assert_clean_exit()


async def test_tiers_configured_by_toml_file(tmp_path: Path, mosquitto: MosquittoBroker) -> None:
    cloud_port, roadside_port = probe_port(), probe_port()
    config = tmp_path / "roadlink.toml"
    config.write_text(config_toml(cloud_port, roadside_port, mosquitto.url))
    envs: dict[str, dict[str, str]] = {"cloud": {}, "roadside": {}, "gateway": {}}
    async with deployment(tmp_path, (cloud_port, roadside_port), envs, ["--config", str(config)]) as running:
        await check_frames_flow(running, mosquitto)
    running.assert_clean_exit()
