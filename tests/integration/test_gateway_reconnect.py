"""The gateway's MQTT reconnects: exponential backoff with full jitter while the real broker is down.

The broker is stopped mid-stream and kept down until the gateway has failed several connection attempts;
each wait must lie within its attempt's ceiling (initial * 2^attempt, capped) and the waits must be drawn,
not a fixed schedule. After the restart the gateway reconnects and every frame reaches the node.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence

import aiomqtt
import pytest
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from gateway.node import GatewayNode
from gateway.settings import GatewaySettings
from roadlink.domain.clock import now_unix_ms
from roadlink.replay import restamp_payload
from roadlink.samples import RADAR_DEVICE_ID, load_radar_recording
from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, ServiceBinding, start_server
from tests.broker import MosquittoBroker

pytestmark = pytest.mark.integration

TOPIC = f"rsu/{RADAR_DEVICE_ID}/radar/radar0"
INITIAL_S = 0.05
MAX_S = 0.4
ATTEMPTS_WHILE_DOWN = 6
WAIT_S = 60.0


class CountingSink:
    """Counts frames by source time (each published frame has a distinct one)."""

    def __init__(self) -> None:
        self.times: Counter[int] = Counter()

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        self.times.update(frame.time_unix_ms for frame in batch.frames)
        return ()


async def _publish(broker: MosquittoBroker, payloads: Sequence[tuple[int, bytes]]) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as mqtt:
        for _, payload in payloads:
            await mqtt.publish(TOPIC, payload, qos=1)


async def _wait_until(condition: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(WAIT_S):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"no {what} within {WAIT_S} s") from None


async def test_reconnect_waits_are_jittered_exponential_backoff(mosquitto: MosquittoBroker) -> None:
    sink = CountingSink()
    binding = ServiceBinding(PublishServicer(sink), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], "127.0.0.1:0")
    settings = GatewaySettings.load(
        gateway_id="gw-reconnect",
        mqtt_url=mosquitto.url,
        roadside_target=f"127.0.0.1:{server.port}",
        max_age_ms=600_000,
        mqtt_reconnect_initial_s=INITIAL_S,
        mqtt_reconnect_max_s=MAX_S,
    )
    recording, base = load_radar_recording(), now_unix_ms()
    payloads = [(base + i, restamp_payload(recording[i].payload, base + i)) for i in range(40)]
    try:
        async with GatewayNode(settings) as gateway:
            await gateway.wait_connected(10.0)
            await _publish(mosquitto, payloads[:20])
            await asyncio.to_thread(mosquitto.stop)
            delays = gateway.source.reconnect_delays_s
            await _wait_until(lambda: len(delays) >= ATTEMPTS_WHILE_DOWN, "failed attempts while the broker is down")
            waits = list(delays)
            await asyncio.to_thread(mosquitto.start)
            await gateway.wait_connected(WAIT_S)
            await _publish(mosquitto, payloads[20:])
            await _wait_until(lambda: all(sink.times[t] for t, _ in payloads), "every frame at the node")
    finally:
        await server.stop(0)
    ceilings = [min(MAX_S, INITIAL_S * 2**attempt) for attempt in range(len(waits))]
    assert all(0.0 <= wait <= ceiling for wait, ceiling in zip(waits, ceilings, strict=True)), (waits, ceilings)
    assert len(set(waits)) == len(waits), waits  # drawn at random, not paho's fixed doubling
    assert set(sink.times) == {t for t, _ in payloads}
