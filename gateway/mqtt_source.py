"""The gateway's MQTT adapter: a paho network thread feeding the asyncio pipeline in batches.

Why paho and a thread: the network thread decodes MQTT packets off the event loop, appends them to a
locked inbox and wakes asyncio once per batch, which keeps up where an `async for` per message does not
(see ../shared/perf-ceilings.md).

Delivery: QoS 1 in, acknowledged late. A message's PUBACK is sent only when the uplink reports that the
roadside node has acknowledged everything the message produced (or right away for a duplicate, or after
it was dead-lettered). If the gateway or the broker dies first, the broker redelivers the message after
the reconnect (persistent session: clean_start False, session expiry), and the pipeline drops what was
already forwarded. The inbox is bounded by the MQTT 5 receive maximum we announce: the broker never has
more unacknowledged QoS 1 messages in flight to us, so backpressure reaches the broker.

Ordering: normalized frames pass through `gateway.reorder.ReorderWindow` (numbered sensor streams are put
back in order within `reorder_window_ms`; late frames are counted). A held frame's MQTT message stays
unacknowledged until the frame is delivered, so a crash while holding loses nothing either.

Scaling out: with `shared_group` set, workers join one MQTT 5 shared subscription and the broker spreads
messages over them, moving a dead worker's share to the others. Frames of one source may then reach the
node out of order across workers; every frame carries its source time, and consumers order by it (the
cloud store keeps the newest, fusion reorders within its window). A worker never holds frames then (each
sees only part of a stream, so gaps are normal): its reorder window is 0.

Reconnects: paho's network thread reconnects after a lost session or a failed attempt, waiting an
exponential backoff with full jitter (`roadlink.wire.backoff.Backoff`, from `mqtt_reconnect_initial_s` up to
`mqtt_reconnect_max_s`; reset by a successful CONNACK).

Invalid messages are published to `<dead_letter_prefix>/<original topic>` as JSON
{topic, reason, detail, field, receive_time_unix_ms, payload_base64}, counted by reason and logged; the
stream goes on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.metrics import GatewayMetrics
from gateway.pipeline import Pipeline
from gateway.reorder import OrderingStats, Released, ReorderWindow
from gateway.settings import GatewaySettings
from roadlink.domain.errors import ConfigurationError, ValidationError
from roadlink.wire.backoff import Backoff
from roadlink.wire.uplink import BatchUplink

__all__ = ["MqttSource", "broker_address"]

_log = logging.getLogger(__name__)
_WAKE_TIMEOUT_S = 1.0
_STALL_LOG_INTERVAL_S = 5.0
_YIELD_EVERY = 8


def _now_ms() -> int:
    """Gateway wall clock, unix ms."""
    return time.time_ns() // 1_000_000


def broker_address(url: str) -> tuple[str, int]:
    """(host, port) of an mqtt://host:port URL (port defaults to 1883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ConfigurationError(f"broker URL must look like mqtt://host:port, got {url!r}")
    return parts.hostname, parts.port or 1883


@dataclass(frozen=True, slots=True)
class _Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    receive_time_unix_ms: int


@dataclass(slots=True)
class _Delivery:
    """One MQTT message in flight: acknowledged once all `remaining` items it produced are delivered."""

    inbound: _Inbound
    remaining: int


class MqttSource:
    """Owns the MQTT session of one gateway. Run `run()` as a task owned by the caller."""

    def __init__(
        self,
        settings: GatewaySettings,
        pipeline: Pipeline,
        uplink: BatchUplink,
        metrics: GatewayMetrics,
        ordering: OrderingStats | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._host, self._port = broker_address(settings.mqtt_url)
        self._pipeline = pipeline
        self._uplink = uplink
        window_ms = settings.reorder_window_ms if settings.shared_group is None else 0
        self._order: ReorderWindow[_Delivery] = ReorderWindow(window_ms, settings.reorder_max_frames, stats=ordering)
        self._lock = threading.Lock()
        self._inbox: list[_Inbound] = []
        self._wake = asyncio.Event()
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: paho.Client | None = None
        self._backoff = Backoff(settings.mqtt_reconnect_initial_s, settings.mqtt_reconnect_max_s)
        self._attempt = 0  # failed attempts since the last successful connect; paho thread only
        self.reconnect_delays_s: deque[float] = deque(maxlen=64)
        """The most recent reconnect waits, seconds (newest last)."""
        self.dead_lettered = 0
        self.acked = 0
        self.connected = asyncio.Event()

    async def run(self) -> None:
        """Consume until cancelled; paho's thread reconnects, waiting as `_schedule_reconnect` says."""
        self._loop = asyncio.get_running_loop()
        client = self._client = self._make_client()
        if self._settings.mqtt_version == 5:
            client.connect_async(self._host, self._port, 30, clean_start=False, properties=self._connect_props())
        else:
            client.connect_async(self._host, self._port, 30)
        client.loop_start()
        try:
            while True:
                await self._drain()
        finally:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
            self.connected.clear()

    def _make_client(self) -> paho.Client:
        v5 = self._settings.mqtt_version == 5
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._settings.gateway_id,
            clean_session=None if v5 else False,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            manual_ack=True,
        )
        client.max_inflight_messages_set(1_000)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _connect_props(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho ships it untyped
        props.SessionExpiryInterval = self._settings.mqtt_session_expiry_s
        props.ReceiveMaximum = self._settings.mqtt_receive_maximum
        return props

    # -- paho network thread -------------------------------------------------------------------------

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            _log.warning("MQTT connect to %s:%d refused: %s", self._host, self._port, reason)
            return
        self._attempt = 0
        client.subscribe([(self._subscription(route.topic_filter), 1) for route in self._settings.routes])
        self._call_soon(self.connected.set)

    def _subscription(self, topic_filter: str) -> str:
        group = self._settings.shared_group
        return topic_filter if group is None else f"$share/{group}/{topic_filter}"

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        level = logging.INFO if reason.value == 0 else logging.WARNING  # 0: we disconnected on purpose
        _log.log(level, "MQTT session to %s:%d ended: %s", self._host, self._port, reason)
        self._call_soon(self.connected.clear)
        self._schedule_reconnect(client)

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        _log.warning("MQTT connect to %s:%d failed (attempt %d)", self._host, self._port, self._attempt + 1)
        self._schedule_reconnect(client)

    def _schedule_reconnect(self, client: paho.Client) -> None:
        """Set the wait before paho's next connection attempt: exponential backoff with full jitter.

        paho's own schedule doubles a fixed delay, so every gateway cut off by one broker restart would
        come back in the same instant; a delay drawn uniformly from [0, min(max, initial * 2^attempt)] spreads
        them. Setting min = max pins paho's next wait to exactly that value (paho runs it in its thread).
        """
        delay_s = self._backoff.delay_s(self._attempt)
        self._attempt += 1
        self.reconnect_delays_s.append(delay_s)
        client.reconnect_delay_set(delay_s, delay_s)  # type: ignore[arg-type]  # annotated int; sleeps float s

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        inbound = _Inbound(message.topic, bytes(message.payload), message.mid, message.qos, _now_ms())
        with self._lock:
            self._inbox.append(inbound)
            if self._wake_pending:
                return
            self._wake_pending = True
        self._call_soon(self._wake.set)

    def _call_soon(self, callback: Any) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                self._loop.call_soon_threadsafe(callback)

    # -- event loop ----------------------------------------------------------------------------------

    async def _drain(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._wake_timeout_s()):
                await self._wake.wait()
        self._wake.clear()
        with self._lock:
            batch, self._inbox = self._inbox, []
            self._wake_pending = False
        for index, inbound in enumerate(batch):
            await self._handle(inbound)
            if index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let the uplink writer and ack reader run during a long drain
        for released in self._order.expire(_now_ms()):
            await self._forward(released)

    def _wake_timeout_s(self) -> float:
        """How long to wait for messages: until the reorder window next releases a held frame, at most 1 s."""
        deadline_ms = self._order.next_deadline_ms()
        if deadline_ms is None:
            return _WAKE_TIMEOUT_S
        return min(_WAKE_TIMEOUT_S, max(0.0, (deadline_ms - _now_ms()) / 1000))

    async def _handle(self, inbound: _Inbound) -> None:
        started = time.perf_counter()
        try:
            items = self._pipeline.process(inbound.topic, inbound.payload, inbound.receive_time_unix_ms)
        except ValidationError as error:
            self._dead_letter(inbound, error)
            self._ack(inbound)
            return
        finally:
            self._metrics.normalize_seconds.observe(time.perf_counter() - started)
        if not items:
            self._ack(inbound)
            return
        delivery, now_ms, push = _Delivery(inbound, len(items)), _now_ms(), self._order.push
        for field, message in items:
            for released in push(field, message, delivery, now_ms):
                await self._forward(released)

    def _delivered(self, delivery: _Delivery) -> None:
        """One item of `delivery` is acknowledged by the node; the MQTT message is, once all of them are."""
        delivery.remaining -= 1
        if delivery.remaining:
            return
        inbound = delivery.inbound
        self._metrics.delivery_seconds.observe((_now_ms() - inbound.receive_time_unix_ms) / 1000)
        self._ack(inbound)

    async def _forward(self, released: Released[_Delivery]) -> None:
        field, message, delivery = released
        on_done = functools.partial(self._delivered, delivery)
        while True:
            try:
                await self._uplink.send(field, message, timeout_s=_STALL_LOG_INTERVAL_S, on_done=on_done)
                return
            except TimeoutError:
                _log.warning("uplink buffer full for %.0f s; holding MQTT intake", _STALL_LOG_INTERVAL_S)

    def _ack(self, inbound: _Inbound) -> None:
        if inbound.qos > 0 and self._client is not None:
            self._client.ack(inbound.mid, inbound.qos)
        self.acked += 1

    def _dead_letter(self, inbound: _Inbound, error: ValidationError) -> None:
        self.dead_lettered += 1
        _log.info("dead-lettered message on %s: %s", inbound.topic, error)
        record = {
            "topic": inbound.topic,
            "reason": error.reason,
            "detail": error.detail,
            "field": error.field,
            "receive_time_unix_ms": inbound.receive_time_unix_ms,
            "payload_base64": base64.b64encode(inbound.payload[: self._settings.max_payload_bytes]).decode(),
        }
        if self._client is not None:
            self._client.publish(
                f"{self._settings.dead_letter_prefix}/{inbound.topic}", json.dumps(record).encode(), qos=1
            )
