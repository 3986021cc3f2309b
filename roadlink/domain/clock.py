"""Time in roadlink: integer unix epoch milliseconds everywhere, and per-source clock offsets.

Sources (RSUs, vehicles) stamp data with their own clocks. The gateway compares each source time with its
own receive time; the minimum of (receive - source) over a sliding window is the best estimate of
(transport delay - clock offset), since the fastest message had the least queueing.
"""

from __future__ import annotations

import time
from collections import deque

__all__ = ["ClockOffsetEstimator", "now_unix_ms"]


def now_unix_ms() -> int:
    """Wall-clock time as integer unix epoch milliseconds."""
    return time.time_ns() // 1_000_000


class ClockOffsetEstimator:
    """Estimates `source clock - receiver clock` (ms) for one source from (source, receive) time pairs.

    Keeps the last `window` samples (a bounded deque: the oldest sample is dropped when full). The estimate
    is the maximum of (source - receive) over the window, i.e. the sample with the least transport delay, so
    it is biased by the minimum one-way delay (typically < 1 ms on a LAN).
    """

    def __init__(self, window: int = 64) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._samples: deque[int] = deque(maxlen=window)

    def add(self, source_time_unix_ms: int, receive_time_unix_ms: int) -> None:
        """Record one message's source and receive times."""
        self._samples.append(source_time_unix_ms - receive_time_unix_ms)

    @property
    def offset_ms(self) -> int | None:
        """Current estimate of source minus receiver clock, ms; None before the first sample."""
        return max(self._samples) if self._samples else None

    def to_receiver_time(self, source_time_unix_ms: int) -> int:
        """Map a source timestamp onto the receiver's clock (identity before the first sample)."""
        offset = self.offset_ms
        return source_time_unix_ms if offset is None else source_time_unix_ms - offset
