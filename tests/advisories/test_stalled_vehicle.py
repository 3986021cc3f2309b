"""Stalled vehicle: stopped in a travel lane for longer than the dwell time (stateful)."""

from __future__ import annotations

from roadlink.advisories import StalledVehicleConfig, StalledVehicleDetector
from roadlink.domain.signal import MovementPhase, SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, AdvisoryType, Severity, Track
from tests.advisories.scenes import T0_MS, northbound_lane, position, road, scene, spat, track

RED = MovementPhase.STOP_AND_REMAIN
GREEN = MovementPhase.PROTECTED_MOVEMENT_ALLOWED


def _stopped(track_id: int, north_m: float, time_unix_ms: int, speed_mps: float = 0.0) -> Track:
    return track(track_id, 0.0, north_m, speed_mps=speed_mps, time_unix_ms=time_unix_ms)


def _run(
    detector: StalledVehicleDetector,
    after_s: float,
    *north_m: float,
    signals: tuple[SignalPhaseAndTiming, ...] = (),
    lanes_speed_limit_mps: float = 13.9,
) -> list[Advisory]:
    time_ms = T0_MS + round(after_s * 1000)
    tracks = [_stopped(k + 1, n, time_ms) for k, n in enumerate(north_m)]
    road_map = road(northbound_lane(speed_limit_mps=lanes_speed_limit_mps))
    return detector.detect(scene(*tracks, time_unix_ms=time_ms), road_map, signals)


def test_advisory_after_the_dwell_time_not_before() -> None:
    detector = StalledVehicleDetector()

    assert _run(detector, 0.0, -100.0) == []
    assert _run(detector, 14.9, -100.0) == []
    (advisory,) = _run(detector, 15.0, -100.0)

    assert advisory.type is AdvisoryType.STALLED_VEHICLE
    assert advisory.advisory_id == "stalled_vehicle:1"
    assert advisory.track_ids == (1,)
    assert advisory.severity is Severity.WARNING
    assert advisory.time_to_event_s == 0.0
    assert advisory.zone is not None
    assert advisory.zone.contains(position(0.0, -190.0))
    assert "15 s" in advisory.description
    assert [a.advisory_id for a in _run(detector, 20.0, -100.0)] == ["stalled_vehicle:1"]


def test_moving_again_restarts_the_timer() -> None:
    detector = StalledVehicleDetector()
    _run(detector, 0.0, -100.0)
    detector.detect(scene(_stopped(1, -100.0, T0_MS + 5_000, speed_mps=3.0), time_unix_ms=T0_MS + 5_000), road())

    assert _run(detector, 16.0, -100.0) == []  # a candidate again since 16 s
    assert _run(detector, 30.9, -100.0) == []
    assert len(_run(detector, 31.0, -100.0)) == 1


def test_queue_at_a_red_stop_line_is_excused_and_only_the_head_counts_on_green() -> None:
    red, green = (spat(RED, end_unix_ms=T0_MS + 60_000),), (spat(GREEN, end_unix_ms=None),)
    detector = StalledVehicleDetector()
    for after_s in (0.0, 30.0):
        assert _run(detector, after_s, -3.0, -12.0, signals=red) == []

    assert _run(detector, 40.0, -3.0, -12.0, signals=green) == []
    assert [a.track_ids for a in _run(detector, 55.0, -3.0, -12.0, signals=green)] == [(1,)]


def test_unknown_signal_state_at_a_signalized_stop_line_is_excused_but_an_unsignalized_one_is_not() -> None:
    detector = StalledVehicleDetector()
    _run(detector, 0.0, -3.0)
    assert _run(detector, 30.0, -3.0) == []

    unsignalized = road(northbound_lane(signal_groups=()))
    fresh = StalledVehicleDetector()
    for after_s in (0.0, 30.0):
        time_ms = T0_MS + round(after_s * 1000)
        advisories = fresh.detect(scene(_stopped(1, -3.0, time_ms), time_unix_ms=time_ms), unsignalized)
    assert len(advisories) == 1


def test_red_does_not_excuse_a_vehicle_far_from_the_stop_line() -> None:
    detector = StalledVehicleDetector()
    red = (spat(RED, end_unix_ms=None),)
    _run(detector, 0.0, -100.0, signals=red)

    assert len(_run(detector, 15.0, -100.0, signals=red)) == 1


def test_vehicles_stuck_behind_a_stalled_one_are_not_flagged() -> None:
    detector = StalledVehicleDetector()
    _run(detector, 0.0, -100.0, -108.0, -116.0)

    assert [a.track_ids for a in _run(detector, 15.0, -100.0, -108.0, -116.0)] == [(1,)]


def test_critical_on_fast_lanes_and_dwell_configurable() -> None:
    detector = StalledVehicleDetector(StalledVehicleConfig(dwell_s=5.0))
    _run(detector, 0.0, -100.0, lanes_speed_limit_mps=25.0)

    assert [a.severity for a in _run(detector, 5.0, -100.0, lanes_speed_limit_mps=25.0)] == [Severity.CRITICAL]


def test_memory_holds_only_current_candidates_and_survives_time_going_back() -> None:
    detector = StalledVehicleDetector()
    _run(detector, 0.0, -100.0, -150.0)
    assert set(detector.candidates) == {1, 2}

    _run(detector, 1.0, -100.0)
    assert detector.candidates == {1: T0_MS}

    _run(detector, -10.0, -100.0)
    assert detector.candidates == {1: T0_MS - 10_000}

    detector.reset()
    assert detector.candidates == {}


def test_off_lane_vehicles_are_not_candidates() -> None:
    detector = StalledVehicleDetector()
    off_lane = track(1, 10.0, -100.0)

    assert detector.detect(scene(off_lane), road()) == []
    assert detector.candidates == {}
