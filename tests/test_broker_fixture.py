"""The Mosquitto fixture is a real broker: QoS 1 round trip, and persistent sessions across a restart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.broker import MosquittoBroker

pytestmark = pytest.mark.integration

TIMEOUT_S = 10.0
SESSION_EXPIRY_S = 3600


def _persistent_client(broker: MosquittoBroker, identifier: str, protocol: str) -> aiomqtt.Client:
    """A client whose session (subscriptions and queued QoS 1 messages) outlives its connection."""
    if protocol == "v311":
        return aiomqtt.Client(
            broker.host,
            broker.port,
            identifier=identifier,
            protocol=aiomqtt.ProtocolVersion.V311,
            clean_session=False,
        )
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it untyped
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    return aiomqtt.Client(
        broker.host,
        broker.port,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=properties,
    )


@asynccontextmanager
async def _connected(client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Client]:
    async with asyncio.timeout(TIMEOUT_S), client:
        yield client


async def _publish(broker: MosquittoBroker, topic: str, payload: bytes) -> None:
    """Publish at QoS 1 and return once the broker has acknowledged (PUBACK)."""
    async with _connected(aiomqtt.Client(broker.host, broker.port)) as publisher:
        await publisher.publish(topic, payload, qos=1)


async def _receive(client: aiomqtt.Client, count: int) -> list[aiomqtt.Message]:
    async with asyncio.timeout(TIMEOUT_S):
        return [await anext(client.messages) for _ in range(count)]


@pytest.mark.parametrize("fixture", ["mosquitto", "mosquitto_session"])
async def test_qos1_round_trip(request: pytest.FixtureRequest, fixture: str, unique_topic: str) -> None:
    broker: MosquittoBroker = request.getfixturevalue(fixture)
    topic = f"{unique_topic}/round-trip"
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
    async with _connected(aiomqtt.Client(broker.host, broker.port)) as subscriber:
        await subscriber.subscribe(topic, qos=1)
        await _publish(broker, topic, b"hello")
        [message] = await _receive(subscriber, 1)
    assert message.topic.matches(topic)
    assert message.payload == b"hello"
    assert message.qos == 1


@pytest.mark.parametrize("protocol", ["v311", "v5"])
async def test_persistent_session_survives_broker_restart(
    mosquitto: MosquittoBroker, unique_topic: str, protocol: str
) -> None:
    topic = f"{unique_topic}/persistent"
    identifier = f"subscriber-{uuid.uuid4().hex}"
    port = mosquitto.port
    async with _connected(_persistent_client(mosquitto, identifier, protocol)) as subscriber:
        await subscriber.subscribe(topic, qos=1)
    await _publish(mosquitto, topic, b"queued before restart")
    await asyncio.to_thread(mosquitto.stop)
    assert not mosquitto.running
    await asyncio.to_thread(mosquitto.start)
    assert mosquitto.port == port
    await _publish(mosquitto, topic, b"queued after restart")
    async with _connected(_persistent_client(mosquitto, identifier, protocol)) as subscriber:
        messages = await _receive(subscriber, 2)
    assert [message.payload for message in messages] == [b"queued before restart", b"queued after restart"]
    assert all(message.qos == 1 for message in messages)
