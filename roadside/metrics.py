"""Prometheus metrics of one roadside node, served over HTTP (`metrics_listen`).

Gauges and counters are read at scrape time, so the forwarding path pays nothing for them. The snapshot is
taken on the node's event loop (the HTTP server runs in its own thread, and the uplink's queues belong to
the loop); a scrape waits at most `_SNAPSHOT_TIMEOUT_S` for it. One histogram is observed as acks arrive:
the time from writing a batch to the cloud to its acknowledgement. Each node has its own registry, so
several nodes can run in one process (tests, the demo).

Metrics (all prefixed `roadlink_roadside_`):
- `queue_items{field}`: messages held for the cloud per batch field (on disk with the durable outbox:
  queued or sent and not yet acknowledged; in memory: queued plus unacknowledged). `queue_bytes{field}`:
  their payload bytes (durable outbox only).
- `uplink_lag_seconds`: age of the oldest message not yet acknowledged by the cloud (0 when none).
- `uplink_ack_seconds`: histogram of write-to-ack time per batch, s.
- `dropped_total{field}`: messages dropped under the queue's bound (bulk only), since start.
- `sensor_frames_total{sensor}` and `sensor_frame_rate_hz{sensor}`: frames received per sensor, and the
  rate over the current heartbeat window (what the next `RsuStatus` reports); `rate()` of the counter
  gives any other window.
- `uplink_acked_total`, `uplink_connected`, `accepted_items_total`, `duplicate_batches_total`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from roadlink.wire.publish_server import PublishStats
from roadlink.wire.uplink import BatchUplink
from roadside.durable_uplink import DurableUplink
from roadside.heartbeat import SensorActivity

__all__ = ["RoadsideMetrics"]

_ACK_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
_SNAPSHOT_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything one scrape reports, read on the event loop."""

    held: dict[str, int]
    held_bytes: dict[str, int] | None
    dropped: dict[str, int]
    lag_s: float
    acked: int
    connected: bool
    accepted: int
    duplicates: int
    sensors: dict[str, tuple[int, float]]  # sensor id -> (frames ever, frames/s in the heartbeat window)


class _NodeCollector(Collector):
    """Turns a snapshot of the node's counters into metric families at scrape time."""

    def __init__(self, uplink: BatchUplink, activity: SensorActivity, publish: PublishStats) -> None:
        self._uplink = uplink
        self._activity = activity
        self._publish = publish
        self.loop: asyncio.AbstractEventLoop | None = None

    def collect(self) -> Iterator[Metric]:
        if self.loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._snapshot(), self.loop)
        yield from _families(future.result(timeout=_SNAPSHOT_TIMEOUT_S))

    async def _snapshot(self) -> _Snapshot:
        uplink, activity = self._uplink, self._activity
        window_s = max(time.monotonic() - activity.window_start_s, 1e-3)
        return _Snapshot(
            held=uplink.held_by_field(),
            held_bytes=uplink.held_bytes_by_field() if isinstance(uplink, DurableUplink) else None,
            dropped=dict(uplink.stats.dropped_by_field),
            lag_s=uplink.oldest_unacked_age_ms / 1000,
            acked=uplink.stats.items_acked,
            connected=uplink.stats.connected,
            accepted=self._publish.items_accepted,
            duplicates=self._publish.batches_duplicate,
            sensors={name: (s.frames, s.window_frames / window_s) for name, s in activity.sensors.items()},
        )


def _families(snap: _Snapshot) -> Iterator[Metric]:
    """The metric families of one snapshot."""
    prefix = "roadlink_roadside_"
    yield _labelled(GaugeMetricFamily, "queue_items", "Messages held for the cloud, by field", "field", snap.held)
    if snap.held_bytes is not None:
        yield _labelled(GaugeMetricFamily, "queue_bytes", "Payload bytes on disk, by field", "field", snap.held_bytes)
    yield _labelled(CounterMetricFamily, "dropped", "Bulk messages dropped at the bound", "field", snap.dropped)
    yield GaugeMetricFamily(
        f"{prefix}uplink_lag_seconds", "Age of the oldest message the cloud has not acknowledged", value=snap.lag_s
    )
    yield CounterMetricFamily(f"{prefix}uplink_acked", "Messages acknowledged by the cloud", value=snap.acked)
    yield GaugeMetricFamily(f"{prefix}uplink_connected", "1 when the cloud link is up", value=int(snap.connected))
    yield CounterMetricFamily(f"{prefix}accepted_items", "Items accepted from gateways", value=snap.accepted)
    yield CounterMetricFamily(f"{prefix}duplicate_batches", "Resent gateway batches dropped", value=snap.duplicates)
    frames = {sensor: count for sensor, (count, _) in snap.sensors.items()}
    rates = {sensor: rate for sensor, (_, rate) in snap.sensors.items()}
    yield _labelled(CounterMetricFamily, "sensor_frames", "Frames received, by sensor", "sensor", frames)
    yield _labelled(
        GaugeMetricFamily, "sensor_frame_rate_hz", "Frames/s in the heartbeat window, by sensor", "sensor", rates
    )


def _labelled(
    kind: type[GaugeMetricFamily] | type[CounterMetricFamily],
    name: str,
    documentation: str,
    label: str,
    values: dict[str, int] | dict[str, float],
) -> Metric:
    family = kind(f"roadlink_roadside_{name}", documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


class RoadsideMetrics:
    """The registry, the write-to-ack histogram (fed by the uplink), and the HTTP endpoint."""

    def __init__(self, uplink: BatchUplink, activity: SensorActivity, publish: PublishStats) -> None:
        self.registry = CollectorRegistry()
        self._collector = _NodeCollector(uplink, activity, publish)
        self.registry.register(self._collector)
        self.ack_seconds = Histogram(
            "roadlink_roadside_uplink_ack_seconds",
            "Time from writing a batch to the cloud to its acknowledgement",
            registry=self.registry,
            buckets=_ACK_BUCKETS_S,
        )
        uplink.ack_observer = self.ack_seconds.observe
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def serve(self, address: str, loop: asyncio.AbstractEventLoop) -> int:
        """Serve /metrics on host:port (port 0 = any free one) in a daemon thread; returns the port.

        `loop` is the node's event loop, where each scrape reads its snapshot.
        """
        self._collector.loop = loop
        host, _, port = address.rpartition(":")
        self._server, self._thread = start_http_server(int(port), host or "127.0.0.1", registry=self.registry)
        self.port = int(self._server.server_port)
        return self.port

    def close(self) -> None:
        """Stop the HTTP endpoint (blocks briefly: call from a thread)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._collector.loop = None
