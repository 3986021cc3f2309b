"""The gateway's MQTT adapter: subscribe, hand each message to the pipeline, forward or dead-letter.

Invalid messages are published to `<dead_letter_prefix>/<original topic>` as JSON
{topic, reason, detail, receive_time_unix_ms, payload_base64}, counted by reason in the pipeline stats and
logged; the stream goes on. Valid items go to the uplink; when its buffer is full this loop waits, so the
gateway stops reading the broker (backpressure) instead of dropping.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from urllib.parse import urlsplit

import aiomqtt

from gateway.pipeline import Pipeline
from gateway.settings import GatewaySettings
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.errors import ConfigurationError, ValidationError
from roadlink.wire.backoff import Backoff
from roadlink.wire.uplink import BatchUplink

__all__ = ["MqttSource", "broker_address"]

_log = logging.getLogger(__name__)
_STALL_LOG_INTERVAL_S = 5.0


def broker_address(url: str) -> tuple[str, int]:
    """(host, port) of an mqtt://host:port URL (port defaults to 1883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ConfigurationError(f"broker URL must look like mqtt://host:port, got {url!r}")
    return parts.hostname, parts.port or 1883


class MqttSource:
    """Owns the MQTT session of one gateway. Run `run()` as a task owned by the caller."""

    def __init__(self, settings: GatewaySettings, pipeline: Pipeline, uplink: BatchUplink) -> None:
        self._settings = settings
        self._host, self._port = broker_address(settings.mqtt_url)
        self._pipeline = pipeline
        self._uplink = uplink
        self._backoff = Backoff(initial_s=0.1, max_s=10.0)
        self.dead_lettered = 0
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Consume, reconnecting with backoff, until cancelled."""
        attempt = 0
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                _log.warning("MQTT session to %s:%d lost: %s", self._host, self._port, exc)
            finally:
                self.connected.clear()
            await asyncio.sleep(self._backoff.delay_s(attempt))
            attempt += 1

    async def _session(self) -> None:
        client = aiomqtt.Client(self._host, self._port, identifier=self._settings.gateway_id, clean_session=False)
        async with client:
            for route in self._settings.routes:
                await client.subscribe(route.topic_filter, qos=1)
            self.connected.set()
            async for message in client.messages:
                await self._handle(client, message.topic.value, _payload_bytes(message.payload))

    async def _handle(self, client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        received = now_unix_ms()
        try:
            items = self._pipeline.process(topic, payload, received)
        except ValidationError as error:
            await self._dead_letter(client, topic, payload, received, error)
            return
        for field, item in items:
            await self._forward(field, item)

    async def _forward(self, field: str, item: object) -> None:
        while True:
            try:
                await self._uplink.send(field, item, timeout_s=_STALL_LOG_INTERVAL_S)  # type: ignore[arg-type]
                return
            except TimeoutError:
                _log.warning("uplink buffer full for %.0f s; holding MQTT intake", _STALL_LOG_INTERVAL_S)

    async def _dead_letter(
        self, client: aiomqtt.Client, topic: str, payload: bytes, received: int, error: ValidationError
    ) -> None:
        self.dead_lettered += 1
        _log.info("dead-lettered message on %s: %s", topic, error)
        record = {
            "topic": topic,
            "reason": error.reason,
            "detail": error.detail,
            "field": error.field,
            "receive_time_unix_ms": received,
            "payload_base64": base64.b64encode(payload[: self._settings.max_payload_bytes]).decode(),
        }
        await client.publish(f"{self._settings.dead_letter_prefix}/{topic}", json.dumps(record).encode(), qos=1)


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    return b"" if payload is None else str(payload).encode()
