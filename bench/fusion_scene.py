"""Scenario generator with ground truth for the fusion benchmark: traffic, RSU object lists, vehicle self-reports.

Ground truth comes from Eclipse SUMO (PyPI ``eclipse-sumo`` and ``libsumo``, the ``sim`` extra): ``netgenerate``
builds a 3 x 3 grid of signalized four-way junctions (150 m blocks, two lanes per direction, sidewalks and
crossings, 100 m approach roads), and libsumo runs it in-process with seeded random demand: vehicles
(cars, trucks, buses, motorcycles, bicycles) on fringe-to-fringe trips and pedestrians walking between
random sidewalks. Vehicle positions are taken at the centre of the body (SUMO reports the front bumper).
Without SUMO a built-in kinematic generator drives objects on the same grid (straight lines, random turns
at junctions, no interaction, no signals); :attr:`Scenario.source` says which one ran.

The tile's ENU frame has its origin at the central junction. Four RSUs watch the central junction and
three of its arms, with overlapping coverage (:data:`DEFAULT_SENSORS`):

- each RSU sends every 100 ms, at its own phase, an object list of *tracked* estimates with RSU-local
  object ids: an object keeps its id while the RSU keeps it, and gets a new one after it left the field of
  view or was missed for more than ``coast_frames`` frames;
- estimate errors are AR(1)-correlated from frame to frame (a tracker's output), shaped along and across
  the line of sight by modality (lidar: small and round; radar: good range and radial speed, poor azimuth;
  camera: poor depth), growing with range, plus a fixed calibration offset that the RSU does not report;
  the reported covariance is the stationary error covariance without the offset;
- missed reports (detection probability by vehicle / vulnerable road user), clutter as short-lived ghost
  tracks, latency with exponential jitter, and a clock skew of the RSU's clock; the gateway's estimate of
  that offset (``Provenance.clock_offset_ms``) has a residual error of a few ms;
- each reported object carries the RSU tracker's existence probability (``existence_probability``), one
  IPDA rule over each track's own detection sequence (:func:`existence_update`), real object or ghost.

Connected vehicles (a share of the passenger cars) send their own state every 100 ms: GNSS position with a
slowly varying bias (first-order Gauss-Markov) plus white noise, precise speed and heading, a fixed
temporary id, and a network latency. RSU frames and vehicle states are domain objects
(:class:`roadlink.domain.perception.PerceptionFrame`, :class:`roadlink.domain.vehicle.VehicleState`) in
WGS84, turned into :class:`roadlink.fusion.Detections` by :mod:`roadlink.fusion.convert`, which applies
the clock offsets.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import math
import os
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from roadlink.domain.classes import ObjectClass
from roadlink.domain.geodesy import LocalOrigin, enu_velocity_to_heading_speed
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.spatial import Covariance2D, Position, PositionAccuracy
from roadlink.domain.vehicle import VehicleState
from roadlink.fusion import Detections, SourceKind, detections_from_frames, detections_from_vehicle_states

__all__ = [
    "DEFAULT_SENSORS",
    "Arrival",
    "ConnectedVehicles",
    "Scenario",
    "SceneConfig",
    "Sensor",
    "Truth",
    "build_scenario",
    "covered_count",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

STEP_MS = 100
_CENTRE_JUNCTION = "B1"
_VRU_CLASSES = (int(ObjectClass.PEDESTRIAN), int(ObjectClass.BICYCLE))


@dataclass(frozen=True, slots=True)
class Sensor:
    """One RSU and the error model of its object list (ENU metres, degrees clockwise from north, ms).

    Standard deviations along (radial) and across (tangential) the line of sight are ``a + b * range_m``.
    ``clutter_gate_probability`` is the chance per frame that clutter falls in a track's gate: what keeps a
    ghost track alive between its (recurring) clutter detections, and what the RSU's tracker assumes when it
    computes each track's existence probability (:func:`existence_update`), together with its detection
    probabilities and ``track_survival_probability`` per frame.
    """

    name: str
    modality: str
    position_m: tuple[float, float]
    range_m: float
    boresight_deg: float
    half_fov_deg: float
    radial_std_m: tuple[float, float]
    tangential_std_m: tuple[float, float]
    velocity_std_mps: float
    correlation: float
    bias_m: tuple[float, float]
    detection_probability: float
    vru_detection_probability: float
    clutter_per_frame: float
    clutter_life_frames: float
    coast_frames: int
    latency_ms: float
    latency_jitter_ms: float
    clock_skew_ms: int
    offset_error_ms: float
    phase_ms: int
    class_confidence: float
    clutter_gate_probability: float = 0.5
    track_survival_probability: float = 0.98

    def covers(self, positions_m: FloatArray, margin_m: float = 0.0) -> BoolArray:
        """``(n,)`` whether positions ``(n, 2)`` are in the field of view (dilated by ``margin_m``)."""
        offset = positions_m - np.asarray(self.position_m)
        r = np.hypot(offset[:, 0], offset[:, 1])
        if self.half_fov_deg >= 180.0:
            return np.asarray(r <= self.range_m + margin_m)
        bearing = np.degrees(np.arctan2(offset[:, 0], offset[:, 1]))
        off_axis = np.abs((bearing - self.boresight_deg + 180.0) % 360.0 - 180.0)
        slack = np.degrees(np.arcsin(np.minimum(1.0, margin_m / np.maximum(r, 1e-6))))
        return np.asarray((r <= self.range_m + margin_m) & ((off_axis <= self.half_fov_deg + slack) | (r <= margin_m)))


def _lidar(name: str, position: tuple[float, float], **changes: object) -> Sensor:
    values: dict[str, object] = {
        "name": name,
        "modality": "lidar",
        "position_m": position,
        "range_m": 90.0,
        "boresight_deg": 0.0,
        "half_fov_deg": 180.0,
        "radial_std_m": (0.15, 0.002),
        "tangential_std_m": (0.15, 0.003),
        "velocity_std_mps": 0.4,
        "correlation": 0.8,
        "bias_m": (0.15, -0.10),
        "detection_probability": 0.97,
        "vru_detection_probability": 0.92,
        "clutter_per_frame": 0.05,
        "clutter_life_frames": 10.0,
        "coast_frames": 3,
        "latency_ms": 60.0,
        "latency_jitter_ms": 15.0,
        "clock_skew_ms": 23,
        "offset_error_ms": 3.0,
        "phase_ms": 0,
        "class_confidence": 0.8,
    }
    values.update(changes)
    return Sensor(**values)  # type: ignore[arg-type]


DEFAULT_SENSORS: tuple[Sensor, ...] = (
    _lidar("rsu-1-lidar", (0.0, 0.0)),
    _lidar(
        "rsu-2-radar",
        (150.0, 0.0),
        modality="radar",
        range_m=200.0,
        boresight_deg=270.0,
        half_fov_deg=25.0,
        radial_std_m=(0.3, 0.002),
        tangential_std_m=(0.3, 0.0087),
        velocity_std_mps=0.15,
        correlation=0.85,
        bias_m=(-0.30, 0.20),
        detection_probability=0.95,
        vru_detection_probability=0.55,
        clutter_per_frame=0.2,
        clutter_life_frames=8.0,
        latency_ms=50.0,
        latency_jitter_ms=10.0,
        clock_skew_ms=-41,
        phase_ms=25,
        class_confidence=0.5,
    ),
    _lidar(
        "rsu-3-camera",
        (0.0, -150.0),
        modality="camera",
        range_m=110.0,
        boresight_deg=0.0,
        half_fov_deg=40.0,
        radial_std_m=(0.3, 0.01),
        tangential_std_m=(0.15, 0.002),
        velocity_std_mps=0.8,
        correlation=0.85,
        bias_m=(0.20, 0.30),
        detection_probability=0.93,
        vru_detection_probability=0.90,
        clutter_per_frame=0.05,
        clutter_life_frames=6.0,
        latency_ms=100.0,
        latency_jitter_ms=20.0,
        clock_skew_ms=68,
        offset_error_ms=4.0,
        phase_ms=50,
        class_confidence=0.9,
    ),
    _lidar(
        "rsu-4-lidar",
        (0.0, 150.0),
        range_m=80.0,
        bias_m=(-0.10, 0.20),
        latency_ms=70.0,
        clock_skew_ms=-15,
        phase_ms=75,
    ),
)
"""RSU 1 (lidar) at the central junction; RSU 2 (radar) at the east junction looking west along the
east-west road; RSU 3 (camera) at the south junction looking north; RSU 4 (lidar) at the north junction.
Overlaps: RSU 1 with each of the others on the arms (and RSU 2 over the whole central junction)."""


@dataclass(frozen=True, slots=True)
class ConnectedVehicles:
    """Connected passenger cars sending their own state (metres, m/s, degrees, seconds, ms)."""

    penetration: float = 0.2
    period_ms: int = 100
    gnss_white_std_m: float = 0.3
    gnss_bias_std_m: float = 0.6
    gnss_bias_tau_s: float = 20.0
    reported_std_m: float = 0.7
    speed_std_mps: float = 0.1
    heading_std_deg: float = 1.0
    latency_ms: float = 60.0
    latency_jitter_ms: float = 30.0


@dataclass(frozen=True, slots=True)
class SceneConfig:
    """The default scene: moderate urban traffic (see the module docstring).

    Attributes:
        duration_s: Observed time after the warm-up (s).
        warmup_s: Simulated time before observation starts, to fill the network (s).
        vehicles_per_s / pedestrians_per_s: Poisson demand over the whole network (1/s).
    """

    seed: int = 1
    duration_s: float = 30.0
    warmup_s: float = 150.0
    vehicles_per_s: float = 0.7
    pedestrians_per_s: float = 0.2
    block_m: float = 150.0
    sensors: tuple[Sensor, ...] = DEFAULT_SENSORS
    connected: ConnectedVehicles = field(default_factory=ConnectedVehicles)
    origin: LocalOrigin = field(default_factory=lambda: LocalOrigin(39.9042, 116.4074, 50.0))
    t0_ms: int = 1_700_000_000_000
    use_sumo: bool = True


@dataclass(slots=True)
class Truth:
    """Ground truth sampled every ``STEP_MS`` from ``t0_ms``: object k at sample i (NaN when absent).

    Attributes:
        positions_m / velocities_mps: ``(T, K, 2)`` ENU.
        classes: ``(K,)`` ObjectClass values.
        names: SUMO ids (or generated names) of the K objects.
    """

    t0_ms: int
    positions_m: FloatArray
    velocities_mps: FloatArray
    classes: NDArray[np.int16]
    names: list[str]

    @property
    def end_ms(self) -> int:
        return self.t0_ms + (len(self.positions_m) - 1) * STEP_MS

    def at(self, time_ms: int) -> tuple[IntArray, FloatArray, FloatArray]:
        """Objects present at ``time_ms``: ids ``(n,)``, positions ``(n, 2)``, velocities ``(n, 2)``.

        Linear interpolation between samples; at an appearance or disappearance, extrapolation with the
        velocity of the one sample there is.
        """
        x = (time_ms - self.t0_ms) / STEP_MS
        i = min(max(math.floor(x), 0), len(self.positions_m) - 2)
        frac = x - i
        p0, p1 = self.positions_m[i], self.positions_m[i + 1]
        v0, v1 = self.velocities_mps[i], self.velocities_mps[i + 1]
        has0, has1 = ~np.isnan(p0[:, 0]), ~np.isnan(p1[:, 0])
        dt_s = STEP_MS / 1000.0
        pos = np.where((has0 & has1)[:, None], p0 + frac * (p1 - p0), np.nan)
        pos = np.where((has0 & ~has1 & (frac < 0.5))[:, None], p0 + v0 * frac * dt_s, pos)
        pos = np.where((~has0 & has1 & (frac >= 0.5))[:, None], p1 - v1 * (1.0 - frac) * dt_s, pos)
        vel = np.where(has1[:, None] & (frac >= 0.5), v1, v0)
        ids = np.flatnonzero(~np.isnan(pos[:, 0]))
        return ids.astype(np.int64), pos[ids], np.nan_to_num(vel[ids])


@dataclass(frozen=True, slots=True)
class Arrival:
    """What one source sent, as detections, with the receiver time of each detection (ms)."""

    source: str
    kind: SourceKind
    receive_ms: IntArray
    detections: Detections


@dataclass(slots=True)
class Scenario:
    """A scene: ground truth, what the sources sent, and how it was made."""

    config: SceneConfig
    source: str
    source_note: str
    truth: Truth
    arrivals: list[Arrival]
    connected_ids: dict[int, bytes]
    observe_start_ms: int
    observe_end_ms: int
    build_seconds: dict[str, float] = field(default_factory=dict)
    convert_objects: int = 0

    @property
    def sensors(self) -> tuple[Sensor, ...]:
        return self.config.sensors


def covered_count(sensors: tuple[Sensor, ...], positions_m: FloatArray, margin_m: float = 0.0) -> IntArray:
    """``(n,)`` how many RSUs cover each position ``(n, 2)``."""
    counts = np.zeros(len(positions_m), dtype=np.int64)
    for sensor in sensors:
        counts += sensor.covers(positions_m, margin_m)
    return counts


# ---- ground truth: SUMO ------------------------------------------------------------------------------


_SUMO_TYPES = (  # (vType id, vClass, share of vehicles, ObjectClass)
    ("car", "passenger", 0.80, ObjectClass.PASSENGER_CAR),
    ("truck", "truck", 0.05, ObjectClass.TRUCK),
    ("bus", "bus", 0.04, ObjectClass.BUS),
    ("moto", "motorcycle", 0.05, ObjectClass.MOTORCYCLE),
    ("bike", "bicycle", 0.06, ObjectClass.BICYCLE),
)


def sumo_version() -> str | None:
    """The installed eclipse-sumo version, or None when SUMO or libsumo is missing."""
    try:
        _module("libsumo")
        _module("sumo")
        return importlib.metadata.version("eclipse-sumo")
    except Exception:  # any failure means "no SUMO here"
        return None


def _module(name: str) -> Any:
    """Import a SUMO module dynamically: SUMO ships no type information and is an optional, bench-only
    dependency (the ``sim`` extra), so its modules are ``Any`` to mypy, installed or not."""
    return importlib.import_module(name)


def _netgenerate(workdir: Path, block_m: float) -> Path:
    sumo = _module("sumo")

    net = workdir / "grid.net.xml"
    command = [
        os.path.join(sumo.SUMO_HOME, "bin", "netgenerate"),
        "--grid",
        "--grid.number=3",
        f"--grid.length={block_m}",
        "--grid.attach-length=100",
        "--default.lanenumber=2",
        "--tls.guess=true",
        "--sidewalks.guess=true",
        "--crossings.guess=true",
        "--no-turnarounds=true",
        f"--output-file={net}",
    ]
    env = {**os.environ, "SUMO_HOME": sumo.SUMO_HOME}
    subprocess.run(command, check=True, capture_output=True, timeout=60, env=env)
    return net


def _write_demand(workdir: Path, net: Path, config: SceneConfig, rng: np.random.Generator) -> Path:
    sumolib = _module("sumolib")

    network = sumolib.net.readNet(str(net))
    edges = network.getEdges()
    entries = [e.getID() for e in edges if not e.getFromNode().getID()[0].isupper()]
    exits = [e.getID() for e in edges if not e.getToNode().getID()[0].isupper()]
    walkable = [e.getID() for e in edges if e.allows("pedestrian")]
    horizon = config.warmup_s + config.duration_s
    items: list[tuple[float, str]] = []
    depart = float(rng.exponential(1.0 / config.vehicles_per_s))
    shares = np.array([share for _, _, share, _ in _SUMO_TYPES])
    index = 0
    while depart < horizon:
        type_id = _SUMO_TYPES[int(rng.choice(len(_SUMO_TYPES), p=shares / shares.sum()))][0]
        origin, target = str(rng.choice(entries)), str(rng.choice(exits))
        items.append(
            (
                depart,
                f'<trip id="v{index}" type="{type_id}" depart="{depart:.1f}" from="{origin}" to="{target}" '
                'departLane="best" departSpeed="max"/>',
            )
        )
        index += 1
        depart += float(rng.exponential(1.0 / config.vehicles_per_s))
    depart, index = float(rng.exponential(1.0 / config.pedestrians_per_s)), 0
    while depart < horizon:
        origin, target = (str(e) for e in rng.choice(walkable, size=2, replace=False))
        items.append(
            (
                depart,
                f'<person id="p{index}" depart="{depart:.1f}"><walk from="{origin}" to="{target}"/></person>',
            )
        )
        index += 1
        depart += float(rng.exponential(1.0 / config.pedestrians_per_s))
    routes = workdir / "demand.rou.xml"
    types = "\n".join(f'  <vType id="{t}" vClass="{c}" sigma="0.5"/>' for t, c, _, _ in _SUMO_TYPES)
    body = "\n".join(f"  {text}" for _, text in sorted(items, key=lambda item: item[0]))
    routes.write_text(f"<routes>\n{types}\n{body}\n</routes>\n")
    return routes


def simulate_sumo(config: SceneConfig) -> tuple[Truth, str]:
    """Run SUMO in-process (libsumo) and sample every object every 100 ms over the observed time."""
    libsumo = _module("libsumo")
    rng = np.random.default_rng(config.seed)
    with tempfile.TemporaryDirectory(prefix="bench-fusion-") as tmp:
        workdir = Path(tmp)
        net = _netgenerate(workdir, config.block_m)
        routes = _write_demand(workdir, net, config, rng)
        libsumo.start(
            ["sumo", "-n", str(net), "-r", str(routes), "--step-length", str(STEP_MS / 1000.0), "--no-step-log",
             "--no-warnings", "--seed", str(config.seed), "--time-to-teleport", "-1"]
        )  # fmt: skip
        try:
            centre = np.array(libsumo.junction.getPosition(_CENTRE_JUNCTION))
            warmup_steps = round(config.warmup_s * 1000 / STEP_MS)
            for _ in range(warmup_steps):
                libsumo.simulationStep()
            samples = [_sample_sumo(libsumo, centre)]
            for _ in range(round(config.duration_s * 1000 / STEP_MS)):
                libsumo.simulationStep()
                samples.append(_sample_sumo(libsumo, centre))
        finally:
            libsumo.close()
    note = f"SUMO {sumo_version()} via libsumo: 3x3 grid, {config.block_m:.0f} m blocks, signalized, seed {config.seed}"
    return _dense_truth(config.t0_ms, samples), note


_Sample = dict[str, tuple[float, float, float, float, int]]


def _sample_sumo(libsumo: Any, centre: FloatArray) -> _Sample:
    """name -> (east_m, north_m, v_east_mps, v_north_mps, ObjectClass) of every vehicle and person."""
    vehicle, person = libsumo.vehicle, libsumo.person
    classes = {type_id: int(object_class) for type_id, _, _, object_class in _SUMO_TYPES}
    sample: _Sample = {}
    for name in vehicle.getIDList():
        x, y = vehicle.getPosition(name)
        angle, speed = math.radians(vehicle.getAngle(name)), vehicle.getSpeed(name)
        half = vehicle.getLength(name) / 2.0
        east, north = x - half * math.sin(angle) - centre[0], y - half * math.cos(angle) - centre[1]
        object_class = classes.get(vehicle.getTypeID(name), int(ObjectClass.VEHICLE))
        sample[name] = (east, north, speed * math.sin(angle), speed * math.cos(angle), object_class)
    for name in person.getIDList():
        x, y = person.getPosition(name)
        angle, speed = math.radians(person.getAngle(name)), person.getSpeed(name)
        velocity = (speed * math.sin(angle), speed * math.cos(angle))
        sample[name] = (x - centre[0], y - centre[1], *velocity, int(ObjectClass.PEDESTRIAN))
    return sample


def _dense_truth(t0_ms: int, samples: list[_Sample]) -> Truth:
    names = sorted({name for sample in samples for name in sample})
    index = {name: k for k, name in enumerate(names)}
    positions = np.full((len(samples), len(names), 2), np.nan)
    velocities = np.full((len(samples), len(names), 2), np.nan)
    classes = np.zeros(len(names), dtype=np.int16)
    for i, sample in enumerate(samples):
        for name, (east, north, v_east, v_north, object_class) in sample.items():
            k = index[name]
            positions[i, k] = (east, north)
            velocities[i, k] = (v_east, v_north)
            classes[k] = object_class
    return Truth(t0_ms, positions, velocities, classes, names)


# ---- ground truth: built-in fallback ----------------------------------------------------------------


def simulate_builtin(config: SceneConfig) -> tuple[Truth, str]:
    """Kinematic fallback on the same grid: vehicles at 8-14 m/s in the right lane of each road, pedestrians
    at 1.0-1.6 m/s on the sidewalks, random turns at junctions, no signals and no interaction."""
    rng = np.random.default_rng(config.seed)
    roads = (-config.block_m, 0.0, config.block_m)
    edge = config.block_m + 100.0
    dt = STEP_MS / 1000.0
    steps = round((config.warmup_s + config.duration_s) / dt)
    observed_from = round(config.warmup_s / dt)
    movers: list[list[float]] = []  # [east, north, dir_e, dir_n, speed, lateral offset, class, key]
    samples: list[_Sample] = []
    next_key = 0
    for step in range(steps + 1):
        for rate, vru in ((config.vehicles_per_s, False), (config.pedestrians_per_s, True)):
            for _ in range(int(rng.poisson(rate * dt))):
                movers.append(_spawn(rng, roads, edge, vru, next_key))
                next_key += 1
        for mover in movers:
            _advance(mover, rng, roads, dt)
        movers = [m for m in movers if max(abs(m[0]), abs(m[1])) <= edge]
        if step >= observed_from:
            samples.append({f"o{int(m[7])}": (m[0], m[1], m[2] * m[4], m[3] * m[4], int(m[6])) for m in movers})
    return _dense_truth(config.t0_ms, samples), "built-in kinematic generator (straight lines, random turns)"


def _spawn(rng: np.random.Generator, roads: tuple[float, ...], edge: float, vru: bool, key: int) -> list[float]:
    """A new object at the border, on a random road and direction (right-hand traffic, sidewalks at 8 m)."""
    road = float(rng.choice(roads))
    d_east, d_north = [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)][int(rng.integers(4))]
    lateral = float(rng.choice([-8.0, 8.0])) if vru else 1.6 + 3.2 * float(rng.integers(2))
    if d_east:
        east, north = -edge * d_east, road - lateral * d_east
    else:
        east, north = road + lateral * d_north, -edge * d_north
    speed = float(rng.uniform(1.0, 1.6) if vru else rng.uniform(8.0, 14.0))
    object_class = ObjectClass.PEDESTRIAN if vru else ObjectClass.PASSENGER_CAR
    return [east, north, d_east, d_north, speed, lateral, float(object_class), float(key)]


def _advance(m: list[float], rng: np.random.Generator, roads: tuple[float, ...], dt: float) -> None:
    """Move one object; where it crosses a junction's centre line, turn left or right with probability 0.4."""
    along = 0 if m[2] else 1
    before = m[along]
    m[0] += m[2] * m[4] * dt
    m[1] += m[3] * m[4] * dt
    for road in roads:
        if (before - road) * (m[along] - road) < 0 and rng.random() < 0.4:
            sign = float(rng.choice([-1.0, 1.0]))
            m[2], m[3] = -sign * m[3], sign * m[2]
            if along == 0:
                m[0] = road + m[5] * m[3]
            else:
                m[1] = road - m[5] * m[2]
            break


# ---- observation: RSU object lists ------------------------------------------------------------------


@dataclass(slots=True)
class _RsuState:
    """Per object of the truth: the RSU's local id (-1 = not tracked), misses and AR(1) error drivers."""

    local_id: IntArray
    misses: IntArray
    drivers: FloatArray
    next_id: int = 1
    ghosts: FloatArray = field(default_factory=lambda: np.zeros((0, 6)))  # east, north, v_e, v_n, id, existence
    existence: FloatArray = field(default_factory=lambda: np.zeros(0))  # per object of the truth
    hit_rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))


EXISTENCE_PRIOR = 0.5
"""Existence probability an RSU tracker gives a track started from one detection (there is no prediction to
compare the first detection with); the updates start with the next frame."""


GATE_CHI2 = 9.21
"""An RSU tracker's gate: normalized innovation squared below the 99 % quantile of chi-square with 2 dof."""


def existence_update(
    prior: FloatArray, hit: BoolArray, innovation2: FloatArray, detection_probability: FloatArray, sensor: Sensor
) -> FloatArray:
    """An RSU tracker's existence probability after one frame, as an IPDA tracker (Musicki et al. 1994) keeps it.

    The track survives the frame with ``track_survival_probability``. A detection in its gate (``hit``, at
    normalized innovation squared ``innovation2``) has likelihood ``P_d N(z; z_pred, S)`` if the object is
    real and ``clutter_gate_probability / V_gate`` (clutter uniform over the gate) if not: likelihood ratio
    ``P_d / p_g * (G / 2) * exp(-d^2 / 2)`` with ``G`` = :data:`GATE_CHI2`. A miss has ratio
    ``(1 - P_d) / (1 - p_g)``. The same rule runs for every track of the RSU, real or ghost; only their
    detection sequences differ. Shapes ``(n,)``.
    """
    predicted = sensor.track_survival_probability * prior
    pg = sensor.clutter_gate_probability
    closeness = 0.5 * GATE_CHI2 * np.exp(-0.5 * np.minimum(innovation2, GATE_CHI2))
    ratio = np.where(hit, detection_probability / pg * closeness, (1.0 - detection_probability) / (1.0 - pg))
    odds = predicted / (1.0 - predicted) * ratio
    return np.asarray(odds / (1.0 + odds))


def real_innovations(rng: np.random.Generator, count: int) -> FloatArray:
    """``(count,)`` normalized innovations squared of a real object's detections: chi-square, 2 dof (mean 2)."""
    return np.asarray(rng.exponential(2.0, count))


def clutter_innovations(rng: np.random.Generator, count: int) -> FloatArray:
    """``(count,)`` the same for clutter in the gate: uniform over the gate ellipse, so uniform in ``[0, G]``."""
    return np.asarray(rng.uniform(0.0, GATE_CHI2, count))


def _tracker_detection_probability(sensor: Sensor, reported_classes: NDArray[np.int16]) -> FloatArray:
    """``(n,)`` the RSU tracker's own detection probability for each track, by the class it reports."""
    vru = np.isin(reported_classes, (*_VRU_CLASSES, int(ObjectClass.UNKNOWN)))
    return np.where(vru, sensor.vru_detection_probability, sensor.detection_probability)


def _line_of_sight_covariance(sensor: Sensor, offset_m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per position ``(n, 2)`` relative to the sensor: the rotation to (radial, tangential) and the stds ``(n, 2)``."""
    r = np.hypot(offset_m[:, 0], offset_m[:, 1])
    radial = offset_m / np.maximum(r, 1e-6)[:, None]
    rotation = np.stack([radial, np.stack([radial[:, 1], -radial[:, 0]], axis=1)], axis=2)  # columns
    (radial_a, radial_b), (tangential_a, tangential_b) = sensor.radial_std_m, sensor.tangential_std_m
    stds = np.stack([radial_a + radial_b * r, tangential_a + tangential_b * r], axis=1)
    return rotation, stds


def _rsu_frame(
    sensor: Sensor, state: _RsuState, truth: Truth, time_ms: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, IntArray, NDArray[np.int16], FloatArray]:
    """One frame's estimates: positions, velocities, position and velocity covariances, local ids, classes,
    and the RSU tracker's existence probability of each (:func:`existence_update` over its own history)."""
    ids, pos, vel = truth.at(time_ms)
    inside = np.zeros(len(truth.names), dtype=bool)
    inside[ids] = sensor.covers(pos)
    classes = truth.classes
    pd = np.where(np.isin(classes, _VRU_CLASSES), sensor.vru_detection_probability, sensor.detection_probability)
    reported = inside & (rng.random(len(classes)) < pd)
    rho = sensor.correlation
    state.drivers = rho * state.drivers + math.sqrt(1.0 - rho * rho) * rng.normal(size=state.drivers.shape)
    state.misses = np.where(reported, 0, state.misses + 1)
    dropped = ~inside | (state.misses > sensor.coast_frames)
    state.local_id[dropped] = -1
    new = reported & (state.local_id < 0)
    state.local_id[new] = np.arange(state.next_id, state.next_id + int(new.sum()))
    state.next_id += int(new.sum())
    state.drivers[new] = rng.normal(size=(int(new.sum()), 4))
    tracked = (state.local_id >= 0) & ~new
    state.existence[new] = EXISTENCE_PRIOR
    state.existence[tracked] = existence_update(
        state.existence[tracked],
        reported[tracked],
        real_innovations(state.hit_rng, int(tracked.sum())),
        _tracker_detection_probability(sensor, _reported_class(sensor, classes[tracked])),
        sensor,
    )
    rows = np.flatnonzero(reported)
    at = {int(k): j for j, k in enumerate(ids.tolist())}
    where = np.array([at[int(k)] for k in rows], dtype=np.int64)
    rotation, stds = _line_of_sight_covariance(sensor, pos[where] - np.asarray(sensor.position_m))
    error = np.einsum("nij,nj->ni", rotation, stds * state.drivers[rows, :2])
    position_cov = np.einsum("nij,nj,nkj->nik", rotation, stds**2, rotation)
    est_pos = pos[where] + np.asarray(sensor.bias_m) + error
    est_vel = vel[where] + sensor.velocity_std_mps * state.drivers[rows, 2:]
    velocity_cov = np.broadcast_to(np.eye(2) * sensor.velocity_std_mps**2, (len(rows), 2, 2))
    ghost_pos, ghost_vel, ghost_ids, ghost_existence = _ghosts(sensor, state, rng)
    n_ghosts = len(ghost_ids)
    ghost_cov = np.broadcast_to(np.eye(2) * max(stds.max(initial=0.5), 0.5) ** 2, (n_ghosts, 2, 2))
    return (
        np.concatenate([est_pos, ghost_pos]),
        np.concatenate([est_vel, ghost_vel]),
        np.concatenate([position_cov, ghost_cov]),
        np.concatenate([velocity_cov, np.broadcast_to(np.eye(2), (n_ghosts, 2, 2))]),
        np.concatenate([state.local_id[rows], ghost_ids]).astype(np.int64),
        np.concatenate([_reported_class(sensor, classes[rows]), np.full(n_ghosts, int(ObjectClass.UNKNOWN))]).astype(
            np.int16
        ),
        np.concatenate([state.existence[rows], ghost_existence]),
    )


def _reported_class(sensor: Sensor, classes: NDArray[np.int16]) -> NDArray[np.int16]:
    """A radar tells vehicles from the rest but not their kind; lidar and camera report the class."""
    if sensor.modality != "radar":
        return classes
    vru = np.isin(classes, _VRU_CLASSES)
    return np.where(vru, int(ObjectClass.UNKNOWN), int(ObjectClass.VEHICLE)).astype(np.int16)


def _ghosts(
    sensor: Sensor, state: _RsuState, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray]:
    """Clutter: ghost tracks born uniformly in the field of view, near static, with geometric lifetimes.

    A ghost is the RSU tracker's track of a clutter detection; it is reported every frame while it lives,
    but its gate holds a (recurring) clutter detection only with ``clutter_gate_probability`` per frame
    (drawn from ``state.hit_rng``, so the rest of the scene is the same as without existence probabilities),
    and its existence probability follows :func:`existence_update` like any other track's.
    """
    ghosts = state.ghosts[rng.random(len(state.ghosts)) >= 1.0 / sensor.clutter_life_frames]
    hits = state.hit_rng.random(len(ghosts)) < sensor.clutter_gate_probability
    unknown = np.full(len(ghosts), int(ObjectClass.UNKNOWN), np.int16)
    innovations = clutter_innovations(state.hit_rng, len(ghosts))
    ghosts[:, 5] = existence_update(
        ghosts[:, 5], hits, innovations, _tracker_detection_probability(sensor, unknown), sensor
    )
    born = int(rng.poisson(sensor.clutter_per_frame))
    if born:
        r = sensor.range_m * np.sqrt(rng.random(born))
        half = min(sensor.half_fov_deg, 180.0)
        bearing = np.radians(sensor.boresight_deg + rng.uniform(-half, half, born))
        east = sensor.position_m[0] + r * np.sin(bearing)
        north = sensor.position_m[1] + r * np.cos(bearing)
        ids = np.arange(state.next_id, state.next_id + born, dtype=np.float64)
        state.next_id += born
        fresh = np.stack([east, north, *rng.normal(0.0, 0.5, (2, born)), ids, np.zeros(born)], axis=1)
        fresh[:, 5] = EXISTENCE_PRIOR
        ghosts = np.concatenate([ghosts, fresh])
    ghosts[:, :2] += ghosts[:, 2:4] * (STEP_MS / 1000.0)
    state.ghosts = ghosts
    return ghosts[:, :2].copy(), ghosts[:, 2:4].copy(), ghosts[:, 4].astype(np.int64), ghosts[:, 5].copy()


def _observe_rsu(
    sensor: Sensor, truth: Truth, config: SceneConfig, start_ms: int, end_ms: int, rng: np.random.Generator
) -> tuple[list[Arrival], int]:
    """Every frame of one RSU as an Arrival (domain frame -> roadlink.fusion.convert), and the object count."""
    k = len(truth.names)
    state = _RsuState(np.full(k, -1, np.int64), np.zeros(k, np.int64), rng.normal(size=(k, 4)))
    state.existence = np.full(k, EXISTENCE_PRIOR)
    state.hit_rng = np.random.default_rng([config.seed, 2000, zlib.crc32(sensor.name.encode())])
    offset_estimate_ms = sensor.clock_skew_ms + round(float(rng.normal(0.0, sensor.offset_error_ms)))
    arrivals, objects = [], 0
    for sequence, t in enumerate(range(start_ms + sensor.phase_ms, end_ms, STEP_MS)):
        estimates = _rsu_frame(sensor, state, truth, t, rng)
        receive = t + round(sensor.latency_ms + float(rng.exponential(sensor.latency_jitter_ms)))
        frame = _perception_frame(
            sensor, config.origin, t + sensor.clock_skew_ms, sequence, receive, offset_estimate_ms,
            estimates,
        )  # fmt: skip
        detections = detections_from_frames([frame], config.origin, SourceKind.RSU_OBJECT_LIST)
        if not len(detections):
            continue
        objects += len(detections)
        arrivals.append(
            Arrival(sensor.name, SourceKind.RSU_OBJECT_LIST, np.full(len(detections), receive, np.int64), detections)
        )
    return arrivals, objects


def _perception_frame(
    sensor: Sensor,
    origin: LocalOrigin,
    rsu_time_ms: int,
    sequence: int,
    receive_ms: int,
    offset_estimate_ms: int,
    estimates: tuple[FloatArray, FloatArray, FloatArray, FloatArray, IntArray, NDArray[np.int16], FloatArray],
) -> PerceptionFrame:
    positions, velocities, position_cov, velocity_cov, local_ids, classes, existence = estimates
    lat, lon, height = origin.to_geodetic(positions[:, 0], positions[:, 1], np.zeros(len(positions)))
    heading, speed = enu_velocity_to_heading_speed(velocities[:, 0], velocities[:, 1])
    objects = tuple(
        DetectedObject(
            object_id=int(local_ids[j]),
            object_class=ObjectClass(int(classes[j])),
            position=Position(float(lat[j]), float(lon[j]), float(height[j])),
            class_confidence=sensor.class_confidence,
            speed_mps=float(speed[j]),
            heading_deg=float(heading[j]),
            position_covariance=_cov2d(position_cov[j]),
            velocity_covariance=_cov2d(velocity_cov[j]),
            existence_probability=float(existence[j]),
        )
        for j in range(len(positions))
    )
    provenance = Provenance(
        source_id=sensor.name,
        source_time_unix_ms=rsu_time_ms,
        gateway_receive_time_unix_ms=receive_ms,
        clock_offset_ms=offset_estimate_ms,
    )
    return PerceptionFrame(sensor.name, sequence, rsu_time_ms, objects, provenance)


def _cov2d(cov: FloatArray) -> Covariance2D:
    return Covariance2D(float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1]))


# ---- observation: connected vehicles ----------------------------------------------------------------


def _observe_vehicles(
    truth: Truth, config: SceneConfig, start_ms: int, end_ms: int, rng: np.random.Generator
) -> tuple[list[Arrival], dict[int, bytes], int]:
    """Self-reports of the connected cars, one Arrival per 100 ms of report times; their temporary ids."""
    spec = config.connected
    cars = np.flatnonzero(truth.classes == int(ObjectClass.PASSENGER_CAR))
    connected = cars[rng.random(len(cars)) < spec.penetration]
    ids = {int(k): rng.bytes(4) for k in connected}
    phase = np.zeros(len(truth.names), dtype=np.int64)
    phase[connected] = rng.integers(0, spec.period_ms // 10, len(connected)) * 10
    bias = rng.normal(0.0, spec.gnss_bias_std_m, (len(truth.names), 2))
    decay = math.exp(-spec.period_ms / 1000.0 / spec.gnss_bias_tau_s)
    arrivals, objects = [], 0
    for t in range(start_ms, end_ms, spec.period_ms):
        bias = decay * bias + math.sqrt(1.0 - decay * decay) * rng.normal(0.0, spec.gnss_bias_std_m, bias.shape)
        states, receive = [], []
        for offset in np.unique(phase[connected]).tolist():
            reporting = connected[phase[connected] == offset]
            present, pos, vel = truth.at(t + offset)
            keep = np.isin(present, reporting)
            for k, p, v in zip(present[keep].tolist(), pos[keep], vel[keep], strict=True):
                received = t + offset + round(spec.latency_ms + float(rng.exponential(spec.latency_jitter_ms)))
                states.append(_vehicle_state(config, ids[k], t + offset, received, p + bias[k], v, rng))
                receive.append(received)
        if states:
            detections = detections_from_vehicle_states(states, config.origin)
            objects += len(detections)
            arrivals.append(Arrival("vehicles", SourceKind.VEHICLE_SELF_REPORT, np.array(receive), detections))
    return arrivals, ids, objects


def _vehicle_state(
    config: SceneConfig,
    temporary_id: bytes,
    time_ms: int,
    receive_ms: int,
    position_m: FloatArray,
    velocity_mps: FloatArray,
    rng: np.random.Generator,
) -> VehicleState:
    spec = config.connected
    east, north = position_m + rng.normal(0.0, spec.gnss_white_std_m, 2)
    lat, lon, height = config.origin.to_geodetic(float(east), float(north), 0.0)
    heading, speed = enu_velocity_to_heading_speed(float(velocity_mps[0]), float(velocity_mps[1]))
    return VehicleState(
        temporary_id=temporary_id,
        time_unix_ms=time_ms,
        position=Position(float(lat), float(lon), float(height)),
        accuracy=PositionAccuracy(spec.reported_std_m, spec.reported_std_m, 0.0),
        speed_mps=max(0.0, float(speed) + float(rng.normal(0.0, spec.speed_std_mps))),
        heading_deg=(float(heading) + float(rng.normal(0.0, spec.heading_std_deg))) % 360.0,
        vehicle_class=ObjectClass.PASSENGER_CAR,
        provenance=Provenance(
            source_id=temporary_id.hex(),
            source_time_unix_ms=time_ms,
            gateway_receive_time_unix_ms=receive_ms,
            clock_offset_ms=0,
        ),
    )


# ---- the scenario -----------------------------------------------------------------------------------


def build_scenario(config: SceneConfig | None = None, log: Callable[[str], None] | None = None) -> Scenario:
    """Simulate the ground truth (SUMO, else the built-in generator) and observe it with every source."""
    config = config or SceneConfig()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    truth, note, source = None, "SUMO not used (--builtin)", "builtin"
    if config.use_sumo and sumo_version() is None:
        note = "SUMO not installed (pip install eclipse-sumo libsumo)"
    elif config.use_sumo:
        try:
            truth, note = simulate_sumo(config)
            source = "sumo"
        except Exception as exc:  # whatever SUMO raises (TraCIException, a failed netgenerate): fall back
            note = f"SUMO failed: {exc!r}"
    if truth is None:
        truth, builtin_note = simulate_builtin(config)
        note = f"{builtin_note}; {note}"
    timings["simulate"] = time.perf_counter() - started
    if log is not None:
        log(f"ground truth: {note}; {len(truth.names)} objects in {timings['simulate']:.1f} s")
    rng = np.random.default_rng(config.seed + 1000)
    start_ms, end_ms = truth.t0_ms, truth.end_ms
    started = time.perf_counter()
    arrivals: list[Arrival] = []
    objects = 0
    for sensor in config.sensors:
        sensor_arrivals, count = _observe_rsu(sensor, truth, config, start_ms, end_ms, rng)
        arrivals += sensor_arrivals
        objects += count
    vehicle_arrivals, connected_ids, count = _observe_vehicles(truth, config, start_ms, end_ms, rng)
    arrivals += vehicle_arrivals
    objects += count
    timings["observe+convert"] = time.perf_counter() - started
    arrivals.sort(key=lambda a: int(a.receive_ms.min()))
    return Scenario(config, source, note, truth, arrivals, connected_ids, start_ms, end_ms, timings, objects)
