"""Exponential backoff with full jitter, for every reconnect loop."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry `attempt` (0-based): uniform in [0, min(max_s, initial_s * factor**attempt)]."""

    initial_s: float = 0.05
    max_s: float = 5.0
    factor: float = 2.0

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `attempt`."""
        ceiling = min(self.max_s, self.initial_s * self.factor ** min(attempt, 64))
        return (rng or random).uniform(0.0, ceiling)
