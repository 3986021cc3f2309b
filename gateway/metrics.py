"""Prometheus metrics of one gateway, served over HTTP (`metrics_listen`).

Counters and gauges are read from the node's own counters at scrape time, so the hot path pays nothing
for them; only two histograms are observed per message: normalization time and delivery latency (MQTT
receipt to the roadside node's acknowledgement). Each node has its own registry, so several nodes can run
in one process (tests, the demo).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.pipeline import PipelineStats
from gateway.reorder import OrderingStats
from roadlink.wire.uplink import BatchUplink

__all__ = ["GatewayMetrics"]

_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class _NodeCollector(Collector):
    """Turns the pipeline's and uplink's counters into metric families at scrape time."""

    def __init__(
        self, stats: PipelineStats, ordering: OrderingStats, uplink: BatchUplink, dead_lettered: Callable[[], int]
    ) -> None:
        self._stats = stats
        self._ordering = ordering
        self._uplink = uplink
        self._dead_lettered = dead_lettered

    def collect(self) -> Iterator[Metric]:
        stats, uplink = self._stats, self._uplink
        by_source = CounterMetricFamily("roadlink_gateway_messages", "MQTT messages in, by source", labels=["source"])
        for source, count in stats.by_source.items():
            by_source.add_metric([source], count)
        rejected = CounterMetricFamily(
            "roadlink_gateway_rejected", "Messages dead-lettered, by reason", labels=["reason"]
        )
        for reason, count in stats.rejected.items():
            rejected.add_metric([reason], count)
        yield by_source
        yield rejected
        yield CounterMetricFamily("roadlink_gateway_items_out", "Normalized items forwarded", value=stats.items_out)
        yield CounterMetricFamily("roadlink_gateway_objects_out", "Detected objects forwarded", value=stats.objects_out)
        yield CounterMetricFamily("roadlink_gateway_duplicates", "Re-deliveries dropped", value=stats.duplicates)
        ordering = self._ordering
        yield CounterMetricFamily(
            "roadlink_gateway_out_of_order", "Frames forwarded late, behind newer ones", value=ordering.late
        )
        yield CounterMetricFamily(
            "roadlink_gateway_reordered", "Frames held back and released in order", value=ordering.reordered
        )
        yield CounterMetricFamily(
            "roadlink_gateway_sequence_gaps", "Frame numbers skipped after the reorder window", value=ordering.gaps
        )
        yield CounterMetricFamily("roadlink_gateway_dead_letter_published", "Dead letters", value=self._dead_lettered())
        yield CounterMetricFamily(
            "roadlink_gateway_uplink_dropped", "Droppable items dropped", value=uplink.stats.items_dropped
        )
        yield CounterMetricFamily("roadlink_gateway_uplink_acked", "Items acknowledged", value=uplink.stats.items_acked)
        yield GaugeMetricFamily("roadlink_gateway_buffer_items", "Items queued or unacked", value=uplink.pending_items)
        yield GaugeMetricFamily(
            "roadlink_gateway_uplink_lag_seconds",
            "Age of the oldest unacked batch",
            value=uplink.oldest_unacked_age_ms / 1000,
        )
        yield GaugeMetricFamily(
            "roadlink_gateway_uplink_connected", "1 when connected", value=int(uplink.stats.connected)
        )


class GatewayMetrics:
    """The registry, the two histograms, and the HTTP endpoint (started by `serve`)."""

    def __init__(
        self, stats: PipelineStats, ordering: OrderingStats, uplink: BatchUplink, dead_lettered: Callable[[], int]
    ) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_NodeCollector(stats, ordering, uplink, dead_lettered))
        self.normalize_seconds = Histogram(
            "roadlink_gateway_normalize_seconds",
            "Time to normalize one message",
            registry=self.registry,
            buckets=(0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05),
        )
        self.delivery_seconds = Histogram(
            "roadlink_gateway_delivery_seconds",
            "MQTT receipt to roadside acknowledgement",
            registry=self.registry,
            buckets=_LATENCY_BUCKETS_S,
        )
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def serve(self, address: str) -> int:
        """Serve /metrics on host:port (port 0 = any free one) in a daemon thread; returns the port."""
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
