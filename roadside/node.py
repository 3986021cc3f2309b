"""Composition root of the roadside node: publish service in, cloud uplink out, owned by one object."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from v2x.cloud.v1 import downlink_service_pb2 as dl_pb2
from v2x.cloud.v1 import downlink_service_pb2_grpc as dl_grpc
from v2x.roadside.v1 import map_pb2, perception_pb2, signal_pb2
from v2x.roadside.v1 import roadside_service_pb2_grpc as rs_grpc

from roadlink.domain.errors import ConfigurationError
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.spatial import Circle, Position
from roadlink.wire.convert import frame_to_proto
from roadlink.wire.publish_server import BatchSink, PublishServicer
from roadlink.wire.server import ROADSIDE_SERVICE, RunningServer, ServerTls, ServiceBinding, start_server
from roadlink.wire.uplink import BatchUplink, channel_credentials
from roadside.broadcast import BroadcastEncoder, MemoryRadioSink, MqttRadioSink, RadioBroadcaster, Standard
from roadside.downlink import CloudDownlink, DownlinkItem, VehicleDownlinkServicer, VehicleHub
from roadside.durable_uplink import DurableUplink, OutboxLedger
from roadside.forwarding import ForwardingSink
from roadside.heartbeat import SensorActivity, build_status
from roadside.local_fusion import LocalFusion, LocalFusionSink
from roadside.map_store import MapStore, SignalMapSink
from roadside.metrics import RoadsideMetrics
from roadside.settings import RoadsideSettings

__all__ = ["RoadsideNode"]

_VEHICLE_DOWNLINK_SERVICE = dl_pb2.DESCRIPTOR.services_by_name["VehicleDownlinkService"].full_name


class RoadsideNode:
    """A running roadside node (async context manager). Owns its uplink task and cancels it on exit."""

    def __init__(self, settings: RoadsideSettings) -> None:
        self.settings = settings
        self.uplink = _make_uplink(settings)
        self.activity = SensorActivity()
        self.sink = ForwardingSink(self.uplink, self.activity)
        self.position = _position(settings)
        self.radio_sink: MqttRadioSink | MemoryRadioSink | None = _make_radio_sink(settings)
        self.radio = (
            RadioBroadcaster(_broadcast_encoder(settings), self.radio_sink) if self.radio_sink is not None else None
        )
        self.hub = _RadioHub(
            self.radio,
            center=self.position,
            service_range_m=settings.service_range_m,
            queue_items=settings.vehicle_queue_items,
            keepalive_s=settings.vehicle_keepalive_s,
        )
        self.fusion = (
            LocalFusion(
                settings.node_id, self._publish_fused, origin=self.position, period_ms=settings.local_fusion_period_ms
            )
            if settings.local_fusion
            else None
        )
        self.cloud_downlink = _make_cloud_downlink(settings, self.hub, self.position)
        self.maps = MapStore(self.hub.set_map)
        self._loaded_maps = self.maps.load_files(settings.map_files)
        self._started_s = time.monotonic()
        self._heartbeat_task: asyncio.Task[None] | None = None
        ledger = OutboxLedger(self.uplink.outbox) if isinstance(self.uplink, DurableUplink) else None
        self.publish = PublishServicer(self._intake(), ledger=ledger)
        self.metrics = RoadsideMetrics(self.uplink, self.activity, self.publish.stats)
        self._server: RunningServer | None = None
        self._uplink_task: asyncio.Task[None] | None = None
        self._radio_task: asyncio.Task[None] | None = None

    def _intake(self) -> BatchSink:
        """Gateway batches: signal timing and maps served, sensor frames fused (when on), the rest forwarded."""
        inner: BatchSink = self.sink
        if self.fusion is not None:
            inner = LocalFusionSink(self.sink, self.fusion, self.activity)
        return SignalMapSink(inner, self.maps, self.hub.publish_signal)

    @property
    def port(self) -> int:
        """The bound gRPC port."""
        if self._server is None:
            raise RuntimeError("roadside node is not running")
        return self._server.port

    def counters(self) -> dict[str, int]:
        """Named counters for the demo summary."""
        return {
            "items_accepted": self.publish.stats.items_accepted,
            "items_forwarded": self.sink.items_forwarded,
            "uplink_acked": self.uplink.stats.items_acked,
            "uplink_pending": self.uplink.pending_items,
            "fused_frames": self.fusion.stats.frames_published if self.fusion is not None else 0,
        }

    async def __aenter__(self) -> Self:
        self._uplink_task = asyncio.create_task(self.uplink.run(), name="roadside-cloud-uplink")
        self._heartbeat_task = asyncio.create_task(self._send_heartbeats(), name="roadside-heartbeat")
        if isinstance(self.radio_sink, MqttRadioSink):
            self._radio_task = asyncio.create_task(self.radio_sink.run(), name="roadside-radio-broadcast")
        if self._loaded_maps:
            await self.uplink.send_many("maps", self._loaded_maps, timeout_s=self.settings.heartbeat_s)
        if self.fusion is not None:
            await self.fusion.__aenter__()
        if self.cloud_downlink is not None:
            await self.cloud_downlink.__aenter__()
        bindings = [
            ServiceBinding(self.publish, rs_grpc.add_RoadsideServiceServicer_to_server, ROADSIDE_SERVICE),
            ServiceBinding(
                VehicleDownlinkServicer(self.hub),
                dl_grpc.add_VehicleDownlinkServiceServicer_to_server,
                _VEHICLE_DOWNLINK_SERVICE,
            ),
        ]
        settings = self.settings
        tls = ServerTls.from_settings(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
        self._server = await start_server(bindings, settings.listen, access_tokens=settings.access_tokens, tls=tls)
        if settings.metrics_listen is not None:
            await asyncio.to_thread(self.metrics.serve, settings.metrics_listen, asyncio.get_running_loop())
        return self

    async def _publish_fused(self, frame: PerceptionFrame) -> None:
        """A local fusion cycle's frame: to the vehicles in range now, and into the cloud uplink."""
        message = frame_to_proto(frame)
        self.hub.publish_frame(message)
        await self.uplink.send("frames", message, timeout_s=self.settings.local_fusion_period_ms / 1000)

    async def _send_heartbeats(self) -> None:
        """Register with the cloud now, then report health every heartbeat interval."""
        settings = self.settings
        position = (self.position.latitude_deg, self.position.longitude_deg) if self.position else None
        while True:
            sensors = self.activity.take_statuses(offline_after_s=2 * settings.heartbeat_s)
            status = build_status(
                settings.node_id, sensors, started_s=self._started_s, interval_s=settings.heartbeat_s, position=position
            )
            await self.uplink.send("statuses", status, timeout_s=settings.heartbeat_s)
            await asyncio.sleep(settings.heartbeat_s)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in (self._heartbeat_task, self._radio_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await asyncio.to_thread(self.metrics.close)
        if self._server is not None:
            await self._server.stop()
            self._server = None
        if self.cloud_downlink is not None:
            await self.cloud_downlink.__aexit__(None, None, None)
        if self.fusion is not None:
            await self.fusion.__aexit__(None, None, None)
        await self.uplink.flush(timeout_s=2.0)
        if self._uplink_task is not None:
            self._uplink_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._uplink_task
        if isinstance(self.uplink, DurableUplink):
            await self.uplink.close()


class _RadioHub(VehicleHub):
    """The vehicle hub that also hands what it serves to the radio (SPaT, MAP, RSI / TIM, fused perception)."""

    def __init__(self, radio: RadioBroadcaster | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._radio = radio

    def publish_frame(self, frame: perception_pb2.PerceptionFrame) -> None:
        super().publish_frame(frame)
        if self._radio is not None:
            self._radio.frame(frame)

    def publish_signal(self, spat: signal_pb2.SignalPhaseAndTiming) -> None:
        super().publish_signal(spat)
        if self._radio is not None:
            self._radio.signal(spat)

    def set_map(self, map_data: map_pb2.MapData) -> None:
        super().set_map(map_data)
        if self._radio is not None:
            self._radio.map(map_data)

    def publish_item(self, item: DownlinkItem) -> None:
        super().publish_item(item)
        if self._radio is not None and item.response.HasField("road_side_info"):
            self._radio.road_side_info(item.response.road_side_info)


def _make_radio_sink(settings: RoadsideSettings) -> MqttRadioSink | MemoryRadioSink | None:
    """Where broadcast frames go: the radio's MQTT broker, memory (no broker set), or nowhere (standard off)."""
    if settings.broadcast_standard == "off":
        return None
    if settings.broadcast_mqtt_url is None:
        return MemoryRadioSink(settings.broadcast_queue_items)
    parts = urlsplit(settings.broadcast_mqtt_url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ConfigurationError(f"broadcast_mqtt_url must look like mqtt://host:port, got {parts.geturl()!r}")
    topic = settings.broadcast_topic.replace("{node_id}", settings.node_id)
    return MqttRadioSink(parts.hostname, parts.port or 1883, topic, capacity=settings.broadcast_queue_items)


def _broadcast_encoder(settings: RoadsideSettings) -> BroadcastEncoder:
    standard: Standard = "j2735" if settings.broadcast_standard == "j2735" else "csae"
    if settings.broadcast_rsu_id_hex is not None:
        rsu_id = bytes.fromhex(settings.broadcast_rsu_id_hex)
    else:
        rsu_id = settings.node_id.encode()[:8].ljust(8, b"\0")
    return BroadcastEncoder(standard, rsu_id=rsu_id, wrap_1609_2=settings.broadcast_wrap_1609_2)


def _position(settings: RoadsideSettings) -> Position | None:
    """The node's installed position, when both coordinates are set."""
    lat, lon = settings.latitude_deg, settings.longitude_deg
    return Position(lat, lon) if lat is not None and lon is not None else None


def _make_cloud_downlink(
    settings: RoadsideSettings, hub: VehicleHub, position: Position | None
) -> CloudDownlink | None:
    """The cloud downlink for the node's zone (a circle of its service range), when enabled; it uses the
    cloud uplink's TLS / mTLS settings (cloud_ca_file, cloud_client_cert_file, cloud_client_key_file)."""
    if not settings.cloud_downlink:
        return None
    if position is None:
        raise ConfigurationError("cloud_downlink needs the node's latitude_deg and longitude_deg (its zone)")
    return CloudDownlink(
        hub,
        settings.cloud_target,
        settings.node_id,
        Circle(position, settings.service_range_m),
        default_validity_s=settings.downlink_default_validity_s,
        access_token=settings.cloud_access_token,
        credentials=channel_credentials(
            settings.cloud_ca_file, settings.cloud_client_cert_file, settings.cloud_client_key_file
        ),
    )


def _make_uplink(settings: RoadsideSettings) -> BatchUplink:
    """The cloud uplink: on disk (store and forward) with a state_dir, else in memory; TLS with cloud_ca_file."""
    linger_s = settings.uplink_linger_ms / 1000
    if settings.state_dir is None:
        return BatchUplink(
            settings.cloud_target,
            settings.node_id,
            max_batch_items=settings.uplink_batch_items,
            linger_s=linger_s,
            capacity_items=settings.uplink_capacity_items,
            access_token=settings.cloud_access_token,
            ca_file=settings.cloud_ca_file,
            client_cert_file=settings.cloud_client_cert_file,
            client_key_file=settings.cloud_client_key_file,
        )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return DurableUplink(
        settings.cloud_target,
        settings.node_id,
        settings.state_dir / "outbox.db",
        max_batch_items=settings.uplink_batch_items,
        linger_s=linger_s,
        capacity_items=settings.uplink_capacity_items,
        durable_sync=settings.durable_sync,
        access_token=settings.cloud_access_token,
        ca_file=settings.cloud_ca_file,
        client_cert_file=settings.cloud_client_cert_file,
        client_key_file=settings.cloud_client_key_file,
    )
