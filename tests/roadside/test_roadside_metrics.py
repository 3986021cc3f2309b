"""A running roadside node's /metrics endpoint and gRPC health, scraped over real HTTP and gRPC.

The cloud is down first (the port is free), so the node's durable outbox fills, drops bulk frames at its
bound and the uplink lag grows; then a cloud node starts on that port, everything is acknowledged, and the
write-to-ack histogram has observations.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from v2x.roadside.v1 import perception_pb2
from v2x.vehicle.v1 import vehicle_pb2

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.wire.uplink import BatchUplink
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings

pytestmark = pytest.mark.integration

FRAMES, STATES, CAPACITY = 40, 5, 15
WAIT_S = 20.0
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _scrape(port: int) -> Samples:
    """Every sample of the endpoint: (name, sorted labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def _scrape_until(port: int, condition: Callable[[Samples], bool], what: str) -> Samples:
    async with asyncio.timeout(WAIT_S):
        while True:
            samples = await asyncio.to_thread(_scrape, port)
            if condition(samples):
                return samples
            await asyncio.sleep(0.05)
    raise AssertionError(what)  # pragma: no cover - the timeout raises first


@contextlib.asynccontextmanager
async def _gateway(target: str) -> AsyncIterator[BatchUplink]:
    """A gateway-like sender: batches of at most 10 items."""
    gateway = BatchUplink(target, "gw-metrics", max_batch_items=10, linger_s=0.0)
    running = asyncio.create_task(gateway.run(), name="test-gateway")
    try:
        yield gateway
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def _health(port: int) -> int:
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        return int(response.status)


async def test_metrics_show_backlog_drops_lag_then_acks(tmp_path: Path) -> None:
    cloud_port = _free_port()
    settings = RoadsideSettings.load(
        node_id="rsu-metrics",
        listen="127.0.0.1:0",
        cloud_target=f"127.0.0.1:{cloud_port}",
        state_dir=tmp_path / "state",
        uplink_capacity_items=CAPACITY,
        metrics_listen="127.0.0.1:0",
    )
    async with RoadsideNode(settings) as node, _gateway(f"127.0.0.1:{node.port}") as gateway:
        for index in range(FRAMES):
            frame = perception_pb2.PerceptionFrame(source_id="rsu-metrics", frame_sequence=index)
            frame.provenance.sensor_ids.append("lidar0")
            await gateway.send("frames", frame)
        for index in range(STATES):
            await gateway.send("vehicle_states", vehicle_pb2.VehicleState(temporary_id=bytes([index])))
        assert await gateway.flush(WAIT_S)  # all on the node's disk, the cloud still down

        down = await _scrape_until(
            node.metrics.port, lambda s: _value(s, "roadlink_roadside_uplink_lag_seconds") > 0, "lag grows"
        )
        assert await _health(node.port) == health_pb2.HealthCheckResponse.SERVING

        held_frames = _value(down, "roadlink_roadside_queue_items", field="frames")
        dropped_frames = _value(down, "roadlink_roadside_dropped_total", field="frames")
        assert _value(down, "roadlink_roadside_queue_items", field="vehicle_states") == STATES
        assert dropped_frames > 0
        assert held_frames + dropped_frames == FRAMES
        assert _value(down, "roadlink_roadside_queue_bytes", field="vehicle_states") > 0
        assert _value(down, "roadlink_roadside_sensor_frames_total", sensor="lidar0") == FRAMES
        assert _value(down, "roadlink_roadside_sensor_frame_rate_hz", sensor="lidar0") > 0
        assert _value(down, "roadlink_roadside_uplink_connected") == 0
        assert _value(down, "roadlink_roadside_uplink_ack_seconds_count") == 0

        async with CloudNode(CloudSettings.load(listen=f"127.0.0.1:{cloud_port}")):
            up = await _scrape_until(
                node.metrics.port,
                lambda s: (
                    _value(s, "roadlink_roadside_queue_items", field="vehicle_states") == 0
                    and _value(s, "roadlink_roadside_queue_items", field="frames") == 0
                ),
                "the outbox drains",
            )

    assert _value(up, "roadlink_roadside_uplink_acked_total") >= STATES + held_frames
    assert _value(up, "roadlink_roadside_uplink_ack_seconds_count") >= 1
    assert _value(up, "roadlink_roadside_uplink_lag_seconds") == 0
    assert _value(up, "roadlink_roadside_uplink_connected") == 1
    assert _value(up, "roadlink_roadside_accepted_items_total") == FRAMES + STATES


async def test_in_memory_node_reports_what_it_holds_per_field() -> None:
    settings = RoadsideSettings.load(
        listen="127.0.0.1:0", cloud_target=f"127.0.0.1:{_free_port()}", metrics_listen="127.0.0.1:0"
    )
    async with RoadsideNode(settings) as node, _gateway(f"127.0.0.1:{node.port}") as gateway:
        for index in range(STATES):
            await gateway.send("vehicle_states", vehicle_pb2.VehicleState(temporary_id=bytes([index])))
        assert await gateway.flush(WAIT_S)

        samples = await asyncio.to_thread(_scrape, node.metrics.port)

    assert _value(samples, "roadlink_roadside_queue_items", field="vehicle_states") == STATES
    assert _value(samples, "roadlink_roadside_queue_items", field="frames") == 0
    assert not any(name == "roadlink_roadside_queue_bytes" for name, _ in samples)
