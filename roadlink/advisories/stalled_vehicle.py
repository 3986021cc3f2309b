"""Stalled vehicle in a travel lane: slower than ``max_speed_mps`` for longer than ``dwell_s``.

Stateful: :class:`StalledVehicleDetector` remembers since when each vehicle has been a stall candidate
(one entry per candidate track, dropped as soon as it is no longer one, so memory is bounded by the
track count). A vehicle on a VEHICLE lane (see :mod:`.lane_match`) slower than ``max_speed_mps`` is a
candidate unless

- it is queued: the next vehicle ahead on the same lane is within ``queue_gap_m`` bumper to bumper (only
  the head of a queue can be the cause), or
- it waits at a stop line: its front is within ``stop_line_zone_m`` of its lane's stop line (and its centre
  has not passed it) while the lane's signal holds traffic (red, flashing red, red-yellow) or its signal
  state is unknown (see :meth:`SignalLookup.holds`).

The timer restarts whenever a vehicle stops being a candidate (for example while it waits at a red).
A candidate for ``dwell_s`` or longer gets an advisory: CRITICAL on lanes with a speed limit of
``critical_speed_limit_mps`` or more, else WARNING. The hazard is present now (time-to-event 0); the
zone covers the vehicle and ``zone_upstream_m`` of its lane behind it, where traffic comes from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roadlink.advisories.advisory_record import Draft, issue_advisories
from roadlink.advisories.lane_match import LaneMatch, match_lanes
from roadlink.advisories.map_model import RoadMap
from roadlink.advisories.scene import VEHICLE_CLASSES, BoolArray, Scene, unit_vectors
from roadlink.advisories.signal_state import SignalLookup
from roadlink.domain.classes import ObjectClass
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, AdvisoryType, Severity

__all__ = ["StalledVehicleConfig", "StalledVehicleDetector"]


@dataclass(frozen=True, slots=True)
class StalledVehicleConfig:
    """Thresholds of :class:`StalledVehicleDetector` (m/s, seconds, metres)."""

    max_speed_mps: float = 0.5
    dwell_s: float = 15.0
    queue_gap_m: float = 10.0
    stop_line_zone_m: float = 10.0
    critical_speed_limit_mps: float = 19.0
    zone_upstream_m: float = 100.0
    classes: frozenset[ObjectClass] = VEHICLE_CLASSES


class StalledVehicleDetector:
    """Remembers stall candidates between calls; call :meth:`detect` with every new picture.

    Not thread-safe: call it from one thread (for example the fusion worker that produces the picture).
    """

    def __init__(self, config: StalledVehicleConfig = StalledVehicleConfig()) -> None:
        self.config = config
        self._since_unix_ms: dict[int, int] = {}

    @property
    def candidates(self) -> dict[int, int]:
        """A copy of the current candidates: track id -> since when (unix ms)."""
        return dict(self._since_unix_ms)

    def reset(self) -> None:
        """Forget every candidate."""
        self._since_unix_ms.clear()

    def detect(
        self,
        scene: Scene,
        road_map: RoadMap,
        signals: SignalLookup | Sequence[SignalPhaseAndTiming] = (),
    ) -> list[Advisory]:
        """Update the candidates with ``scene`` and return an advisory for each one stalled long enough."""
        scene = scene.in_frame(road_map.origin)
        lookup = signals if isinstance(signals, SignalLookup) else SignalLookup(tuple(signals))
        match = match_lanes(scene, road_map, scene.of_classes(self.config.classes))
        rows = np.flatnonzero(self._candidates(scene, road_map, match, lookup))
        now = scene.time_unix_ms
        since = {}
        for index in rows:
            track_id = scene.track_id(int(index))
            start = self._since_unix_ms.get(track_id, now)
            since[track_id] = now if start > now else start
        self._since_unix_ms = since
        stalled = [int(i) for i in rows if now - since[scene.track_id(int(i))] >= self.config.dwell_s * 1000]
        drafts = [self._draft(scene, road_map, match, row, since[scene.track_id(row)]) for row in stalled]
        return issue_advisories(scene, AdvisoryType.STALLED_VEHICLE, drafts)

    def _candidates(self, scene: Scene, road_map: RoadMap, match: LaneMatch, signals: SignalLookup) -> BoolArray:
        """``(N,)`` rows that are slow, on a lane, at the head of their queue and not waiting at a signal."""
        slow = match.matched & (scene.speed_mps < self.config.max_speed_mps)
        queued = _queued(scene, match, self.config.queue_gap_m)
        front_to_stop = match.to_stop_line_m - scene.length_m / 2
        at_stop = (match.to_stop_line_m >= 0.0) & (front_to_stop <= self.config.stop_line_zone_m)
        waiting = np.zeros(len(scene), dtype=bool)
        for index in np.flatnonzero(slow & ~queued & at_stop):
            waiting[index] = signals.holds(road_map.lanes[int(match.lane[index])], scene.time_unix_ms)
        return np.asarray(slow & ~queued & ~waiting)

    def _draft(self, scene: Scene, road_map: RoadMap, match: LaneMatch, row: int, since_unix_ms: int) -> Draft:
        lane = road_map.lanes[int(match.lane[row])]
        limit = lane.speed_limit_mps
        critical = limit is not None and limit >= self.config.critical_speed_limit_mps
        dwell_s = (scene.time_unix_ms - since_unix_ms) / 1000
        description = (
            f"Stalled vehicle: track {scene.track_id(row)} stopped on lane {lane.lane_id} of intersection "
            f"{lane.intersection_id} for {dwell_s:.0f} s"
        )
        upstream = scene.position_m[row] - unit_vectors(match.lane_heading_deg[row : row + 1])[0] * (
            self.config.zone_upstream_m
        )
        points = np.stack([scene.position_m[row], upstream])
        severity = Severity.CRITICAL if critical else Severity.WARNING
        return Draft(severity, (row,), points, 0.0, description)


def _queued(scene: Scene, match: LaneMatch, queue_gap_m: float) -> BoolArray:
    """``(N,)`` True where the next vehicle ahead on the same lane is within ``queue_gap_m`` (bumper to bumper)."""
    queued = np.zeros(len(scene), dtype=bool)
    rows = np.flatnonzero(match.matched)
    order = rows[np.lexsort((match.along_m[rows], match.lane[rows]))]
    behind, ahead = order[:-1], order[1:]
    gap = match.along_m[ahead] - match.along_m[behind] - (scene.length_m[ahead] + scene.length_m[behind]) / 2
    queued[behind] = (match.lane[ahead] == match.lane[behind]) & (gap <= queue_gap_m)
    return queued
