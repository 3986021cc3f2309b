"""The cloud node's picture through the fusion tracker: one de-duplicated track per object.

Edge data is buffered as it arrives (cheap, on the event loop). Every `period_ms` the buffered frames and
vehicle states become detections in the tile's ENU frame and go through one `Tracker.step` in a worker
thread, so the CPU-heavy fusion never runs on the event loop. The resulting tracks, and the hazard advisories
detected on them (forward collision, crossing conflict, vulnerable road user in path, and, once MapData
has arrived in the `road` context, wrong way, over speed, stalled vehicle and red-light violation with
the current SPaT), replace the published snapshot in one assignment, and situation streams are told
through the change feed.

One tile for now: the ENU origin is `origin` or, if None, the position of the first data received (fine
for a city district; tiles and their hand-over come with multi-node operation).

Buffer bound and overflow policy: at most `max_pending` frames plus states wait for the next step; beyond
that the oldest frames are dropped and counted (`dropped_frames`); vehicle states are never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from cloud.change_feed import ChangeFeed
from cloud.road_context import RoadContext
from roadlink.advisories import RoadMap, StalledVehicleDetector, detect_all
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, Track
from roadlink.domain.spatial import Area, Circle, Position
from roadlink.domain.vehicle import VehicleState
from roadlink.fusion.convert import detections_from_frames, detections_from_vehicle_states, tracks_from_table
from roadlink.fusion.detections import Detections
from roadlink.fusion.tracker import Tracker, TrackerConfig

__all__ = ["FusedPicture"]


@dataclass(frozen=True, slots=True)
class _LaneContext:
    """The map and current SPaT for one step, taken on the event loop and read on the worker thread."""

    road_map: RoadMap | None
    signals: tuple[SignalPhaseAndTiming, ...]


class FusedPicture:
    """Fused tracks of one tile (async context manager: owns its step task and worker thread)."""

    def __init__(
        self,
        feed: ChangeFeed,
        *,
        origin: Position | None = None,
        period_ms: int = 100,
        config: TrackerConfig | None = None,
        max_pending: int = 100_000,
        road: RoadContext | None = None,
    ) -> None:
        self._feed = feed
        self._road = road or RoadContext()
        self._stalled = StalledVehicleDetector()
        self._origin = LocalOrigin(origin.latitude_deg, origin.longitude_deg) if origin else None
        self._period_s = period_ms / 1000
        self._tracker = Tracker(config)
        self._max_pending = max_pending
        self._frames: deque[PerceptionFrame] = deque()
        self._states: list[VehicleState] = []
        self._tracks: tuple[Track, ...] = ()
        self._advisories: tuple[Advisory, ...] = ()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cloud-fusion")
        self._task: asyncio.Task[None] | None = None
        self.dropped_frames = 0

    @property
    def track_count(self) -> int:
        """Tracks in the latest snapshot."""
        return len(self._tracks)

    @property
    def tracker(self) -> Tracker:
        """The tracker (its `stats` count received, fused and late detections)."""
        return self._tracker

    def update_frame(self, frame: PerceptionFrame) -> None:
        """Buffer a frame for the next step."""
        self._set_origin(frame.objects[0].position if frame.objects else None)
        self._frames.append(frame)
        if len(self._frames) + len(self._states) > self._max_pending and self._frames:
            self._frames.popleft()
            self.dropped_frames += 1

    def update_vehicle(self, state: VehicleState) -> None:
        """Buffer a vehicle self-report for the next step."""
        self._set_origin(state.position)
        self._states.append(state)

    def tracks_in(self, area: Area) -> list[Track]:
        """Tracks of the latest snapshot whose position lies in `area`."""
        return [track for track in self._tracks if area.contains(track.position)]

    def advisories_in(self, area: Area) -> list[Advisory]:
        """Advisories of the latest snapshot whose zone centre or an involved track lies in `area`."""
        tracks, advisories = self._tracks, self._advisories
        inside = {track.track_id for track in tracks if area.contains(track.position)}
        return [
            advisory
            for advisory in advisories
            if (isinstance(advisory.zone, Circle) and area.contains(advisory.zone.center))
            or inside.intersection(advisory.track_ids)
        ]

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="cloud-fusion-steps")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._period_s)
            frames, states = list(self._frames), self._states
            self._frames, self._states = deque(), []
            if self._origin is None:
                continue
            lanes = _LaneContext(self._road.road_map(), self._road.signals(now_unix_ms()))
            tracks, advisories = await loop.run_in_executor(
                self._executor, self._step, self._origin, frames, states, lanes
            )
            changed = bool(tracks or self._tracks)
            self._tracks, self._advisories = tracks, advisories
            if changed:
                self._feed.notify()

    def _step(
        self, origin: LocalOrigin, frames: list[PerceptionFrame], states: list[VehicleState], lanes: _LaneContext
    ) -> tuple[tuple[Track, ...], tuple[Advisory, ...]]:
        """One tracker step and the hazard detectors, on the worker thread; returns the new snapshot."""
        detections = Detections.concatenate(
            [detections_from_frames(frames, origin), detections_from_vehicle_states(states, origin)]
        )
        now = now_unix_ms()
        table = self._tracker.step(now, detections if len(detections) else None)
        tracks = tracks_from_table(table, origin, self._tracker.source_names)
        advisories = detect_all(
            tracks, now, road_map=lanes.road_map, signals=lanes.signals, stalled=self._stalled, origin=origin
        )
        return tuple(tracks), tuple(advisories)

    def _set_origin(self, position: Position | None) -> None:
        if self._origin is None and position is not None:
            self._origin = LocalOrigin(position.latitude_deg, position.longitude_deg)
