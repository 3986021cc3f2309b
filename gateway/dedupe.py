"""Recognizes messages delivered twice (QoS 1 redelivery after a reconnect, or a source resending).

Keeps digests of the last `capacity` (topic, payload) pairs in a bounded LRU; the oldest is forgotten
first. blake2b-128 makes accidental collisions negligible.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

__all__ = ["RecentMessages"]


class RecentMessages:
    """Bounded memory of recently seen messages."""

    def __init__(self, capacity: int = 65_536) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def seen_before(self, topic: str, payload: bytes) -> bool:
        """True if this exact message was seen recently; otherwise remember it and return False."""
        hasher = hashlib.blake2b(topic.encode(), digest_size=16)
        hasher.update(b"\0")
        hasher.update(payload)
        digest = hasher.digest()
        if digest in self._seen:
            self._seen.move_to_end(digest)
            return True
        self._seen[digest] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return False
