"""The gateway's Prometheus endpoint and gRPC health service, scraped and called for real."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Sequence

import aiomqtt
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
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


class NullSink:
    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        return ()


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def test_metrics_and_health(mosquitto: MosquittoBroker) -> None:
    binding = ServiceBinding(
        PublishServicer(NullSink()), rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE
    )
    server = await start_server([binding], "127.0.0.1:0")
    settings = GatewaySettings.load(
        gateway_id="gw-observed",
        mqtt_url=mosquitto.url,
        roadside_target=f"127.0.0.1:{server.port}",
        metrics_listen="127.0.0.1:0",
        health_listen="127.0.0.1:0",
    )
    topic = f"rsu/{RADAR_DEVICE_ID}/radar/radar0"
    try:
        async with GatewayNode(settings) as gateway:
            await gateway.wait_connected(10.0)
            async with aiomqtt.Client(mosquitto.host, mosquitto.port) as mqtt:
                for message in load_radar_recording()[:5]:
                    await mqtt.publish(topic, restamp_payload(message.payload, now_unix_ms()), qos=1)
                await mqtt.publish(topic, b"not json", qos=1)
            async with asyncio.timeout(20):
                while gateway.source.acked < 6:
                    await asyncio.sleep(0.02)
            samples = await asyncio.to_thread(_scrape, gateway.metrics.port)
            async with aio.insecure_channel(f"127.0.0.1:{gateway.health_port}") as channel:
                health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    finally:
        await server.stop(0)
    assert samples[f'roadlink_gateway_messages_total{{source="{RADAR_DEVICE_ID}"}}'] == 6
    assert samples['roadlink_gateway_rejected_total{reason="not_json"}'] == 1
    assert samples["roadlink_gateway_items_out_total"] == 5
    assert samples["roadlink_gateway_delivery_seconds_count"] == 5
    assert samples["roadlink_gateway_normalize_seconds_count"] == 6
    assert samples["roadlink_gateway_buffer_items"] == 0
    assert samples["roadlink_gateway_uplink_connected"] == 1
    assert health.status == health_pb2.HealthCheckResponse.SERVING
