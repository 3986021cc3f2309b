"""Advisories per zone: overlap geometry, validity, and an RSU's zone from its heartbeat."""

from __future__ import annotations

import numpy as np
from v2x.common.v1 import common_pb2
from v2x.roadside.v1 import info_pb2

from cloud.rsu_registry import RsuRegistry
from cloud.zone_advisories import advisories_for_zone, contains_many, still_valid, zone_overlaps
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.situation import Advisory, AdvisoryType, Severity, Track
from roadlink.domain.spatial import Area, BoundingBox, Circle, Position
from roadlink.domain.vehicle import VehicleState

ORIGIN = LocalOrigin(48.137, 11.575)
T0_MS = 1_700_000_000_000


def _at(east_m: float, north_m: float) -> Position:
    lat, lon, _ = ORIGIN.to_geodetic(east_m, north_m, 0.0)
    return Position(float(lat), float(lon))


def _box(west_m: float, south_m: float, east_m: float, north_m: float) -> BoundingBox:
    low, high = _at(west_m, south_m), _at(east_m, north_m)
    return BoundingBox(low.latitude_deg, low.longitude_deg, high.latitude_deg, high.longitude_deg)


def test_circles_overlap_when_their_centres_are_closer_than_the_radii() -> None:
    assert zone_overlaps(Circle(_at(0, 0), 60.0), Circle(_at(100, 0), 50.0))
    assert not zone_overlaps(Circle(_at(0, 0), 40.0), Circle(_at(100, 0), 50.0))


def test_a_circle_meets_a_box_at_the_box_point_nearest_its_centre() -> None:
    box = _box(0, 0, 100, 100)
    assert zone_overlaps(Circle(_at(-20, 50), 25.0), box)
    assert zone_overlaps(box, Circle(_at(50, 50), 1.0))
    assert not zone_overlaps(box, Circle(_at(-20, -20), 25.0))  # the corner is 28 m away
    assert zone_overlaps(box, Circle(_at(-20, -20), 29.0))


def test_boxes_overlap_when_both_intervals_do() -> None:
    assert zone_overlaps(_box(0, 0, 100, 100), _box(90, 90, 200, 200))
    assert not zone_overlaps(_box(0, 0, 100, 100), _box(110, 0, 200, 100))


def _advisory(advisory_id: str, valid_until_unix_ms: int | None) -> Advisory:
    return Advisory(
        advisory_id,
        AdvisoryType.WRONG_WAY,
        Severity.CRITICAL,
        T0_MS,
        track_ids=(1,),
        zone=Circle(_at(0, 0), 20.0),
        valid_until_unix_ms=valid_until_unix_ms,
    )


class _Board:
    """A picture that only holds advisories (every area gets all of them)."""

    def __init__(self, advisories: list[Advisory]) -> None:
        self._advisories = advisories

    @property
    def track_count(self) -> int:
        return 0

    def update_frame(self, frame: PerceptionFrame) -> None:
        """Not used."""

    def update_vehicle(self, state: VehicleState) -> None:
        """Not used."""

    def tracks_in(self, area: Area) -> list[Track]:
        return []

    def advisories_in(self, area: Area) -> list[Advisory]:
        return list(self._advisories)


def test_expired_advisories_are_not_for_any_zone() -> None:
    board = _Board([_advisory("old", T0_MS + 1_000), _advisory("current", T0_MS + 3_000), _advisory("open", None)])
    found = advisories_for_zone(board, Circle(_at(0, 0), 100.0), T0_MS + 2_000)
    assert [a.advisory_id for a in found] == ["current", "open"]
    assert not still_valid(_advisory("edge", T0_MS), T0_MS)


def test_an_rsu_zone_is_a_circle_around_its_heartbeat_position() -> None:
    registry = RsuRegistry()
    position = common_pb2.Position(latitude_deg=48.137, longitude_deg=11.575)
    registry.record(info_pb2.RsuStatus(rsu_id="rsu-1", position=position), T0_MS)
    registry.record(info_pb2.RsuStatus(rsu_id="rsu-2"), T0_MS)
    assert registry.zone_of("rsu-1", 300.0) == Circle(Position(48.137, 11.575), 300.0)
    assert registry.zone_of("rsu-2", 300.0) is None
    assert registry.zone_of("unknown", 300.0) is None


def test_contains_many_agrees_with_area_contains() -> None:
    rng = np.random.default_rng(5)
    east, north = rng.uniform(-400, 400, 500), rng.uniform(-400, 400, 500)
    lat, lon, _ = ORIGIN.to_geodetic(east, north, np.zeros(500))
    points = [Position(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    for area in (Circle(_at(30, -20), 250.0), _box(-100, -300, 200, 50)):
        expected = [area.contains(p) for p in points]
        assert contains_many(area, lat, lon).tolist() == expected
        assert 0 < sum(expected) < len(points)
