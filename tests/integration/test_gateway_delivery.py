"""At-least-once delivery through the gateway across a broker restart and a roadside-node restart.

Every published frame must reach the node behind the gateway (duplicates allowed, counted); the MQTT
message is acknowledged only after the node acknowledged what it produced.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence

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
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServiceBinding, start_server
from tests.broker import MosquittoBroker

pytestmark = pytest.mark.integration

TOPIC = f"rsu/{RADAR_DEVICE_ID}/radar/radar0"
FRAMES = 200
WAIT_S = 60.0


class CountingSink:
    """Counts frames by source time (each published frame has a distinct one)."""

    def __init__(self) -> None:
        self.times: Counter[int] = Counter()

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        self.times.update(frame.time_unix_ms for frame in batch.frames)
        return ()


async def _serve(sink: CountingSink, port: int = 0) -> RunningServer:
    binding = ServiceBinding(PublishServicer(sink), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    return await start_server([binding], f"127.0.0.1:{port}")


def _payloads(count: int) -> list[tuple[int, bytes]]:
    recording = load_radar_recording()
    base = now_unix_ms()
    return [(base + i, restamp_payload(recording[i % len(recording)].payload, base + i)) for i in range(count)]


async def _publish(broker: MosquittoBroker, payloads: Sequence[tuple[int, bytes]]) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as mqtt:
        for _, payload in payloads:
            await mqtt.publish(TOPIC, payload, qos=1)


async def _wait_for_all(sink: CountingSink, times: Sequence[int]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not all(sink.times[t] for t in times):
            await asyncio.sleep(0.05)


@pytest.fixture
async def gateway_to(mosquitto: MosquittoBroker) -> AsyncIterator[tuple[GatewayNode, CountingSink, RunningServer]]:
    sink = CountingSink()
    server = await _serve(sink)
    settings = GatewaySettings.load(
        gateway_id="gw-delivery",
        mqtt_url=mosquitto.url,
        roadside_target=f"127.0.0.1:{server.port}",
        max_age_ms=600_000,
    )
    async with GatewayNode(settings) as gateway:
        await gateway.wait_connected(10.0)
        yield gateway, sink, server
    await server.stop(0)


async def test_broker_restart_mid_stream_loses_nothing(
    mosquitto: MosquittoBroker, gateway_to: tuple[GatewayNode, CountingSink, RunningServer]
) -> None:
    gateway, sink, _ = gateway_to
    payloads = _payloads(FRAMES)
    await _publish(mosquitto, payloads[: FRAMES // 2])
    await asyncio.to_thread(mosquitto.stop)
    await asyncio.to_thread(mosquitto.start)
    await _publish(mosquitto, payloads[FRAMES // 2 :])
    await _wait_for_all(sink, [t for t, _ in payloads])
    assert set(sink.times) == {t for t, _ in payloads}
    assert gateway.source.dead_lettered == 0


async def test_roadside_restart_mid_stream_loses_nothing(
    mosquitto: MosquittoBroker, gateway_to: tuple[GatewayNode, CountingSink, RunningServer]
) -> None:
    gateway, sink, server = gateway_to
    payloads = _payloads(FRAMES)
    publisher = asyncio.create_task(_publish(mosquitto, payloads))
    async with asyncio.timeout(WAIT_S):
        while len(sink.times) < FRAMES // 4:
            await asyncio.sleep(0.01)
    await server.stop(0)
    await asyncio.sleep(0.5)  # the gateway keeps reading, buffering and holding MQTT acks meanwhile
    restarted = await _serve(sink, server.port)
    try:
        await publisher
        await _wait_for_all(sink, [t for t, _ in payloads])
    finally:
        await restarted.stop(0)
    assert set(sink.times) == {t for t, _ in payloads}
    assert gateway.uplink.stats.reconnects >= 1


async def test_mqtt_ack_waits_for_the_uplink(
    mosquitto: MosquittoBroker, gateway_to: tuple[GatewayNode, CountingSink, RunningServer]
) -> None:
    """With the node down, nothing is acknowledged to the broker; after it is back, everything is."""
    gateway, sink, server = gateway_to
    await server.stop(0)
    payloads = _payloads(20)
    await _publish(mosquitto, payloads)
    async with asyncio.timeout(WAIT_S):
        while gateway.pipeline.stats.messages_in < len(payloads):
            await asyncio.sleep(0.01)
    assert gateway.source.acked == 0
    restarted = await _serve(sink, server.port)
    try:
        await _wait_for_all(sink, [t for t, _ in payloads])
        async with asyncio.timeout(WAIT_S):
            while gateway.source.acked < len(payloads):
                await asyncio.sleep(0.01)
    finally:
        await restarted.stop(0)


async def test_dead_letter_reasons_cover_each_kind_of_bad_input(
    mosquitto: MosquittoBroker, gateway_to: tuple[GatewayNode, CountingSink, RunningServer]
) -> None:
    gateway, _, _ = gateway_to
    good = json.loads(load_radar_recording()[0].payload)
    future = dict(good, timeStamp=str(now_unix_ms() + 3_600_000))
    nan = json.dumps(good).replace(str(good["targets"][0]["speed"]), "NaN", 1)
    cases = {
        "not_json": b"\xff\xfe",
        "wrong_shape": b"[1, 2, 3]",
        "out_of_range": nan.encode(),
        "too_large": b"{" + b" " * (1 << 20) + b"}",
        "future": json.dumps(future).encode(),
    }
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as mqtt:
        await mqtt.subscribe("deadletter/#", qos=1)
        for payload in cases.values():
            await mqtt.publish(TOPIC, payload, qos=1)
        await mqtt.publish("rsu/x/unknown", b"{}", qos=1)  # no route: not subscribed, never reaches us
        records = []
        async with asyncio.timeout(WAIT_S):
            async for message in mqtt.messages:
                records.append(json.loads(message.payload))
                if len(records) == len(cases):
                    break
    assert [r["reason"] for r in records] == list(cases)
    assert gateway.pipeline.stats.rejected == Counter(list(cases))
