"""Gateway throughput: pure normalization per adapter, and MQTT -> gateway -> gRPC sink on loopback.

Run: `python -m bench.gateway [--quick|--full]` from the repository root (quick is the default and takes
about 1.5 minutes on 2 shared cores; full runs 20 s per offered load). It needs the `mosquitto` binary.

Part 1, normalization (this process, one thread; rates are messages per CPU second of that thread, i.e. per
core, so that other load on a shared machine is not counted as our cost). For each adapter in
`gateway.adapters.registry.ADAPTERS` that has an entry in `CASES` (an adapter without one is skipped with a
note), over many distinct payloads of 50 objects (a BSM carries one vehicle, a SPaT payload 25 signal groups
x 2 states = 50 events):
- `adapter`: adapter(payload, context) + `gateway.adapters.canonical.as_canonical` of each item (a no-op for
  adapters that build the v1 message directly, `roadlink.wire.convert` for domain objects) +
  SerializeToString, as the gateway does per message;
- `baseline`, the bare minimum for the same payload: json.loads + the equivalent v1 protobuf built directly
  from the dict with keyword arguments (same fields, direct unit scaling and table look-ups, no validation,
  no geometry: the lidar rotation/geodesy and the camera covariance trigonometry are charged to the
  adapter) + SerializeToString.
Rounds alternate adapter and baseline; each figure is the median over the rounds. `adapter_ratio_min` is the
lowest adapter rate / its baseline rate (target >= 0.7). Extra rows split the radar adapter into stages and
show `Pipeline.process` (dedupe hash, time checks, clock offset) for reference.

Part 2, end to end on 127.0.0.1, in this order (see bench/gateway_peers.py for the peers):
- a real Mosquitto (tests.broker.MosquittoBroker in a temporary directory);
- a publisher process (paho, QoS 1, 50-target radar frames of about 13 KB stamped at publish time, 16 RSU
  topics) and a sink process (grpc.aio `start_server` + `PublishServicer`, recording publish -> sink latency
  per frame);
- raw baseline: a bare paho subscriber process on the same stream (stamp read by slicing, no JSON parse);
- then the gateway: `GatewayNode` (MQTT v5, default batching settings, max_age_ms raised to 60 s so that a
  backlog is measured rather than dead-lettered) in this process, delivering to the sink.
Each path gets a warm-up (discarded), then offered loads of 500, 1,000 and 2,000 frames/s (paced), then a
saturation run: as fast as the publisher can while at most `window` frames are in the system (published,
not yet delivered), which measures the sustained ceiling without an unbounded broker backlog.
`normalized/s` is the gateway's Pipeline.process rate while publishing; `delivered/s` is counted at the far
end in the window from 1 s after the start to the end of publishing; latency percentiles (publish -> sink
or raw subscriber) are over every frame of the run; `lost` is published minus distinct sequences delivered
after a bounded drain (must be 0). CPU columns are cores used while publishing, from each
process's CPU time (`path` is the gateway, i.e. this process, or the raw subscriber) and /proc/stat for
the whole machine; `other cores` is the machine's busy time not used by the measured processes (the
kernel's loopback TCP work, and anything else running on the machine: a high figure means a disturbed run).

The last line is one JSON object of headline figures (see `headline`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import grpc
from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import perception_pb2, signal_pb2
from v2x.vehicle.v1 import vehicle_pb2

from bench.gateway_peers import (
    OBJECTS_PER_FRAME,
    EndToEndProfile,
    RunResult,
    progress,
    radar_frames,
    run_end_to_end,
)
from bench.report import Figure, format_table, headline_line, median_of
from gateway.adapters.base import Adapter, MessageContext, Normalized
from gateway.adapters.canonical import as_canonical
from gateway.adapters.json_payload import CLASS_NAMES
from gateway.adapters.lidar_sensor_frame import DEFAULT_SIGMA_X_M, DEFAULT_SIGMA_Y_M
from gateway.adapters.radar_wgs84 import RADAR_POSITION_SIGMA_M, VENDOR_TARGET_TYPES, parse_radar_frame
from gateway.adapters.registry import ADAPTERS
from gateway.adapters.signal_controller import CSAE_LIGHTS
from gateway.pipeline import Pipeline, TimeBounds
from gateway.settings import Route
from roadlink.domain.classes import ObjectClass

__all__ = ["CASES", "AdapterCase", "main"]

ADAPTER_TARGET = 0.7
E2E_TARGET_FRAMES_PER_S = 2_000.0
E2E_TARGET_ADDED_P99_MS = 20.0
_PAYLOADS = 256
_SOURCE, _SENSOR = "RSU0", "sensor0"

Workload = Callable[[bytes, MessageContext], object]


@dataclass(frozen=True, slots=True)
class Profile:
    """How much to measure: wall seconds per adapter measurement, rounds, and the end-to-end runs."""

    name: str
    adapter_budget_s: float
    adapter_rounds: int
    e2e: EndToEndProfile


QUICK = Profile("quick", 0.3, 5, EndToEndProfile(5.0, 5.0, 1.0, window=4_000, drain_timeout_s=30.0))
FULL = Profile("full", 1.5, 7, EndToEndProfile(20.0, 5.0, 2.0, window=4_000, drain_timeout_s=60.0))


# ---- part 1: adapter cases ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdapterCase:
    """Payloads of one adapter, its route options and the hand-written baseline for the same payloads."""

    objects_per_frame: int
    topic: str
    payloads: list[bytes]
    baseline: Workload
    options: Mapping[str, object] = field(default_factory=dict)


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _context(topic: str) -> MessageContext:
    return MessageContext(topic, _SOURCE, _SENSOR, time.time_ns() // 1_000_000)


def _provenance(context: MessageContext, time_unix_ms: int, sequence: int | None = None) -> common_pb2.Provenance:
    return common_pb2.Provenance(
        source_id=context.source_id,
        sensor_ids=(context.sensor_id,),
        source_time_unix_ms=time_unix_ms,
        gateway_receive_time_unix_ms=context.receive_time_unix_ms,
        topic=context.topic,
        source_sequence=sequence,
    )


_UNKNOWN = int(ObjectClass.UNKNOWN)
_CLASS_CODES = {name: int(object_class) for name, object_class in CLASS_NAMES.items()}


# radar_wgs84: the recording, padded/cut to 50 targets


_RADAR_CLASS_CODES = {code: int(object_class) for code, object_class in VENDOR_TARGET_TYPES.items()}
_RADAR_VARIANCE = RADAR_POSITION_SIGMA_M**2
_RADAR_COVARIANCE = common_pb2.Covariance2D(east_east=_RADAR_VARIANCE, north_north=_RADAR_VARIANCE)


def _frame_bytes(
    context: MessageContext, sequence: int, time_unix_ms: int, objects: list[perception_pb2.DetectedObject]
) -> bytes:
    """The serialized PerceptionFrame every perception baseline ends with."""
    message = perception_pb2.PerceptionFrame(
        source_id=context.source_id,
        frame_sequence=sequence,
        time_unix_ms=time_unix_ms,
        objects=objects,
        provenance=_provenance(context, time_unix_ms, sequence),
    )
    return message.SerializeToString()


def _radar_baseline(payload: bytes, context: MessageContext) -> bytes:
    frame = json.loads(payload)
    time_unix_ms = int(frame["timeStamp"])
    sensor_ids = (context.sensor_id,)
    objects = [
        perception_pb2.DetectedObject(
            object_id=t["targetId"],
            object_class=_RADAR_CLASS_CODES.get(t["targetType"], _UNKNOWN),  # type: ignore[arg-type]
            class_confidence=t["confidenceLevel"] / 100.0 or None,
            position=common_pb2.Position(latitude_deg=t["latitude"], longitude_deg=t["longitude"]),
            speed_mps=abs(t["speed"]),
            heading_deg=t["headingAngle"],
            acceleration_mps2=t.get("acceleration"),
            size=common_pb2.Dimensions(
                length_m=t["targetLength"], width_m=t["targetWidth"], height_m=t["targetHeight"] or None
            ),
            position_covariance=_RADAR_COVARIANCE,
            sensor_ids=sensor_ids,
            lane_id=t["laneNo"] if t["laneNo"] > 0 else None,
        )
        for t in frame["targets"]
    ]
    message = perception_pb2.PerceptionFrame(
        source_id=context.source_id,
        time_unix_ms=time_unix_ms,
        objects=objects,
        provenance=_provenance(context, time_unix_ms),
    )
    return message.SerializeToString()


def radar_case(count: int) -> AdapterCase:
    payloads = [_dumps(frame) for frame in radar_frames(count)]
    return AdapterCase(OBJECTS_PER_FRAME, "rsu/RSU0/radar/sensor0", payloads, _radar_baseline)


# lidar_sensor_frame: synthetic sweeps per docs/formats (x forward, y left, z up), mounting pose as options


_LIDAR_CLASSES = ("car", "car", "car", "van", "truck", "bus", "pedestrian", "cyclist")
_LIDAR_POSE = {"latitude_deg": 31.2304, "longitude_deg": 121.4737, "height_m": 12.5, "yaw_deg": 37.0, "pitch_deg": -3.0}


def _lidar_object(rng: random.Random, object_id: int) -> dict[str, object]:
    obj: dict[str, object] = {
        "id": object_id,
        "class": rng.choice(_LIDAR_CLASSES),
        "x_m": round(rng.uniform(-80.0, 80.0), 3),
        "y_m": round(rng.uniform(-40.0, 40.0), 3),
        "z_m": round(rng.uniform(-6.0, -4.0), 3),
        "yaw_rad": round(rng.uniform(-math.pi, math.pi), 4),
        "vx_mps": round(rng.uniform(-15.0, 15.0), 3),
        "vy_mps": round(rng.uniform(-15.0, 15.0), 3),
        "length_m": round(rng.uniform(3.8, 5.2), 2),
        "width_m": round(rng.uniform(1.6, 2.0), 2),
        "height_m": round(rng.uniform(1.3, 1.8), 2),
        "confidence": round(rng.uniform(0.3, 1.0), 3),
    }
    if object_id % 2:
        obj |= {"sigma_x_m": round(rng.uniform(0.05, 0.5), 3), "sigma_y_m": round(rng.uniform(0.05, 0.3), 3)}
    return obj


def _lidar_baseline(payload: bytes, context: MessageContext) -> bytes:
    frame = json.loads(payload)
    time_unix_ms, sequence = frame["timestamp_ms"], frame["frame_counter"]
    sensor_ids = (context.sensor_id,)
    objects = []
    for o in frame["objects"]:
        sigma_x, sigma_y = o.get("sigma_x_m", DEFAULT_SIGMA_X_M), o.get("sigma_y_m", DEFAULT_SIGMA_Y_M)
        objects.append(
            perception_pb2.DetectedObject(
                object_id=o["id"],
                object_class=_CLASS_CODES.get(o["class"].lower(), _UNKNOWN),  # type: ignore[arg-type]
                class_confidence=o.get("confidence"),
                position=common_pb2.Position(latitude_deg=o["x_m"], longitude_deg=o["y_m"], elevation_m=o["z_m"]),
                speed_mps=math.hypot(o["vx_mps"], o["vy_mps"]),
                heading_deg=o["yaw_rad"],
                size=common_pb2.Dimensions(length_m=o["length_m"], width_m=o["width_m"], height_m=o.get("height_m")),
                position_covariance=common_pb2.Covariance2D(
                    east_east=sigma_x * sigma_x, east_north=sigma_x * sigma_y, north_north=sigma_y * sigma_y
                ),
                sensor_ids=sensor_ids,
            )
        )
    return _frame_bytes(context, sequence, time_unix_ms, objects)


def lidar_case(count: int) -> AdapterCase:
    rng = random.Random(11)
    base_ms = 1_714_579_200_000
    payloads = [
        _dumps(
            {
                "frame_counter": index,
                "timestamp_ms": base_ms + 100 * index,
                "sensor_id": "LDR-bench",
                "objects": [_lidar_object(rng, index * OBJECTS_PER_FRAME + k) for k in range(OBJECTS_PER_FRAME)],
            }
        )
        for index in range(count)
    ]
    return AdapterCase(OBJECTS_PER_FRAME, "rsu/RSU0/lidar/sensor0", payloads, _lidar_baseline, _LIDAR_POSE)


# camera_ground: synthetic detections per docs/formats


_CAMERA_SCORES = (("car", "truck", "bus"), ("person", "cyclist"), ("truck", "van"), ("bicycle", "motorcycle"))


def _camera_detection(rng: random.Random, track_id: int) -> dict[str, object]:
    names = rng.choice(_CAMERA_SCORES)
    scores = sorted((round(rng.uniform(0.01, 0.9), 2) for _ in names), reverse=True)
    return {
        "track_id": track_id,
        "latitude_deg": round(31.2304 + rng.uniform(-0.001, 0.001), 7),
        "longitude_deg": round(121.4737 + rng.uniform(-0.001, 0.001), 7),
        "class_scores": dict(zip(names, scores, strict=True)),
        "sigma_along_m": round(rng.uniform(0.3, 3.0), 2),
        "sigma_across_m": round(rng.uniform(0.1, 0.5), 2),
        "line_of_sight_bearing_deg": round(rng.uniform(0.0, 360.0), 1),
        "speed_mps": round(rng.uniform(0.0, 20.0), 2),
        "heading_deg": round(rng.uniform(0.0, 360.0), 1),
        "length_m": round(rng.uniform(3.8, 5.2), 2),
        "width_m": round(rng.uniform(1.6, 2.0), 2),
    }


def _camera_baseline(payload: bytes, context: MessageContext) -> bytes:
    frame = json.loads(payload)
    time_unix_ms, sequence = frame["timestamp_ms"], frame["frame_counter"]
    sensor_ids = (context.sensor_id,)
    objects = []
    for d in frame["detections"]:
        scores = d["class_scores"]
        name = max(scores, key=scores.__getitem__)
        along, across = d["sigma_along_m"] ** 2, d["sigma_across_m"] ** 2
        objects.append(
            perception_pb2.DetectedObject(
                object_id=d["track_id"],
                object_class=_CLASS_CODES.get(name.lower(), _UNKNOWN),  # type: ignore[arg-type]
                class_confidence=scores[name],
                position=common_pb2.Position(latitude_deg=d["latitude_deg"], longitude_deg=d["longitude_deg"]),
                speed_mps=d.get("speed_mps"),
                heading_deg=d.get("heading_deg"),
                size=common_pb2.Dimensions(length_m=d["length_m"], width_m=d["width_m"], height_m=d.get("height_m")),
                position_covariance=common_pb2.Covariance2D(
                    east_east=along, east_north=along - across, north_north=across
                ),
                sensor_ids=sensor_ids,
            )
        )
    return _frame_bytes(context, sequence, time_unix_ms, objects)


def camera_case(count: int) -> AdapterCase:
    rng = random.Random(13)
    base_ms = 1_714_579_200_040
    payloads = [
        _dumps(
            {
                "frame_counter": index,
                "timestamp_ms": base_ms + 40 * index,
                "camera_id": "CAM-bench",
                "detections": [_camera_detection(rng, index * OBJECTS_PER_FRAME + k) for k in range(OBJECTS_PER_FRAME)],
            }
        )
        for index in range(count)
    ]
    return AdapterCase(OBJECTS_PER_FRAME, "rsu/RSU0/camera/sensor0", payloads, _camera_baseline)


# signal_controller: CSAE countdowns, 25 signal groups x 2 states = 50 movement events


_SIGNAL_GROUPS = OBJECTS_PER_FRAME // 2
_COUNTDOWN_UNAVAILABLE = 36001
_CSAE_CODES = {code: int(phase) for code, phase in CSAE_LIGHTS.items()}


def _signal_phase(rng: random.Random, group: int) -> dict[str, object]:
    green_end = rng.randint(50, 600)
    return {
        "signal_group": group,
        "states": [
            {
                "light": 6,
                "start": 0,
                "min_end": green_end - 40,
                "max_end": green_end + 200,
                "likely_end": green_end,
                "confidence": rng.randint(0, 15),
            },
            {"light": 7, "start": green_end, "likely_end": green_end + 30, "next_start": green_end + 1200},
        ],
    }


def _countdown(now_ms: int, value: int | None) -> int | None:
    return None if value is None or value == _COUNTDOWN_UNAVAILABLE else now_ms + 100 * value


def _signal_baseline(payload: bytes, context: MessageContext) -> bytes:
    message = json.loads(payload)
    now = message["timestamp_ms"]
    movements = [
        signal_pb2.MovementState(
            signal_group=p["signal_group"],
            events=[
                signal_pb2.MovementEvent(
                    phase=_CSAE_CODES[s["light"]],  # type: ignore[arg-type]
                    start_time_unix_ms=_countdown(now, s.get("start")),
                    min_end_time_unix_ms=_countdown(now, s.get("min_end")),
                    max_end_time_unix_ms=_countdown(now, s.get("max_end")),
                    likely_end_time_unix_ms=_countdown(now, s.get("likely_end")),
                    confidence=s.get("confidence"),
                    next_time_unix_ms=_countdown(now, s.get("next_start")),
                )
                for s in p["states"]
            ],
        )
        for p in message["phases"]
    ]
    spat = signal_pb2.SignalPhaseAndTiming(
        intersection_id=message["intersection_id"],
        region=message.get("region"),
        revision=message.get("revision", 0),
        status_flags=message.get("status_flags", 0),
        time_unix_ms=now,
        movements=movements,
        name=message.get("name", ""),
        provenance=_provenance(context, now),
    )
    return spat.SerializeToString()


def signal_case(count: int) -> AdapterCase:
    rng = random.Random(17)
    base_ms = 1_714_579_212_300
    payloads = [
        _dumps(
            {
                "intersection_id": 1000 + index % 100,
                "region": 31,
                "revision": index % 128,
                "name": f"Bench Ave / Cross St {index % 100}",
                "timestamp_ms": base_ms + 100 * index,
                "convention": "csae",
                "phases": [_signal_phase(rng, group) for group in range(1, _SIGNAL_GROUPS + 1)],
            }
        )
        for index in range(count)
    ]
    return AdapterCase(OBJECTS_PER_FRAME, "rsu/RSU0/spat/sensor0", payloads, _signal_baseline)


# bsm_json: one BSM (one vehicle) per message, J2735 scaled integers, no "unavailable" codes


_MINUTE_MS = 60_000
_G_MPS2 = 9.80665


def _bsm(rng: random.Random, index: int) -> dict[str, object]:
    core = {
        "msgCnt": index % 128,
        "id": f"{rng.getrandbits(32):08x}",
        "secMark": rng.randint(0, 59_999),
        "lat": 405_657_318 + rng.randint(-50_000, 50_000),
        "long": -1_050_318_485 + rng.randint(-50_000, 50_000),
        "elev": rng.randint(14_000, 15_000),
        "accuracy": {
            "semiMajor": rng.randint(20, 250),
            "semiMinor": rng.randint(10, 200),
            "orientation": rng.randint(0, 65_534),
        },
        "transmission": 2,
        "speed": rng.randint(0, 1_500),
        "heading": rng.randint(0, 28_799),
        "angle": rng.randint(-20, 20),
        "accelSet": {
            "long": rng.randint(-300, 300),
            "lat": rng.randint(-100, 100),
            "vert": rng.randint(-5, 5),
            "yaw": rng.randint(-500, 500),
        },
        "brakes": {
            "wheelBrakes": "00000",
            "traction": "unavailable",
            "abs": "unavailable",
            "scs": "unavailable",
            "brakeBoost": "unavailable",
            "auxBrakes": "unavailable",
        },
        "size": {"width": rng.randint(160, 260), "length": rng.randint(380, 1_200)},
    }
    return {"coreData": core}


def _bsm_baseline(payload: bytes, context: MessageContext) -> bytes:
    c = json.loads(payload)["coreData"]
    receive_ms = context.receive_time_unix_ms
    half = _MINUTE_MS // 2
    time_unix_ms = receive_ms + (c["secMark"] - receive_ms % _MINUTE_MS + half) % _MINUTE_MS - half
    accuracy, accel, size = c["accuracy"], c["accelSet"], c["size"]
    transmission = c["transmission"] + 1 if c["transmission"] <= 3 else 0
    state = vehicle_pb2.VehicleState(
        temporary_id=bytes.fromhex(c["id"]),
        message_count=c["msgCnt"],
        time_unix_ms=time_unix_ms,
        position=common_pb2.Position(
            latitude_deg=c["lat"] / 1e7, longitude_deg=c["long"] / 1e7, elevation_m=c["elev"] / 10
        ),
        accuracy=common_pb2.PositionAccuracy(
            semi_major_m=accuracy["semiMajor"] / 20,
            semi_minor_m=accuracy["semiMinor"] / 20,
            semi_major_orientation_deg=accuracy["orientation"] * 360 / 65535,
        ),
        speed_mps=c["speed"] / 50,
        heading_deg=c["heading"] / 80,
        steering_wheel_angle_deg=c["angle"] * 1.5,
        longitudinal_acceleration_mps2=accel["long"] / 100,
        lateral_acceleration_mps2=accel["lat"] / 100,
        vertical_acceleration_mps2=accel["vert"] * 0.02 * _G_MPS2,
        yaw_rate_deg_per_s=accel["yaw"] / 100,
        transmission=transmission,  # type: ignore[arg-type]
        size=common_pb2.Dimensions(length_m=size["length"] / 100, width_m=size["width"] / 100),
        provenance=_provenance(context, time_unix_ms),
    )
    return state.SerializeToString()


def bsm_case(count: int) -> AdapterCase:
    rng = random.Random(19)
    payloads = [_dumps(_bsm(rng, index)) for index in range(count)]
    return AdapterCase(1, "rsu/RSU0/bsm/sensor0", payloads, _bsm_baseline)


CASES: Mapping[str, Callable[[int], AdapterCase]] = {
    "radar_wgs84": radar_case,
    "lidar_sensor_frame": lidar_case,
    "camera_ground": camera_case,
    "signal_controller": signal_case,
    "bsm_json": bsm_case,
}
"""Adapter name -> builder of `count` distinct payloads and their baseline; one entry per adapter."""


# ---- part 1: measurement -----------------------------------------------------------------------------


def _serialize(item: Normalized) -> bytes:
    return as_canonical(item)[1].SerializeToString()


def adapter_workload(adapter: Adapter) -> Workload:
    """What the gateway does per message apart from I/O: adapt, convert each item, serialize."""

    def run(payload: bytes, context: MessageContext) -> object:
        return [_serialize(item) for item in adapter(payload, context)]

    return run


def frames_per_s(workload: Workload, payloads: Sequence[bytes], context: MessageContext, budget_s: float) -> float:
    """Messages per CPU second of this thread, running `workload` over `payloads` for about `budget_s` (wall).

    CPU time rather than wall time, so that other load on a shared machine does not count as our cost.
    """
    count = 0
    deadline = time.perf_counter() + budget_s
    cpu_started = time.thread_time()
    while True:
        for payload in payloads:
            workload(payload, context)
        count += len(payloads)
        if time.perf_counter() >= deadline:
            return count / (time.thread_time() - cpu_started)


@dataclass(slots=True)
class Measured:
    """One row of part 1: a workload's rates over the rounds, and how many objects a message holds."""

    name: str
    objects_per_frame: int
    payload_bytes: float
    proto_bytes: float
    rates: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return median_of(self.rates)


@dataclass(slots=True)
class AdapterResult:
    name: str
    adapter: Measured
    baseline: Measured

    @property
    def ratio(self) -> float:
        return self.adapter.rate / self.baseline.rate


def _mean_len(values: Sequence[bytes]) -> float:
    return sum(map(len, values)) / len(values)


def _proto_bytes(output: object) -> int:
    if isinstance(output, bytes):
        return len(output)
    return sum(len(part) for part in output if isinstance(part, bytes)) if isinstance(output, list) else 0


def _measured(name: str, case: AdapterCase, workload: Workload, context: MessageContext) -> Measured:
    """An empty row for `workload`, with its mean output size over a sample (which also warms it up)."""
    sample = case.payloads[: min(32, len(case.payloads))]
    proto_bytes = sum(_proto_bytes(workload(payload, context)) for payload in sample) / len(sample)
    return Measured(name, case.objects_per_frame, _mean_len(case.payloads), proto_bytes)


def _prepare(name: str, builder: Callable[[int], AdapterCase]) -> tuple[AdapterCase, Adapter] | str:
    """The case and the built adapter, or why the adapter is skipped."""
    try:
        case = builder(_PAYLOADS)
        adapter = ADAPTERS[name](case.options)
        context = _context(case.topic)
        for payload in case.payloads:
            adapter(payload, context)
    except Exception as exc:  # the adapters are being extended: a broken one is reported, not fatal
        return f"{type(exc).__name__}: {exc}"
    return case, adapter


def run_adapters(profile: Profile) -> tuple[list[AdapterResult], list[Measured], list[str]]:
    """Part 1: (per-adapter results, extra radar rows, notes about skipped adapters)."""
    notes: list[str] = []
    plans: list[tuple[AdapterResult, AdapterCase, Workload, Workload]] = []
    for name in ADAPTERS:
        builder = CASES.get(name)
        if builder is None:
            notes.append(f"{name}: skipped, no payload builder in bench.gateway.CASES")
            continue
        prepared = _prepare(name, builder)
        if isinstance(prepared, str):
            notes.append(f"{name}: skipped, sample payloads rejected or adapter not built ({prepared})")
            continue
        case, adapter = prepared
        context = _context(case.topic)
        workload = adapter_workload(adapter)
        result = AdapterResult(
            name, _measured(name, case, workload, context), _measured("baseline", case, case.baseline, context)
        )
        plans.append((result, case, workload, case.baseline))
    extras = _radar_extras(notes)
    for _ in range(profile.adapter_rounds):  # interleaved rounds: drift hits adapter and baseline alike
        for result, case, workload, baseline in plans:
            context = _context(case.topic)
            result.adapter.rates.append(frames_per_s(workload, case.payloads, context, profile.adapter_budget_s))
            result.baseline.rates.append(frames_per_s(baseline, case.payloads, context, profile.adapter_budget_s))
        for measured, case, workload in extras:
            measured.rates.append(frames_per_s(workload, case.payloads, _context(case.topic), profile.adapter_budget_s))
    return [plan[0] for plan in plans], [extra[0] for extra in extras], notes


def _radar_extras(notes: list[str]) -> list[tuple[Measured, AdapterCase, Workload]]:
    """Stages of the radar adapter and the whole `Pipeline.process`, for the reading of the numbers."""
    if "radar_wgs84" not in ADAPTERS:
        return []
    case = radar_case(_PAYLOADS)
    adapter = ADAPTERS["radar_wgs84"]({})
    pipeline = Pipeline(
        [Route(topic_filter="rsu/+/radar/+", adapter="radar_wgs84", sensor_level=3)],
        ADAPTERS,
        1 << 20,
        time_bounds=TimeBounds(max_age_ms=1 << 50, max_future_ms=1 << 50),
        dedupe_capacity=1,  # the payloads cycle; a 1-entry memory never sees a repeat but pays the hash
    )

    def process(payload: bytes, context: MessageContext) -> object:
        items = pipeline.process(context.topic, payload, context.receive_time_unix_ms)
        return [message.SerializeToString() for _, message in items]

    stages: list[tuple[str, Workload]] = [
        ("radar: json.loads only", lambda payload, _: json.loads(payload)),
        ("radar: pydantic parse", lambda payload, _: parse_radar_frame(payload)),
        ("radar: + build v1 message", adapter),
        ("radar: + serialize", adapter_workload(adapter)),
        ("radar: Pipeline.process + serialize", process),
    ]
    extras = []
    for name, workload in stages:
        measured = Measured(name, OBJECTS_PER_FRAME, _mean_len(case.payloads), 0.0)
        workload(case.payloads[0], _context(case.topic))
        extras.append((measured, case, workload))
    if pipeline.stats.rejected:
        notes.append(f"radar Pipeline.process rejected payloads: {dict(pipeline.stats.rejected)}")
    return extras


# ---- report ------------------------------------------------------------------------------------------


def _load_average() -> str:
    with contextlib.suppress(OSError):
        return "/".join(f"{value:.2f}" for value in os.getloadavg())
    return "unknown"


def adapter_table(results: Sequence[AdapterResult], extras: Sequence[Measured]) -> str:
    rows: list[list[object]] = [
        ["workload", "objs/msg", "JSON B", "proto B", "msgs/s", "objects/s", "us/msg", "ratio vs baseline"]
    ]
    for result in results:
        for measured, ratio in ((result.adapter, result.ratio), (result.baseline, None)):
            name = result.name if measured is result.adapter else f"  baseline {result.name}"
            rows.append(_measured_row(name, measured, ratio))
    radar = next((r for r in results if r.name == "radar_wgs84"), None)
    for measured in extras:
        ratio = measured.rate / radar.baseline.rate if radar is not None else None
        rows.append(_measured_row(measured.name, measured, ratio))
    return format_table(rows)


def _measured_row(name: str, measured: Measured, ratio: float | None) -> list[object]:
    rate = measured.rate
    proto: object = round(measured.proto_bytes) if measured.proto_bytes else None
    objects = rate * measured.objects_per_frame
    return [name, measured.objects_per_frame, round(measured.payload_bytes), proto, rate, objects, 1e6 / rate, ratio]


_E2E_COLUMNS: tuple[tuple[str, Callable[[RunResult], object]], ...] = (
    ("path", lambda r: r.path),
    ("offered", lambda r: r.spec.label),
    ("s", lambda r: r.spec.duration_s),
    ("published", lambda r: r.published),
    ("pub/s", lambda r: r.publish_per_s),
    ("normalized/s", lambda r: r.normalized_per_s),
    ("delivered/s", lambda r: r.delivered_per_s),
    ("objects/s", lambda r: r.delivered_per_s * OBJECTS_PER_FRAME),
    ("lost", lambda r: r.lost),
    ("dup", lambda r: r.duplicates),
    ("p50 ms", lambda r: r.p50_ms),
    ("p99 ms", lambda r: r.p99_ms),
    ("max ms", lambda r: r.max_ms),
    ("path cores", lambda r: r.path_cores),
    ("sink cores", lambda r: r.sink_cores),
    ("pub cores", lambda r: r.publisher_cores),
    ("broker cores", lambda r: r.broker_cores),
    ("other cores", lambda r: r.other_cores),
    ("machine busy", lambda r: f"{r.machine_busy:.0%}"),
)


def e2e_table(results: Sequence[RunResult]) -> str:
    rows: list[list[object]] = [[name for name, _ in _E2E_COLUMNS]]
    rows += [[value(r) for _, value in _E2E_COLUMNS] for r in results]
    return format_table(rows)


def _pick(results: Sequence[RunResult], path: str, label: str) -> RunResult:
    return next(r for r in results if r.path == path and r.spec.label == label)


def headline(
    adapters: Sequence[AdapterResult], extras: Sequence[Measured], runs: Sequence[RunResult], profile: Profile
) -> dict[str, Figure]:
    """The final JSON line.

    `e2e_frames_per_s` is the gateway's delivered rate at 2,000/s offered, or the saturation rate if lower;
    `e2e_p50_ms` / `e2e_p99_ms` are at 2,000/s offered and `e2e_added_*` subtract the raw subscriber's at the
    same load. `e2e_target_met` needs a saturation rate >= 2,000 frames/s, >= 98 % of 2,000/s delivered at
    that offered load, an added p99 below 20 ms, and nothing lost or dead-lettered.
    """
    at_2000, at_1000, at_500 = (_pick(runs, "gateway", f"{rate}/s") for rate in (2000, 1000, 500))
    saturation, raw_saturation = _pick(runs, "gateway", "saturation"), _pick(runs, "raw paho", "saturation")
    raw_2000 = _pick(runs, "raw paho", "2000/s")
    ratio_min = min((r.ratio for r in adapters), default=None)
    e2e_rate = min(at_2000.delivered_per_s, saturation.delivered_per_s)
    gateway_runs = [r for r in runs if r.path == "gateway"]
    lost = sum(r.lost for r in gateway_runs)
    dead = sum(r.dead_lettered for r in gateway_runs)
    added_p99 = at_2000.p99_ms - raw_2000.p99_ms
    figures: dict[str, Figure] = {
        "adapter_ratio_min": round(ratio_min, 3) if ratio_min is not None else None,
        "pipeline_radar_ratio": _pipeline_ratio(adapters, extras),
        "adapter_slowest": min(adapters, key=lambda r: r.ratio).name if adapters else None,
        **{f"adapter_ratio_{r.name}": round(r.ratio, 3) for r in adapters},
        **{f"adapter_frames_per_s_{r.name}": round(r.adapter.rate) for r in adapters},
        "e2e_frames_per_s": round(e2e_rate),
        "e2e_objects_per_s": round(e2e_rate * OBJECTS_PER_FRAME),
        "e2e_p50_ms": round(at_2000.p50_ms, 2),
        "e2e_p99_ms": round(at_2000.p99_ms, 2),
        "e2e_added_p50_ms": round(at_2000.p50_ms - raw_2000.p50_ms, 2),
        "e2e_added_p99_ms": round(added_p99, 2),
        "e2e_500_p50_ms": round(at_500.p50_ms, 2),
        "e2e_500_p99_ms": round(at_500.p99_ms, 2),
        "e2e_1000_delivered_per_s": round(at_1000.delivered_per_s),
        "e2e_1000_p50_ms": round(at_1000.p50_ms, 2),
        "e2e_1000_p99_ms": round(at_1000.p99_ms, 2),
        "e2e_lost": lost,
        "e2e_dead_lettered": dead,
        "gateway_cores_at_2000": round(at_2000.path_cores, 2),
        "saturation_frames_per_s": round(saturation.delivered_per_s),
        "saturation_objects_per_s": round(saturation.delivered_per_s * OBJECTS_PER_FRAME),
        "raw_sub_per_s": round(raw_saturation.delivered_per_s),
        "raw_p50_ms": round(raw_2000.p50_ms, 2),
        "raw_p99_ms": round(raw_2000.p99_ms, 2),
        "raw_lost": sum(r.lost for r in runs if r.path == "raw paho"),
        "adapter_target_met": ratio_min is not None and ratio_min >= ADAPTER_TARGET,
        "e2e_target_met": (
            saturation.delivered_per_s >= E2E_TARGET_FRAMES_PER_S
            and at_2000.delivered_per_s >= 0.98 * E2E_TARGET_FRAMES_PER_S
            and added_p99 < E2E_TARGET_ADDED_P99_MS
            and lost == 0
            and dead == 0
        ),
        "mode": profile.name,
        "cores": os.cpu_count(),
        "grpc": grpc.__version__,
        "protobuf": f"{protobuf_version} {api_implementation.Type()}",
    }
    return figures


def _pipeline_ratio(adapters: Sequence[AdapterResult], extras: Sequence[Measured]) -> float | None:
    radar = next((r for r in adapters if r.name == "radar_wgs84"), None)
    pipeline = next((m for m in extras if m.name.startswith("radar: Pipeline")), None)
    if radar is None or pipeline is None:
        return None
    return round(pipeline.rate / radar.baseline.rate, 3)


def parse_profile(argv: Sequence[str] | None) -> Profile:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=doc.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the default: 5 s per offered load, about 1.5 minutes")
    size.add_argument("--full", action="store_true", help="20 s per offered load, longer adapter rounds")
    args = parser.parse_args(argv)
    return FULL if args.full else QUICK


def main(argv: Sequence[str] | None = None) -> int:
    profile = parse_profile(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM cleans up as Ctrl-C does
    started = time.perf_counter()
    progress(f"{profile.name}: part 1, adapters")
    adapters, extras, notes = run_adapters(profile)
    load_before = _load_average()
    progress(f"part 2, end to end (load average {load_before})")
    runs = asyncio.run(run_end_to_end(profile.e2e))
    elapsed = time.perf_counter() - started
    print(f"bench.gateway ({profile.name}): {elapsed:.1f} s in all, {os.cpu_count()} cores")
    print(f"load average (1/5/15 min) before part 2: {load_before}, at the end: {_load_average()}")
    print()
    rounds = f"median of {profile.adapter_rounds} rounds of {profile.adapter_budget_s} s"
    print(f"normalization per core (messages per CPU second of one thread): {rounds}")
    print(adapter_table(adapters, extras))
    for note in notes:
        print(f"note: {note}")
    print()
    window = profile.e2e.window
    print(f"end to end, {OBJECTS_PER_FRAME} objects/frame, publish -> sink latency (saturation window {window})")
    print(e2e_table(runs))
    print(headline_line(headline(adapters, extras, runs, profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
