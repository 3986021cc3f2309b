"""Two gateway workers share one broker's load through an MQTT 5 shared subscription."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

import aiomqtt
import pytest
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from gateway.node import GatewayNode
from gateway.settings import GatewaySettings
from roadlink.domain.clock import now_unix_ms
from roadlink.replay import restamp_payload
from roadlink.samples import load_radar_recording
from roadlink.wire.publish_server import PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, ServiceBinding, start_server
from tests.broker import MosquittoBroker

pytestmark = pytest.mark.integration

FRAMES = 400
SOURCES = 8


class CountingSink:
    """Counts frames by (source, source time)."""

    def __init__(self) -> None:
        self.frames: Counter[tuple[str, int]] = Counter()

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        self.frames.update((f.source_id, f.time_unix_ms) for f in batch.frames)
        return ()


async def test_two_workers_split_the_load_without_loss_or_duplicates(mosquitto: MosquittoBroker) -> None:
    sink = CountingSink()
    binding = ServiceBinding(PublishServicer(sink), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE)
    server = await start_server([binding], "127.0.0.1:0")
    recording = load_radar_recording()
    base = now_unix_ms()
    sent = {(f"RSU{i % SOURCES}", base + i) for i in range(FRAMES)}

    def settings(worker: int) -> GatewaySettings:
        return GatewaySettings.load(
            gateway_id=f"gw-worker-{worker}",
            mqtt_url=mosquitto.url,
            roadside_target=f"127.0.0.1:{server.port}",
            shared_group="gateways",
        )

    try:
        async with GatewayNode(settings(1)) as one, GatewayNode(settings(2)) as two:
            await one.wait_connected(10.0)
            await two.wait_connected(10.0)
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as mqtt:
                for i in range(FRAMES):
                    payload = restamp_payload(recording[i % len(recording)].payload, base + i)
                    await mqtt.publish(f"rsu/RSU{i % SOURCES}/radar/radar0", payload, qos=1)
            async with asyncio.timeout(30):
                while sum(sink.frames.values()) < FRAMES:
                    await asyncio.sleep(0.02)
            shares = (one.pipeline.stats.messages_in, two.pipeline.stats.messages_in)
    finally:
        await server.stop(0)
    assert set(sink.frames) == sent
    assert max(sink.frames.values()) == 1
    assert sum(shares) == FRAMES
    assert min(shares) > FRAMES // 10, shares
