"""Out-of-order lidar frames through the running gateway: put back in order, or released after the window.

A numbered stream (lidar frame counters) is published out of order over the real broker; the node behind the
gateway must receive it in counter order, and a frame whose predecessor never comes must still arrive once the
reorder window has passed (released by the MQTT source's timed wake-up, with the gap counted).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from gateway.node import GatewayNode
from gateway.settings import GatewaySettings, Route
from roadlink.domain.clock import now_unix_ms
from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServiceBinding, start_server
from tests.broker import MosquittoBroker

pytestmark = pytest.mark.integration

SAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "gateway" / "lidar_sensor_frame.json").read_text()
)
POSE = {"latitude_deg": 40.5657, "longitude_deg": -105.0318, "height_m": 1480.0, "yaw_deg": 90.0}
TOPIC = "rsu/rsu-9/lidar/lidar0"
WAIT_S = 30.0


class OrderSink:
    """Records the frame numbers the node receives, in arrival order."""

    def __init__(self) -> None:
        self.sequences: list[int] = []

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        self.sequences.extend(frame.frame_sequence for frame in batch.frames)
        return ()


def _frame(counter: int, base_ms: int) -> bytes:
    return json.dumps({**SAMPLE, "frame_counter": counter, "timestamp_ms": base_ms + 100 * counter}).encode()


async def _wait_until(condition: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(WAIT_S):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"no {what} within {WAIT_S} s") from None


@pytest.fixture
async def node_sink() -> AsyncIterator[tuple[OrderSink, RunningServer]]:
    sink = OrderSink()
    binding = ServiceBinding(PublishServicer(sink), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], "127.0.0.1:0")
    yield sink, server
    await server.stop(0)


def _settings(broker: MosquittoBroker, server: RunningServer, window_ms: int) -> GatewaySettings:
    route = Route(topic_filter="rsu/+/lidar/+", adapter="lidar_sensor_frame", options=POSE)
    return GatewaySettings.load(
        gateway_id=f"gw-reorder-{window_ms}",
        mqtt_url=broker.url,
        roadside_target=f"127.0.0.1:{server.port}",
        routes=[route],
        max_age_ms=600_000,
        reorder_window_ms=window_ms,
    )


async def _publish(broker: MosquittoBroker, counters: Sequence[int], base_ms: int) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as mqtt:
        for counter in counters:
            await mqtt.publish(TOPIC, _frame(counter, base_ms), qos=1)


async def test_frames_published_out_of_order_reach_the_node_in_order(
    mosquitto: MosquittoBroker, node_sink: tuple[OrderSink, RunningServer]
) -> None:
    sink, server = node_sink
    base = now_unix_ms() - 1_000
    async with GatewayNode(_settings(mosquitto, server, window_ms=60_000)) as gateway:
        await gateway.wait_connected(10.0)
        await _publish(mosquitto, [1, 3, 4, 2, 5], base)
        await _wait_until(lambda: len(sink.sequences) == 5, "five frames at the node")
        await _wait_until(lambda: gateway.source.acked == 5, "five MQTT acknowledgements")
    assert sink.sequences == [1, 2, 3, 4, 5]
    assert (gateway.ordering.reordered, gateway.ordering.late, gateway.ordering.gaps) == (2, 0, 0)


async def test_a_frame_after_a_missing_one_is_released_when_the_window_has_passed(
    mosquitto: MosquittoBroker, node_sink: tuple[OrderSink, RunningServer]
) -> None:
    sink, server = node_sink
    base = now_unix_ms() - 1_000
    async with GatewayNode(_settings(mosquitto, server, window_ms=200)) as gateway:
        await gateway.wait_connected(10.0)
        await _publish(mosquitto, [1, 3], base)
        await _wait_until(lambda: len(sink.sequences) == 2, "both frames at the node")
        await _publish(mosquitto, [2], base)
        await _wait_until(lambda: len(sink.sequences) == 3, "the late frame at the node")
    assert sink.sequences == [1, 3, 2]
    assert (gateway.ordering.reordered, gateway.ordering.late, gateway.ordering.gaps) == (1, 1, 1)
