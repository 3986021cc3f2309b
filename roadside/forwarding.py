"""The roadside node's `BatchSink`: every accepted item goes into the cloud uplink.

A gateway batch is acknowledged once its items are in the uplink's buffer: in memory, or with a durable
uplink on disk together with the batch's sequence number (one transaction, so exactly once across a crash;
inside the publish servicer's commit group the batch is staged and committed with the others of its group).
When that buffer is full the sink waits, so the node stops reading the gateway's stream and backpressure
reaches the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence

from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadlink.wire.publish_server import batch_item_count
from roadlink.wire.uplink import BATCH_FIELDS, BatchUplink
from roadside.durable_uplink import DurableUplink
from roadside.heartbeat import SensorActivity

__all__ = ["ForwardingSink"]

_FORWARD_TIMEOUT_S = 30.0


class ForwardingSink:
    """Forwards batches to the cloud uplink. Local fusion of the node's own sensors comes later."""

    def __init__(self, uplink: BatchUplink, activity: SensorActivity | None = None) -> None:
        self._uplink = uplink
        self._activity = activity or SensorActivity()
        self.items_forwarded = 0

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        """Queue every item for the cloud; TimeoutError (stream aborted, batch resent) if stuck > 30 s."""
        self._activity.record(batch)
        if isinstance(self._uplink, DurableUplink):
            await self._uplink.store_batch(batch, timeout_s=_FORWARD_TIMEOUT_S)
            self.items_forwarded += batch_item_count(batch)
            return ()
        for field in sorted(BATCH_FIELDS):
            items = getattr(batch, field)
            if items:
                await self._uplink.send_many(field, items, timeout_s=_FORWARD_TIMEOUT_S)
                self.items_forwarded += len(items)
        return ()
