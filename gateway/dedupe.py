"""Recognizes messages delivered twice (QoS 1 redelivery after a reconnect, or a source resending).

Keeps 64-bit hashes of the last `capacity` (topic, payload) pairs in a bounded LRU; the oldest is
forgotten first. With 65,536 remembered hashes, a valid message is mistaken for a duplicate with
probability about 4e-15; a cryptographic digest would cost ~13 us per 13 KB frame on the hot path and
release the GIL to the MQTT thread on every message.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["RecentMessages"]


class RecentMessages:
    """Bounded memory of recently seen messages."""

    def __init__(self, capacity: int = 65_536) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._seen: OrderedDict[int, None] = OrderedDict()

    def seen_before(self, topic: str, payload: bytes) -> bool:
        """True if this exact message was seen recently; otherwise remember it and return False."""
        return self.seen_key_before(hash((topic, payload)))

    def seen_key_before(self, key: object) -> bool:
        """True if `key` (any hashable identity, e.g. a source's frame number) was seen recently."""
        digest = hash(key)
        if digest in self._seen:
            self._seen.move_to_end(digest)
            return True
        self._seen[digest] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return False
