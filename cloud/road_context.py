"""The latest MapData and SPaT per intersection: what the lane detectors and situation streams need.

Edge batches carry ``maps`` and ``signal_timings`` (``PublishRequest`` fields 8 and 7); the ingest turns
them into :class:`~cloud.map_lanes.IntersectionLanes` and domain SPaT and hands them here. This store

- keeps the newest MapData geometry per ``intersection_id`` (the last received wins, so a corrected map
  replaces the old one) and builds one :class:`~roadlink.advisories.RoadMap` of all of them, in the frame
  of the first intersection received, rebuilt only when a map changed;
- keeps the newest SPaT per ``intersection_id`` (by SPaT time: a late, older message never replaces a
  newer one) and forgets SPaT older than ``max_signal_age_ms`` against the caller's clock;
- locates intersections by their MapData reference point, so :meth:`RoadContext.signals_in` can give a
  vehicle the signal states of the intersections in its area. Without MapData, the position of the RSU
  that sent the SPaT (from its heartbeats) stands in; SPaT with neither still feeds the detectors but
  goes to no situation stream.

Bounds: at most ``max_intersections`` maps and as many SPaT; beyond that the least recently updated one
is evicted (and counted in ``evicted``). Call from the event loop only (not thread-safe); the values it
returns are immutable and may be handed to a worker thread.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from cloud.map_lanes import IntersectionLanes
from cloud.zone_advisories import contains_many
from roadlink.advisories import RoadMap
from roadlink.domain.geodesy import FloatArray
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.spatial import Area, Position

__all__ = ["RoadContext"]


class RoadContext:
    """Newest map geometry and signal state per intersection (module docstring)."""

    def __init__(self, *, max_signal_age_ms: int = 3_000, max_intersections: int = 4_096) -> None:
        self._max_signal_age_ms = max_signal_age_ms
        self._max_intersections = max_intersections
        self._maps: OrderedDict[int, IntersectionLanes] = OrderedDict()
        self._signals: OrderedDict[int, SignalPhaseAndTiming] = OrderedDict()
        self._senders: dict[int, Position] = {}
        self._located: tuple[list[int], FloatArray, FloatArray] | None = None  # ids, lat, lon; None = rebuild
        self._road_map: RoadMap | None = None
        self._stale = False
        self.maps_received = 0
        self.signals_received = 0
        self.signals_out_of_order = 0
        self.evicted = 0

    @property
    def intersection_count(self) -> int:
        """Intersections with MapData."""
        return len(self._maps)

    def update_map(self, intersections: Iterable[IntersectionLanes]) -> None:
        """Take in the intersections of one MapData (each replaces its previous geometry)."""
        for intersection in intersections:
            self.maps_received += 1
            self._maps.pop(intersection.intersection_id, None)
            self._maps[intersection.intersection_id] = intersection
            self._evict(self._maps)
            self._stale = True
            self._located = None

    def update_signal(self, spat: SignalPhaseAndTiming, sender_position: Position | None = None) -> None:
        """Take in one SPaT; an older one than held for its intersection is ignored and counted.

        `sender_position` (the sending RSU's position) locates the intersection while it has no MapData.
        """
        self.signals_received += 1
        if sender_position is not None and self._senders.get(spat.intersection_id) != sender_position:
            self._senders[spat.intersection_id] = sender_position
            self._located = None
        held = self._signals.get(spat.intersection_id)
        if held is not None and spat.time_unix_ms < held.time_unix_ms:
            self.signals_out_of_order += 1
            return
        self._signals.pop(spat.intersection_id, None)
        self._signals[spat.intersection_id] = spat
        self._evict(self._signals)
        for gone in [i for i in self._senders if i not in self._signals]:
            del self._senders[gone]
            self._located = None

    def road_map(self) -> RoadMap | None:
        """All intersections' lanes in one frame, None before the first MapData."""
        if self._stale:
            self._road_map = _build_map(self._maps.values())
            self._stale = False
        return self._road_map

    def signals(self, now_unix_ms: int) -> tuple[SignalPhaseAndTiming, ...]:
        """The newest SPaT of every intersection not older than ``max_signal_age_ms`` at ``now_unix_ms``."""
        oldest = now_unix_ms - self._max_signal_age_ms
        return tuple(spat for spat in self._signals.values() if spat.time_unix_ms >= oldest)

    def signals_in(self, area: Area, now_unix_ms: int) -> list[SignalPhaseAndTiming]:
        """Current SPaT of the intersections located in ``area`` (one vectorized test over all locations)."""
        ids, latitude, longitude = self._locations()
        oldest = now_unix_ms - self._max_signal_age_ms
        inside = [ids[row] for row in np.flatnonzero(contains_many(area, latitude, longitude)).tolist()]
        found = [self._signals.get(intersection_id) for intersection_id in inside]
        return [spat for spat in found if spat is not None and spat.time_unix_ms >= oldest]

    def _locations(self) -> tuple[list[int], FloatArray, FloatArray]:
        """Ids and ``(N,)`` latitudes/longitudes of every located intersection, rebuilt when one moved."""
        if self._located is None:
            places = {**self._senders, **{i: known.reference for i, known in self._maps.items()}}
            ids = list(places)
            latitude = np.array([places[i].latitude_deg for i in ids], dtype=np.float64)
            longitude = np.array([places[i].longitude_deg for i in ids], dtype=np.float64)
            self._located = (ids, latitude, longitude)
        return self._located

    def reference_of(self, intersection_id: int) -> Position | None:
        """The MapData reference point of an intersection, else its SPaT sender's position, else None."""
        known = self._maps.get(intersection_id)
        return self._senders.get(intersection_id) if known is None else known.reference

    def _evict(self, held: OrderedDict[int, IntersectionLanes] | OrderedDict[int, SignalPhaseAndTiming]) -> None:
        while len(held) > self._max_intersections:
            held.popitem(last=False)
            self.evicted += 1


def _build_map(intersections: Iterable[IntersectionLanes]) -> RoadMap | None:
    """One RoadMap in the frame of the first intersection, None without intersections."""
    known = list(intersections)
    if not known:
        return None
    return RoadMap.from_intersections(known[0].origin, [(i.origin, i.lanes) for i in known])
