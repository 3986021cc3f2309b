"""The advisories package: public surface, transport-free, detect_all, and never raising on odd tracks."""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import roadlink.advisories
from roadlink.advisories import AdvisoryConfig, StalledVehicleDetector, WrongWayConfig, detect_all
from roadlink.domain.classes import ObjectClass
from roadlink.domain.signal import MovementPhase
from roadlink.domain.situation import AdvisoryType, Severity, Track
from roadlink.domain.spatial import Circle, Dimensions, Position
from tests.advisories.scenes import (
    EAST,
    NORTH,
    ORIGIN,
    SOUTH,
    T0_MS,
    northbound_lane,
    pedestrian,
    position,
    road,
    spat,
    track,
)

FORBIDDEN = (
    "grpc",
    "aiomqtt",
    "amqtt",
    "paho",
    "google.protobuf",
    "v2x",
    "gateway",
    "roadside",
    "cloud",
    "roadlink.wire",
)


def test_all_lists_every_public_name_once() -> None:
    exported = list(roadlink.advisories.__all__)
    public = {
        name
        for name, value in vars(roadlink.advisories).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and getattr(value, "__module__", "").startswith("roadlink.advisories")
    }

    assert len(exported) == len(set(exported))
    assert set(exported) == public


def test_every_module_declares_an_accurate_all() -> None:
    for info in pkgutil.iter_modules(roadlink.advisories.__path__):
        module = importlib.import_module(f"roadlink.advisories.{info.name}")
        assert [name for name in module.__all__ if not hasattr(module, name)] == [], info.name


def test_no_transport_imports_in_source() -> None:
    for path in Path(roadlink.advisories.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)], path.name


def test_importing_advisories_loads_no_transport() -> None:
    code = (
        "import sys, roadlink.advisories\n"
        f"print([m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r})])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def _every_hazard() -> list[Track]:
    return [
        # forward collision on the eastbound road at y = 500
        track(1, 0.0, 500.0, heading_deg=EAST, speed_mps=15.0),
        track(2, 25.0, 500.0, heading_deg=EAST, speed_mps=0.0),
        # crossing paths at (1000, 1000)
        track(3, 955.0, 1000.0, heading_deg=EAST, speed_mps=15.0),
        track(4, 1000.0, 960.0, heading_deg=NORTH, speed_mps=15.0),
        # pedestrian ahead of a car at x = -500
        track(5, -500.0, 0.0, heading_deg=NORTH, speed_mps=10.0),
        pedestrian(6, -500.0, 25.0),
        # on the northbound lane: wrong way, over speed, red-light runner
        track(7, 0.0, -150.0, heading_deg=SOUTH, speed_mps=5.0),
        track(8, 0.0, -100.0, heading_deg=NORTH, speed_mps=25.0),
        track(9, 0.0, -30.0, heading_deg=NORTH, speed_mps=13.0),
    ]


def test_detect_all_composes_every_detector_sorted_by_type() -> None:
    advisories = detect_all(_every_hazard(), T0_MS, road_map=road(), signals=[spat(MovementPhase.STOP_AND_REMAIN)])

    assert [(a.type, a.track_ids) for a in advisories] == [
        (AdvisoryType.FORWARD_COLLISION, (1, 2)),
        (AdvisoryType.INTERSECTION_CONFLICT, (3, 4)),
        (AdvisoryType.VULNERABLE_ROAD_USER, (5, 6)),
        (AdvisoryType.WRONG_WAY, (7,)),
        (AdvisoryType.OVER_SPEED, (8,)),
        (AdvisoryType.RED_LIGHT_VIOLATION, (8,)),
        (AdvisoryType.RED_LIGHT_VIOLATION, (9,)),
    ]


def test_detect_all_without_a_map_runs_the_map_free_detectors_only() -> None:
    advisories = detect_all(_every_hazard(), T0_MS, origin=ORIGIN)

    assert {a.type for a in advisories} == {
        AdvisoryType.FORWARD_COLLISION,
        AdvisoryType.INTERSECTION_CONFLICT,
        AdvisoryType.VULNERABLE_ROAD_USER,
    }


def test_detect_all_uses_the_callers_stalled_detector_and_config() -> None:
    stalled = StalledVehicleDetector()
    parked = [track(1, 0.0, -100.0, time_unix_ms=T0_MS), track(2, 0.0, -150.0, heading_deg=SOUTH, speed_mps=5.0)]
    config = AdvisoryConfig(wrong_way=WrongWayConfig(min_speed_mps=6.0))
    detect_all(parked, T0_MS, road_map=road(), stalled=stalled, config=config)

    later = [t for t in parked if t.track_id == 1]
    advisories = detect_all(later, T0_MS + 20_000, road_map=road(), stalled=stalled, config=config)

    assert [a.advisory_id for a in advisories] == ["stalled_vehicle:1"]


_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_NEAR = st.builds(position, st.floats(-12.0, 12.0), st.floats(-220.0, 40.0))  # around the test lanes
_ANYWHERE = st.builds(Position, _FINITE, _FINITE, st.none() | _FINITE)
_TRACKS = st.lists(
    st.builds(
        Track,
        track_id=st.integers(0, 2**64 - 1),
        object_class=st.sampled_from(ObjectClass),
        position=st.one_of(_NEAR, _NEAR, _ANYWHERE),
        time_unix_ms=st.one_of(st.integers(T0_MS - 5_000, T0_MS + 5_000), st.integers(-(2**62), 2**62)),
        first_seen_unix_ms=st.integers(-(2**62), 2**62),
        speed_mps=st.none() | st.floats(0.0, 60.0) | _FINITE,
        heading_deg=st.none() | st.floats(0.0, 360.0) | _FINITE,
        size=st.none() | st.builds(Dimensions, _FINITE, _FINITE),
    ),
    max_size=30,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=_TRACKS, second=_TRACKS, step_ms=st.integers(-100_000, 100_000))
def test_detectors_never_raise_on_random_finite_tracks(first: list[Track], second: list[Track], step_ms: int) -> None:
    road_map = road(northbound_lane(1), northbound_lane(2, east_m=3.5, signal_groups=(2, 3)))
    signals = [spat(MovementPhase.STOP_AND_REMAIN)]
    stalled = StalledVehicleDetector()
    ids = {t.track_id for t in first + second}

    for tracks, time_ms in ((first, T0_MS), (second, T0_MS + step_ms), (first + second, T0_MS + 2 * step_ms)):
        for advisory in detect_all(tracks, time_ms, road_map=road_map, signals=signals, stalled=stalled):
            assert advisory.type is not AdvisoryType.UNSPECIFIED
            assert advisory.severity in (Severity.WARNING, Severity.CRITICAL)
            assert set(advisory.track_ids) <= ids
            assert advisory.time_to_event_s is None or 0.0 <= advisory.time_to_event_s < math.inf
            assert isinstance(advisory.zone, Circle)
            assert math.isfinite(advisory.zone.radius_m)
            assert math.isfinite(advisory.zone.center.latitude_deg)


def _all_pairs(
    a_points_m: np.ndarray, b_points_m: np.ndarray, reach_m: float, *, distinct: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.divmod(np.arange(len(a_points_m) * len(b_points_m), dtype=np.int64), len(b_points_m))
    keep = i < j if distinct else np.ones(len(i), dtype=bool)
    return i[keep], j[keep]


def test_spatial_prefilter_finds_what_all_pairs_find(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    n = 400
    classes = rng.choice([ObjectClass.PASSENGER_CAR, ObjectClass.TRUCK, ObjectClass.PEDESTRIAN, ObjectClass.BICYCLE], n)
    speeds = np.where(np.isin(classes, [ObjectClass.PEDESTRIAN]), rng.uniform(0, 3, n), rng.uniform(0, 25, n))
    tracks = [
        track(k, float(e), float(no), heading_deg=float(h), speed_mps=float(v), object_class=ObjectClass(int(c)))
        for k, (e, no, h, v, c) in enumerate(
            zip(
                rng.uniform(-300, 300, n),
                rng.uniform(-300, 300, n),
                rng.uniform(0, 360, n),
                speeds,
                classes,
                strict=True,
            )
        )
    ]
    gridded = detect_all(tracks, T0_MS, origin=ORIGIN)
    for module in ("forward_collision", "intersection_conflict", "vru_in_path"):
        monkeypatch.setattr(f"roadlink.advisories.{module}.pairs_within", _all_pairs)
    brute = detect_all(tracks, T0_MS, origin=ORIGIN)

    assert len(gridded) > 20
    assert gridded == brute
