"""`roadlink demo`: every tier in one process on embedded defaults, with a live summary each second.

MQTT broker (embedded amqtt unless --mqtt-url) -> gateway -> roadside node -> cloud node -> SDK client.
The real roadside-radar recording is replayed into MQTT, one simulated connected vehicle publishes its
state at 10 Hz, and the client watches the situation around the intersection. One malformed message is
published at the start to show the dead-letter path. The cloud keeps the latest objects per source, or,
with `fused`, runs the fusion tracker.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import aiomqtt

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from gateway.mqtt_source import broker_address
from gateway.node import GatewayNode
from gateway.settings import GatewaySettings
from roadlink.domain.classes import ObjectClass
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.spatial import Circle, Dimensions, Position
from roadlink.domain.vehicle import VehicleState
from roadlink.embedded_broker import EmbeddedBroker
from roadlink.latency import LatencyWindow
from roadlink.replay import DEFAULT_RADAR_TOPIC, replay
from roadlink.samples import load_radar_recording
from roadlink.sdk.client import SituationSubscription, VehicleClient
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings

__all__ = ["DemoOptions", "DemoReport", "run_demo"]

INTERSECTION = Position(39.0742, 115.9325)
_DEMO_VEHICLE_ID = bytes.fromhex("0d3a0001")
_CONNECT_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How to run the demo. duration_s <= 0 runs until the replay ends."""

    mqtt_url: str | None = None
    speed: float = 1.0
    duration_s: float = 0.0
    loop: bool = False
    max_gap_s: float = 1.0
    fused: bool = False


@dataclass(slots=True)
class DemoReport:
    """What the subscriber saw: updates, distinct objects, object latencies (source time -> client, ms)."""

    updates: int = 0
    track_ids: set[int] = field(default_factory=set)
    latency: LatencyWindow = field(default_factory=LatencyWindow)
    last_seen: dict[int, int] = field(default_factory=dict)
    published: int = 0
    counters: dict[str, dict[str, int]] = field(default_factory=dict)


async def run_demo(options: DemoOptions, emit: Callable[[str], None] = print) -> DemoReport:
    """Run every tier and the replay; return what the subscriber saw."""
    report = DemoReport()
    async with contextlib.AsyncExitStack() as stack:
        mqtt_url = options.mqtt_url or (await stack.enter_async_context(EmbeddedBroker())).url
        cloud = await stack.enter_async_context(
            CloudNode(CloudSettings.load(node_id="demo-cloud", listen="127.0.0.1:0"))
        )
        roadside_settings = RoadsideSettings.load(listen="127.0.0.1:0", cloud_target=f"127.0.0.1:{cloud.port}")
        roadside = await stack.enter_async_context(RoadsideNode(roadside_settings))
        gateway_settings = GatewaySettings.load(
            mqtt_url=mqtt_url,
            roadside_target=f"127.0.0.1:{roadside.port}",
            mqtt_version=5 if options.mqtt_url else 311,  # the embedded amqtt broker speaks MQTT 3.1.1
        )
        gateway = await stack.enter_async_context(GatewayNode(gateway_settings))
        await gateway.wait_connected(_CONNECT_TIMEOUT_S)
        client = await stack.enter_async_context(VehicleClient(f"127.0.0.1:{cloud.port}"))
        subscription = await client.situation(Circle(INTERSECTION, 2_000.0), rate_hz=10.0)
        emit(f"demo: broker {mqtt_url}, roadside :{roadside.port}, cloud :{cloud.port}")
        nodes = {"gateway": gateway.counters, "roadside": roadside.counters, "cloud": cloud.counters}
        await _run_tasks(options, mqtt_url, client, subscription, report, nodes, emit)
        report.counters = {name: counters() for name, counters in nodes.items()}
    return report


async def _run_tasks(
    options: DemoOptions,
    mqtt_url: str,
    client: VehicleClient,
    subscription: SituationSubscription,
    report: DemoReport,
    nodes: dict[str, Callable[[], dict[str, int]]],
    emit: Callable[[str], None],
) -> None:
    tasks = [
        asyncio.create_task(_watch(subscription, report), name="demo-watch"),
        asyncio.create_task(_drive_vehicle(client), name="demo-vehicle"),
        asyncio.create_task(_summarize(report, nodes, emit), name="demo-summary"),
    ]
    stop = asyncio.Event()
    replayer = asyncio.create_task(_replay(mqtt_url, options, report, stop), name="demo-replay")
    try:
        timeout = options.duration_s if options.duration_s > 0 else None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.shield(replayer)
        stop.set()
        async with asyncio.timeout(_CONNECT_TIMEOUT_S):
            await replayer
        await asyncio.sleep(0.5)  # let the last frames reach the subscriber
    finally:
        subscription.cancel()
        for task in [replayer, *tasks]:
            task.cancel()
        await asyncio.gather(replayer, *tasks, return_exceptions=True)
    emit(_summary_line(report, nodes))


async def _replay(mqtt_url: str, options: DemoOptions, report: DemoReport, stop: asyncio.Event) -> None:
    host, port = broker_address(mqtt_url)
    async with aiomqtt.Client(host, port, identifier="roadlink-demo-replay") as mqtt:
        await mqtt.publish(DEFAULT_RADAR_TOPIC, b'{"timeStamp": "not a time", "targets": []}', qos=1)
        report.published = await replay(
            mqtt,
            load_radar_recording(),
            DEFAULT_RADAR_TOPIC,
            speed=options.speed,
            loop=options.loop,
            max_gap_s=options.max_gap_s,
            stop=stop,
        )


async def _watch(subscription: SituationSubscription, report: DemoReport) -> None:
    async for update in subscription:
        report.updates += 1
        now = now_unix_ms()
        for track in update.tracks:
            report.track_ids.add(track.track_id)
            if report.last_seen.get(track.track_id) != track.time_unix_ms:
                report.last_seen[track.track_id] = track.time_unix_ms
                report.latency.add(now - track.time_unix_ms)


async def _drive_vehicle(client: VehicleClient) -> None:
    """One connected vehicle driving north through the intersection at 10 m/s, 10 Hz."""
    publisher = client.publisher()
    count = 0
    while True:
        north_m = (count * 1.0) % 400.0 - 200.0
        position = Position(INTERSECTION.latitude_deg + north_m / 111_195.0, INTERSECTION.longitude_deg, None)
        state = VehicleState(
            temporary_id=_DEMO_VEHICLE_ID,
            time_unix_ms=now_unix_ms(),
            position=position,
            message_count=count % 128,
            speed_mps=10.0,
            heading_deg=0.0,
            size=Dimensions(4.6, 1.85),
            vehicle_class=ObjectClass.PASSENGER_CAR,
        )
        await publisher.publish(state)
        count += 1
        await asyncio.sleep(0.1)


async def _summarize(
    report: DemoReport, nodes: dict[str, Callable[[], dict[str, int]]], emit: Callable[[str], None]
) -> None:
    while True:
        await asyncio.sleep(1.0)
        emit(_summary_line(report, nodes))
        report.latency.clear()


def _summary_line(report: DemoReport, nodes: dict[str, Callable[[], dict[str, int]]]) -> str:
    gateway, roadside, cloud = nodes["gateway"](), nodes["roadside"](), nodes["cloud"]()
    p50, p99 = report.latency.percentiles(50, 99)
    latency = "n/a" if math.isnan(p50) else f"{p50:.0f}/{p99:.0f} ms"
    return (
        f"mqtt in {gateway['messages_in']:>5} | gateway out {gateway['items_out']:>5} "
        f"(dead-lettered {gateway['dead_lettered']}) | roadside fwd {roadside['items_forwarded']:>5} | "
        f"cloud frames {cloud['frames']:>5}, vehicle states {cloud['vehicle_states']:>5} | "
        f"objects seen {len(report.track_ids):>3} | source->subscriber p50/p99 {latency} (10 Hz stream)"
    )
