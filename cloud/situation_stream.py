"""One subscriber's situation stream: sent when the picture changes, at most rate_hz, newest-only.

With a `ChangeFeed`, the producer computes an update as soon as the store changes (and at least every
`heartbeat_s` when nothing changes), then waits 1/rate_hz before the next one: the rate is a cap, not a
tick, so fresh data is not held back. Without a feed it samples every 1/rate_hz seconds.

Slow-consumer policy: updates go through a one-slot mailbox. If the previous update has not been taken by
the sender yet (the consumer is slow), it is replaced and counted in `skipped_updates`. The node therefore
never queues more than one update per stream and never blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from cloud.change_feed import ChangeFeed
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.situation import Advisory, SituationUpdate, Track
from roadlink.domain.spatial import Area

__all__ = ["MAX_RATE_HZ", "SituationStream"]

MAX_RATE_HZ = 50.0


class SituationStream:
    """Yields SituationUpdates for a (movable) area at `rate_hz` from `query(area)`."""

    def __init__(
        self,
        query: Callable[[Area], list[Track]],
        area: Area,
        rate_hz: float,
        *,
        feed: ChangeFeed | None = None,
        heartbeat_s: float = 1.0,
        advisories: Callable[[Area], list[Advisory]] | None = None,
    ) -> None:
        if not 0 < rate_hz <= MAX_RATE_HZ:
            raise ValueError(f"rate_hz must be in (0, {MAX_RATE_HZ}], got {rate_hz}")
        self._query = query
        self._advisories = advisories
        self._feed = feed
        self._heartbeat_s = heartbeat_s
        self.area = area
        self._period_s = 1.0 / rate_hz
        self._slot: SituationUpdate | None = None
        self._ready = asyncio.Event()
        self._sequence = 0
        self.skipped_updates = 0

    async def updates(self) -> AsyncIterator[SituationUpdate]:
        """Run the producer and yield updates as the consumer takes them; ends when cancelled."""
        producer = asyncio.create_task(self._produce(), name="situation-producer")
        try:
            while True:
                async with asyncio.timeout(max(5.0, 10 * self._period_s)):
                    await self._ready.wait()
                self._ready.clear()
                if producer.done():
                    producer.result()  # re-raises the query's failure instead of hiding it
                update, self._slot = self._slot, None
                if update is not None:
                    yield update
        finally:
            producer.cancel()

    async def _produce(self) -> None:
        try:
            await self._produce_forever()
        finally:
            self._ready.set()  # wake the consumer so it sees the failure (or the cancellation)

    async def _produce_forever(self) -> None:
        seen_version = -1
        while True:
            if self._feed is not None:
                await self._feed.wait_newer(seen_version, self._heartbeat_s)
                seen_version = self._feed.version
            self._publish()
            await asyncio.sleep(self._period_s)

    def _snapshot(self) -> SituationUpdate:
        self._sequence += 1
        return SituationUpdate(
            time_unix_ms=now_unix_ms(),
            area=self.area,
            tracks=tuple(self._query(self.area)),
            advisories=tuple(self._advisories(self.area)) if self._advisories is not None else (),
            sequence=self._sequence,
            skipped_updates=self.skipped_updates,
        )

    def _publish(self) -> None:
        if self._slot is not None:
            self.skipped_updates += 1  # counted first, so the replacing update reports it
        self._slot = self._snapshot()
        self._ready.set()
