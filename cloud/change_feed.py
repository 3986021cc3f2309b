"""Tells situation streams that the picture changed, so updates go out when data arrives.

Without it a stream would sample the store on a fixed tick and every object would wait up to one period
(100 ms at 10 Hz) for the next tick. With it, a stream sends as soon as the store changes, and the rate
only caps how often.
"""

from __future__ import annotations

import asyncio

__all__ = ["ChangeFeed"]


class ChangeFeed:
    """A version counter with a wake-up for waiters; `notify` is cheap and never blocks."""

    def __init__(self) -> None:
        self.version = 0
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Record a change and wake every waiter."""
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait_newer(self, version: int, timeout_s: float) -> bool:
        """Wait until `self.version > version`; False if `timeout_s` passed first."""
        if self.version > version:
            return True
        try:
            async with asyncio.timeout(timeout_s):
                await self._event.wait()
        except TimeoutError:
            return False
        return True
