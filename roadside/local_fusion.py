"""Local fusion on the roadside node: the intersection's own sensors fused into one object list per cycle.

Lidar, radar and camera frames arrive from the gateway, one `PerceptionFrame` per sensor and instant. Each
sensor is a separate fusion source (its id is the first of the frame's `provenance.sensor_ids`, else the
frame's `source_id`), so two sensors that see the same car feed one track, not two. Every `period_ms`
(100 ms by default) the buffered frames go through one `Tracker.step` of the shared fusion core
(`roadlink.fusion`, the library the cloud uses) in a worker thread, never on the event loop, and the
confirmed tracks become one `PerceptionFrame` from the node (`source_id` = the node id, every contributing
sensor id in its provenance). `publish` sends it on: to the cloud uplink and to watching vehicles.

The ENU origin of the fusion is `origin` or, if None, the position of the first object received.

Buffer bound and overflow policy: at most `max_pending_frames` sensor frames wait for the next cycle; when
full, the oldest is dropped and counted in `stats.frames_dropped` (a newer frame of the same scene
supersedes it). A `publish` that does not finish within one period is abandoned and counted in
`stats.publish_timeouts`: the next cycle's frame supersedes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from v2x.roadside.v1 import perception_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadlink.domain.clock import now_unix_ms
from roadlink.domain.errors import ValidationError
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.situation import Track
from roadlink.domain.spatial import Position
from roadlink.fusion.convert import detections_from_frames, tracks_from_table
from roadlink.fusion.tracker import Tracker, TrackerConfig
from roadlink.wire.convert import frame_from_proto
from roadlink.wire.publish_server import BatchSink
from roadside.heartbeat import SensorActivity

__all__ = [
    "FramePublisher",
    "LocalFusion",
    "LocalFusionSink",
    "LocalFusionStats",
    "check_frame",
    "fused_frame",
    "per_sensor",
]

_log = logging.getLogger(__name__)

FramePublisher = Callable[[PerceptionFrame], Awaitable[None]]


@dataclass(slots=True)
class LocalFusionStats:
    """Counters since the fusion started."""

    frames_received: int = 0
    frames_dropped: int = 0
    cycles: int = 0
    frames_published: int = 0
    publish_timeouts: int = 0
    step_failures: int = 0


def per_sensor(frame: PerceptionFrame) -> PerceptionFrame:
    """The frame with its sensor as the fusion source (first provenance sensor id, else the source id)."""
    sensors = frame.provenance.sensor_ids
    return dataclasses.replace(frame, source_id=sensors[0]) if sensors else frame


def _object(track: Track) -> DetectedObject:
    return DetectedObject(
        object_id=track.track_id,
        object_class=track.object_class,
        position=track.position,
        class_confidence=track.class_confidence,
        speed_mps=track.speed_mps,
        heading_deg=track.heading_deg,
        size=track.size,
        position_covariance=track.position_covariance,
        velocity_covariance=track.velocity_covariance,
        sensor_ids=track.source_ids,
        measurement_time_unix_ms=track.time_unix_ms,
    )


def fused_frame(
    node_id: str, sequence: int, time_unix_ms: int, tracks: Sequence[Track], reference: Position | None
) -> PerceptionFrame:
    """One frame from the node: an object per track (object id = track id), every contributing sensor listed."""
    sensors = tuple(sorted({sensor for track in tracks for sensor in track.source_ids}))
    provenance = Provenance(
        source_id=node_id,
        source_time_unix_ms=time_unix_ms,
        sensor_ids=sensors,
        source_sequence=sequence,
        gateway_receive_time_unix_ms=time_unix_ms,
    )
    objects = tuple(_object(track) for track in tracks)
    return PerceptionFrame(node_id, sequence, time_unix_ms, objects, provenance, reference_position=reference)


class LocalFusion:
    """The node's own sensors fused every period (async context manager: owns its cycle task and thread)."""

    def __init__(
        self,
        node_id: str,
        publish: FramePublisher,
        *,
        origin: Position | None = None,
        period_ms: int = 100,
        max_pending_frames: int = 1_000,
        config: TrackerConfig | None = None,
    ) -> None:
        self._node_id = node_id
        self._publish = publish
        self._reference = origin
        self._origin = LocalOrigin(origin.latitude_deg, origin.longitude_deg) if origin else None
        self._period_s = period_ms / 1000
        self._tracker = Tracker(config)
        self._frames: deque[PerceptionFrame] = deque(maxlen=max_pending_frames)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roadside-fusion")
        self._task: asyncio.Task[None] | None = None
        self._sequence = 0
        self._published_objects = False
        self.stats = LocalFusionStats()

    def add_frame(self, frame: PerceptionFrame) -> None:
        """Buffer one sensor frame for the next cycle (drops the oldest when full)."""
        if self._origin is None and frame.objects:
            first = frame.objects[0].position
            self._origin = LocalOrigin(first.latitude_deg, first.longitude_deg)
        if len(self._frames) == self._frames.maxlen:
            self.stats.frames_dropped += 1
        self._frames.append(per_sensor(frame))
        self.stats.frames_received += 1

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="roadside-local-fusion")
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
            frames = list(self._frames)
            self._frames.clear()
            if self._origin is None:
                continue
            try:
                tracks = await loop.run_in_executor(self._executor, self._step, self._origin, frames)
            except ValueError:  # the core rejected this cycle's input; the next cycle starts afresh
                _log.exception("local fusion step failed on %d frames", len(frames))
                self.stats.step_failures += 1
                continue
            await self._emit(tracks, had_input=bool(frames))

    def _step(self, origin: LocalOrigin, frames: list[PerceptionFrame]) -> list[Track]:
        """One tracker step on the worker thread; returns the confirmed tracks at the cycle time."""
        detections = detections_from_frames(frames, origin)
        table = self._tracker.step(now_unix_ms(), detections if len(detections) else None)
        return tracks_from_table(table, origin, self._tracker.source_names)

    async def _emit(self, tracks: list[Track], *, had_input: bool) -> None:
        """Publish the cycle's frame when it has objects, input, or clears the previous frame's objects."""
        self.stats.cycles += 1
        if not (tracks or had_input or self._published_objects):
            return
        self._sequence += 1
        frame = fused_frame(self._node_id, self._sequence, now_unix_ms(), tracks, self._reference)
        self._published_objects = bool(tracks)
        try:
            async with asyncio.timeout(self._period_s):
                await self._publish(frame)
            self.stats.frames_published += 1
        except TimeoutError:
            self.stats.publish_timeouts += 1


def _finite(*values: float | None) -> bool:
    return all(value is None or math.isfinite(value) for value in values)


def check_frame(frame: PerceptionFrame) -> PerceptionFrame:
    """The frame, if every object has a WGS84 position and finite speed and heading (else ValidationError):
    one bad object would otherwise fail the whole fusion step."""
    for index, obj in enumerate(frame.objects):
        lat, lon = obj.position.latitude_deg, obj.position.longitude_deg
        if not (_finite(lat, lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValidationError(
                "invalid_position", f"object {obj.object_id} at ({lat}, {lon})", field=f"objects[{index}]"
            )
        if not _finite(obj.speed_mps, obj.heading_deg):
            detail = f"object {obj.object_id} speed {obj.speed_mps} m/s heading {obj.heading_deg} deg"
            raise ValidationError("invalid_motion", detail, field=f"objects[{index}]")
    return frame


class LocalFusionSink:
    """A `BatchSink` in front of the node's forwarding sink: sensor frames go to local fusion, not upstream.

    The other items of a batch (vehicle states, signal timing, maps, ...) pass on unchanged. Frames that do
    not convert are rejected with their reason. Sensor activity (for the heartbeat) is recorded here,
    because the forwarding sink no longer sees the frames.
    """

    def __init__(self, inner: BatchSink, fusion: LocalFusion, activity: SensorActivity) -> None:
        self._inner = inner
        self._fusion = fusion
        self._activity = activity

    async def accept(self, batch: rs_pb2.PublishRequest) -> Sequence[rs_pb2.ItemRejection]:
        """Fuse the batch's frames locally and forward the rest."""
        if not batch.frames:
            return await self._inner.accept(batch)
        self._activity.record(batch)
        rejections = [self._take(batch.sequence, index, frame) for index, frame in enumerate(batch.frames)]
        rest = rs_pb2.PublishRequest()
        rest.CopyFrom(batch)
        del rest.frames[:]
        forwarded = await self._inner.accept(rest)
        return [*(r for r in rejections if r is not None), *forwarded]

    def _take(self, sequence: int, index: int, message: perception_pb2.PerceptionFrame) -> rs_pb2.ItemRejection | None:
        try:
            self._fusion.add_frame(check_frame(frame_from_proto(message)))
        except ValidationError as exc:
            return rs_pb2.ItemRejection(sequence=sequence, field="frames", index=index, reason=str(exc))
        return None
