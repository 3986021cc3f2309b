"""Local fusion on the roadside node: overlapping sensors give one object each, published once per cycle."""

from __future__ import annotations

import asyncio
import math

import numpy as np
from v2x.roadside.v1 import perception_pb2
from v2x.roadside.v1 import roadside_service_pb2 as rs_pb2

from roadlink.domain.classes import ObjectClass
from roadlink.domain.clock import now_unix_ms
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.situation import Track
from roadlink.domain.spatial import Covariance2D, Position
from roadlink.wire.convert import frame_to_proto
from roadside.heartbeat import SensorActivity
from roadside.local_fusion import LocalFusion, LocalFusionSink, fused_frame, per_sensor

ORIGIN = Position(39.0742, 115.9325)
_LOCAL = LocalOrigin(ORIGIN.latitude_deg, ORIGIN.longitude_deg)
# Two cars 30 m apart: one driving north at 10 m/s, one driving east at 5 m/s (ENU metres, m/s).
_START_M = np.array([[0.0, -20.0], [-15.0, 10.0]])
_VELOCITY_MPS = np.array([[0.0, 10.0], [5.0, 0.0]])
_HEADING_DEG = (0.0, 90.0)
SENSORS = {"lidar0": (0.0, 0.0), "radar0": (0.4, -0.3)}  # each sensor's constant position bias, metres


def sensor_frame(sensor_id: str, t0_ms: int, time_ms: int, sequence: int) -> PerceptionFrame:
    """What `sensor_id` reports at `time_ms`: both cars, with its own object ids and bias."""
    bias = np.array(SENSORS[sensor_id])
    enu = _START_M + _VELOCITY_MPS * (time_ms - t0_ms) / 1000 + bias
    lat, lon, _ = _LOCAL.to_geodetic(enu[:, 0], enu[:, 1], np.zeros(2))
    objects = tuple(
        DetectedObject(
            object_id=100 * (1 + list(SENSORS).index(sensor_id)) + k,
            object_class=ObjectClass.PASSENGER_CAR,
            position=Position(float(lat[k]), float(lon[k])),
            speed_mps=float(np.hypot(*_VELOCITY_MPS[k])),
            heading_deg=_HEADING_DEG[k],
            position_covariance=Covariance2D.isotropic(0.5),
        )
        for k in range(2)
    )
    provenance = Provenance("rsu-7", time_ms, time_ms, sensor_ids=(sensor_id,), source_sequence=sequence)
    return PerceptionFrame("rsu-7", sequence, time_ms, objects, provenance)


def test_per_sensor_makes_the_sensor_the_fusion_source() -> None:
    frame = sensor_frame("radar0", 0, 0, 1)
    assert per_sensor(frame).source_id == "radar0"
    bare = PerceptionFrame("rsu-7", 1, 0, (), Provenance("rsu-7", 0))
    assert per_sensor(bare).source_id == "rsu-7"


def test_fused_frame_is_from_the_node_and_lists_every_contributing_sensor() -> None:
    tracks = [
        Track(7, ObjectClass.PASSENGER_CAR, ORIGIN, 1_000, 900, source_ids=("radar0", "lidar0")),
        Track(8, ObjectClass.PEDESTRIAN, ORIGIN, 1_000, 900, source_ids=("camera0",)),
    ]
    frame = fused_frame("rsu-7", 3, 1_000, tracks, ORIGIN)
    assert (frame.source_id, frame.frame_sequence, frame.time_unix_ms) == ("rsu-7", 3, 1_000)
    assert frame.provenance.sensor_ids == ("camera0", "lidar0", "radar0")
    assert [o.object_id for o in frame.objects] == [7, 8]
    assert frame.objects[0].sensor_ids == ("radar0", "lidar0")


async def _feed(fusion: LocalFusion, published: asyncio.Queue[PerceptionFrame], wanted: int) -> list[PerceptionFrame]:
    """Feed both sensors every 50 ms until `wanted` frames with objects were published."""
    t0, sequence = now_unix_ms(), 0
    frames: list[PerceptionFrame] = []
    async with asyncio.timeout(20):
        while len(frames) < wanted:
            sequence += 1
            for sensor_id in SENSORS:
                fusion.add_frame(sensor_frame(sensor_id, t0, now_unix_ms(), sequence))
            await asyncio.sleep(0.05)
            while not published.empty():
                frame = published.get_nowait()
                if frame.objects:
                    frames.append(frame)
    return frames


async def test_two_overlapping_sensors_give_one_object_per_car() -> None:
    published: asyncio.Queue[PerceptionFrame] = asyncio.Queue()

    async def publish(frame: PerceptionFrame) -> None:
        published.put_nowait(frame)

    async with LocalFusion("rsu-7", publish, origin=ORIGIN, period_ms=50) as fusion:
        frames = await _feed(fusion, published, wanted=10)
    settled = frames[3:]  # after confirmation and duplicate merging
    assert all(len(frame.objects) == 2 for frame in settled), [len(f.objects) for f in settled]
    last = settled[-1]
    assert last.source_id == "rsu-7"
    assert last.provenance.sensor_ids == ("lidar0", "radar0")
    assert all(set(obj.sensor_ids) == {"lidar0", "radar0"} for obj in last.objects)
    sequences = [frame.frame_sequence for frame in frames]
    assert sequences == sorted(set(sequences))
    assert fusion.stats.frames_dropped == 0


async def test_sink_takes_frames_for_fusion_and_forwards_the_rest() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.batches: list[rs_pb2.PublishRequest] = []

        async def accept(self, batch: rs_pb2.PublishRequest) -> list[rs_pb2.ItemRejection]:
            self.batches.append(batch)
            return []

    async def publish(frame: PerceptionFrame) -> None:
        return None

    inner, activity = Recorder(), SensorActivity()
    fusion = LocalFusion("rsu-7", publish, origin=ORIGIN)
    batch = rs_pb2.PublishRequest(sender_id="gw", sequence=4)
    batch.frames.append(frame_to_proto(sensor_frame("lidar0", 0, now_unix_ms(), 1)))
    bad = batch.frames.add(source_id="rsu-7", frame_sequence=2)
    bad.objects.append(perception_pb2.DetectedObject(object_id=1))
    bad.objects[0].position.latitude_deg = 95.0  # out of range
    fast = batch.frames.add()
    fast.CopyFrom(batch.frames[0])
    fast.objects[0].speed_mps = math.nan
    batch.signal_timings.add(intersection_id=12)
    rejections = await LocalFusionSink(inner, fusion, activity).accept(batch)
    assert [(r.field, r.index, r.sequence) for r in rejections] == [("frames", 1, 4), ("frames", 2, 4)]
    assert [r.reason.split(":")[0] for r in rejections] == ["invalid_position", "invalid_motion"]
    assert fusion.stats.frames_received == 1
    forwarded = inner.batches[0]
    assert (len(forwarded.frames), len(forwarded.signal_timings), forwarded.sequence) == (0, 1, 4)
    assert "lidar0" in activity.sensors
