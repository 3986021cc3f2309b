"""A bounded window of latency samples with percentiles, for live summaries."""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["LatencyWindow"]


class LatencyWindow:
    """Keeps the newest `capacity` samples (ms); older ones fall out (bounded deque)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._samples: deque[float] = deque(maxlen=capacity)
        self.total = 0

    def add(self, latency_ms: float) -> None:
        """Record one sample, milliseconds."""
        self._samples.append(latency_ms)
        self.total += 1

    def percentiles(self, *q: float) -> tuple[float, ...]:
        """The q-th percentiles (0..100) of the window, ms; NaN when empty."""
        if not self._samples:
            return tuple(float("nan") for _ in q)
        values = np.percentile(np.fromiter(self._samples, dtype=np.float64), q)
        return tuple(float(v) for v in values)

    def clear(self) -> None:
        """Drop the window (the total count stays)."""
        self._samples.clear()
