"""The cloud node's picture through the fusion tracker: one de-duplicated track per object.

Edge data is buffered as it arrives (cheap, on the event loop). Every `period_ms` the buffered frames and
vehicle states become detections in the tile's ENU frame and go through one `Tracker.step` in a worker
thread, so the CPU-heavy fusion never runs on the event loop. The resulting tracks, and the hazard advisories
detected on them (forward collision, crossing conflict, vulnerable road user in path, and, once MapData
has arrived in the `road` context, wrong way, over speed, stalled vehicle and red-light violation with
the current SPaT), replace the published snapshot in one assignment, and situation streams are told
through the change feed.

The tracker runs in the ENU frame of `origin` or, if None, of the position of the first data received.
With a `TileGate` (several nodes sharing a city, see `cloud.tile_handover`), only the tracks in this
node's tiles are published, under global ids, and tracks leaving them are handed to the owning node
through the `router`; handovers from neighbours arrive through `deliver_handovers`.

Buffer bound and overflow policy: at most `max_pending` frames plus states wait for the next step; beyond
that the oldest frames are dropped and counted (`dropped_frames`); vehicle states are never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import numpy as np

from cloud.change_feed import ChangeFeed
from cloud.road_context import RoadContext
from cloud.tile_handover import Handover, HandoverRouter, TileGate
from cloud.zone_advisories import contains_many, zone_overlaps
from roadlink.advisories import RoadMap, StalledVehicleDetector, detect_all
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.geodesy import FloatArray, LocalOrigin
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, Track
from roadlink.domain.spatial import Area, Position
from roadlink.domain.vehicle import VehicleState
from roadlink.fusion.convert import detections_from_frames, detections_from_vehicle_states, tracks_from_table
from roadlink.fusion.detections import Detections
from roadlink.fusion.state import IntArray, TrackTable
from roadlink.fusion.tracker import Tracker, TrackerConfig

__all__ = ["FusedPicture"]


_MAX_INBOX = 10_000


@dataclass(frozen=True, slots=True)
class _StepInput:
    """What one step reads, taken on the event loop and handed to the worker thread."""

    origin: LocalOrigin
    frames: list[PerceptionFrame]
    states: list[VehicleState]
    road_map: RoadMap | None
    signals: tuple[SignalPhaseAndTiming, ...]
    handovers: list[Handover]


@dataclass(frozen=True, slots=True)
class _Published:
    """One published snapshot: tracks with their ``(N,)`` latitudes/longitudes (degrees) and the advisories."""

    tracks: tuple[Track, ...] = ()
    latitude_deg: FloatArray = field(default_factory=lambda: np.zeros(0))
    longitude_deg: FloatArray = field(default_factory=lambda: np.zeros(0))
    advisories: tuple[Advisory, ...] = ()

    @classmethod
    def of(cls, tracks: Sequence[Track], advisories: Sequence[Advisory]) -> _Published:
        latitude = np.array([t.position.latitude_deg for t in tracks], dtype=np.float64)
        longitude = np.array([t.position.longitude_deg for t in tracks], dtype=np.float64)
        return cls(tuple(tracks), latitude, longitude, tuple(advisories))

    def rows_in(self, area: Area) -> list[int]:
        """Rows of the tracks inside ``area`` (one vectorized test)."""
        return np.flatnonzero(contains_many(area, self.latitude_deg, self.longitude_deg)).tolist()


@dataclass(frozen=True, slots=True)
class _StepOutput:
    """The new snapshot and the handovers to send."""

    published: _Published
    handovers: list[Handover]


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
        gate: TileGate | None = None,
        router: HandoverRouter | None = None,
    ) -> None:
        self._feed = feed
        self._gate = gate
        self._router = router
        self._inbox: deque[Handover] = deque()
        self._road = road or RoadContext()
        self._stalled = StalledVehicleDetector()
        self._origin = LocalOrigin(origin.latitude_deg, origin.longitude_deg) if origin else None
        self._period_s = period_ms / 1000
        self._tracker = Tracker(config)
        self._max_pending = max_pending
        self._frames: deque[PerceptionFrame] = deque()
        self._states: list[VehicleState] = []
        self._published = _Published()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cloud-fusion")
        self._task: asyncio.Task[None] | None = None
        self.dropped_frames = 0
        self.dropped_handovers = 0

    @property
    def track_count(self) -> int:
        """Tracks in the latest snapshot."""
        return len(self._published.tracks)

    @property
    def tracker(self) -> Tracker:
        """The tracker (its `stats` count received, fused and late detections)."""
        return self._tracker

    @property
    def gate(self) -> TileGate | None:
        """The tile gate (its `stats` count handovers sent, adopted and expired), None without tiles."""
        return self._gate

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

    def deliver_handovers(self, handovers: Sequence[Handover]) -> None:
        """Queue tracks a neighbour hands over (never blocks: beyond 10,000 the oldest are dropped and counted)."""
        self._inbox.extend(handovers)
        while len(self._inbox) > _MAX_INBOX:
            self._inbox.popleft()
            self.dropped_handovers += 1

    def tracks_in(self, area: Area) -> list[Track]:
        """Tracks of the latest snapshot whose position lies in `area`."""
        published = self._published
        return [published.tracks[row] for row in published.rows_in(area)]

    def advisories_in(self, area: Area) -> list[Advisory]:
        """Advisories of the latest snapshot whose zone overlaps `area` (without a zone: a track of theirs is in it).

        RSU delivery calls this through `cloud.zone_advisories.advisories_for_zone`, which also drops expired ones.
        """
        published = self._published
        inside = {published.tracks[row].track_id for row in published.rows_in(area)}
        return [
            advisory
            for advisory in published.advisories
            if (
                zone_overlaps(advisory.zone, area)
                if advisory.zone is not None
                else inside.intersection(advisory.track_ids)
            )
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
            step = self._take_input()
            if step is None:
                continue
            output = await loop.run_in_executor(self._executor, self._step, step)
            if output.handovers and self._router is not None:
                self._router.send(output.handovers)
            changed = bool(output.published.tracks or self._published.tracks)
            self._published = output.published
            if changed:
                self._feed.notify()

    def _take_input(self) -> _StepInput | None:
        """Take the buffered data for one step (None before the origin is known)."""
        frames, states, handovers = list(self._frames), self._states, list(self._inbox)
        self._frames, self._states = deque(), []
        self._inbox.clear()
        if self._origin is None:
            return None
        signals = self._road.signals(now_unix_ms())
        return _StepInput(self._origin, frames, states, self._road.road_map(), signals, handovers)

    def _step(self, step: _StepInput) -> _StepOutput:
        """One tracker step, the tile gate and the hazard detectors, on the worker thread."""
        origin = step.origin
        detections = Detections.concatenate(
            [detections_from_frames(step.frames, origin), detections_from_vehicle_states(step.states, origin)]
        )
        now = now_unix_ms()
        table = self._tracker.step(now, detections if len(detections) else None)
        outgoing: list[Handover] = []
        context: list[Track] = []
        if self._gate is not None:
            table, context_table, outgoing = self._gated(self._gate, table, step, now)
            context = tracks_from_table(context_table, origin, self._tracker.source_names)
        tracks = tracks_from_table(table, origin, self._tracker.source_names)
        advisories = detect_all(
            [*tracks, *context], now, road_map=step.road_map, signals=step.signals, stalled=self._stalled, origin=origin
        )
        if context:
            own = {track.track_id for track in tracks}
            advisories = [a for a in advisories if own.intersection(a.track_ids)]
        return _StepOutput(_Published.of(tracks, advisories), outgoing)

    def _gated(
        self, gate: TileGate, table: TrackTable, step: _StepInput, now: int
    ) -> tuple[TrackTable, TrackTable, list[Handover]]:
        """This node's rows under global ids, the context rows (see `GateDecision`), and the handovers."""
        gate.receive(step.handovers)
        states = table.states
        latitude, longitude, _ = step.origin.to_geodetic(states[:, 0], states[:, 1], np.zeros(len(table)))
        decision = gate.apply(table.ids.astype(np.int64), latitude, longitude, table.vehicle_ids, now)
        leaving = table.take(decision.handover_rows)
        handovers = gate.handovers(decision, tracks_from_table(leaving, step.origin, self._tracker.source_names))
        return (
            _renamed(table, decision.publish_rows, decision.publish_ids),
            _renamed(table, decision.context_rows, decision.context_ids),
            handovers,
        )

    def _set_origin(self, position: Position | None) -> None:
        if self._origin is None and position is not None:
            self._origin = LocalOrigin(position.latitude_deg, position.longitude_deg)


def _renamed(table: TrackTable, rows: IntArray, ids: IntArray) -> TrackTable:
    """A copy of ``rows`` of ``table`` with the track ids ``ids`` (both ``(K,)``)."""
    part = table.take(rows)
    part.ids[:] = ids
    return part
