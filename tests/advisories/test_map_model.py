"""Map model: lanes in travel order, segment index, and intersections in one frame."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadlink.advisories import Lane, LaneUse, RoadMap
from roadlink.advisories.map_model import MAX_SEGMENT_M
from roadlink.domain.geodesy import LocalOrigin
from tests.advisories.scenes import ORIGIN, northbound_lane


def test_ingress_nodes_are_reversed_into_travel_order_with_the_stop_line_first_node() -> None:
    # MapData ingress nodes start at the stop line (0, -5) and go outwards (south).
    lane = Lane.from_map_nodes(7, 3, [(0.0, -5.0), (0.0, -100.0)], LaneUse.INGRESS, speed_limit_mps=13.9)

    assert lane.centre_line_m == ((0.0, -100.0), (0.0, -5.0))
    assert lane.stop_line_m == (0.0, -5.0)
    assert lane.speed_limit_mps == 13.9


def test_egress_nodes_keep_their_order_and_have_no_stop_line() -> None:
    lane = Lane.from_map_nodes(7, 4, [(0.0, 5.0), (0.0, 100.0)], LaneUse.EGRESS)

    assert lane.centre_line_m == ((0.0, 5.0), (0.0, 100.0))
    assert lane.stop_line_m is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"centre_line_m": ((0.0, 0.0),)},
        {"centre_line_m": ((0.0, 0.0), (math.nan, 1.0))},
        {"centre_line_m": ((0.0, 0.0), (0.0, 1.0)), "width_m": 0.0},
        {"centre_line_m": ((0.0, 0.0), (0.0, 1.0)), "speed_limit_mps": -1.0},
    ],
)
def test_invalid_lanes_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="lane 1"):
        Lane(7, 1, **kwargs)  # type: ignore[arg-type]  # deliberately invalid values, typed loosely on purpose


def test_segments_are_short_and_carry_along_distance_and_heading() -> None:
    lane = Lane(7, 1, ((0.0, 0.0), (0.0, 25.0), (30.0, 25.0)), stop_line_m=(30.0, 24.0))

    segments = RoadMap(ORIGIN, (lane,)).segments

    assert np.all(segments.length_m <= MAX_SEGMENT_M + 1e-9)
    assert segments.length_m.sum() == pytest.approx(55.0)
    np.testing.assert_allclose(segments.along_start_m, [0.0, 25 / 3, 50 / 3, 25.0, 35.0, 45.0])
    np.testing.assert_allclose(segments.heading_deg, [0.0, 0.0, 0.0, 90.0, 90.0, 90.0])
    assert segments.stop_line_along_m.tolist() == pytest.approx([55.0])


def test_from_intersections_shifts_each_reference_frame_into_the_map_frame() -> None:
    reference = LocalOrigin(*ORIGIN.to_geodetic(200.0, -50.0, 0.0)[:2])

    road_map = RoadMap.from_intersections(ORIGIN, [(ORIGIN, [northbound_lane(1)]), (reference, [northbound_lane(2)])])

    shifted = road_map.lanes[1]
    assert shifted.centre_line_m[0] == pytest.approx((200.0, -250.0), abs=1e-3)
    assert shifted.stop_line_m == pytest.approx((200.0, -50.0), abs=1e-3)
    assert road_map.lanes[0] == northbound_lane(1)
