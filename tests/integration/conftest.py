"""The three tiers wired together on loopback: real Mosquitto, real gRPC servers on port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from gateway.node import GatewayNode
from gateway.settings import GatewaySettings
from roadside.node import RoadsideNode
from roadside.settings import RoadsideSettings
from tests.broker import MosquittoBroker


@dataclass
class Tiers:
    """A running gateway -> roadside -> cloud chain."""

    broker: MosquittoBroker
    gateway: GatewayNode
    roadside: RoadsideNode
    cloud: CloudNode

    @property
    def cloud_target(self) -> str:
        return f"127.0.0.1:{self.cloud.port}"


@pytest.fixture
async def tiers(mosquitto: MosquittoBroker, unique_topic: str) -> AsyncIterator[Tiers]:
    async with CloudNode(CloudSettings.load(listen="127.0.0.1:0")) as cloud:
        roadside_settings = RoadsideSettings.load(listen="127.0.0.1:0", cloud_target=f"127.0.0.1:{cloud.port}")
        async with RoadsideNode(roadside_settings) as roadside:
            gateway_settings = GatewaySettings.load(
                gateway_id=f"gw-{unique_topic.rsplit('/', 1)[-1][:8]}",
                mqtt_url=mosquitto.url,
                roadside_target=f"127.0.0.1:{roadside.port}",
            )
            async with GatewayNode(gateway_settings) as gateway:
                await gateway.wait_connected(10.0)
                yield Tiers(mosquitto, gateway, roadside, cloud)
