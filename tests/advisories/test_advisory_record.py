"""Advisory records: stable ids, covering zones, rounding and validity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadlink.advisories import advisory_id
from roadlink.advisories.advisory_record import (
    DEFAULT_VALIDITY_S,
    MIN_ZONE_RADIUS_M,
    ZONE_MARGIN_M,
    Draft,
    covering_circle_m,
    issue_advisories,
    severity_below,
)
from roadlink.domain.situation import AdvisoryType, Severity
from tests.advisories.scenes import T0_MS, position, scene, track


def test_ids_name_the_type_and_the_tracks_in_role_order() -> None:
    assert advisory_id(AdvisoryType.FORWARD_COLLISION, [12, 34]) == "forward_collision:12-34"
    assert advisory_id(AdvisoryType.STALLED_VEHICLE, [2**64 - 1]) == f"stalled_vehicle:{2**64 - 1}"


def test_severity_thresholds_are_strict() -> None:
    assert severity_below(1.99, 2.0, 4.0) is Severity.CRITICAL
    assert severity_below(2.0, 2.0, 4.0) is Severity.WARNING
    assert severity_below(4.0, 2.0, 4.0) is None


def test_covering_circle_covers_every_point_with_margin() -> None:
    centre, radius = covering_circle_m(np.array([[0.0, 0.0], [100.0, 0.0], [50.0, 30.0]]))

    assert centre == pytest.approx([50.0, 10.0])
    assert radius == pytest.approx(math.hypot(50.0, 10.0) + ZONE_MARGIN_M)
    assert covering_circle_m(np.array([[3.0, 4.0]]))[1] == MIN_ZONE_RADIUS_M


def test_issue_advisories_converts_zones_and_rounds_times() -> None:
    s = scene(track(5, 0.0, 0.0), track(6, 100.0, 0.0))
    drafts = [
        Draft(Severity.WARNING, (0, 1), s.position_m, 1.23456, "a", extra_rows=()),
        Draft(Severity.CRITICAL, (1,), s.position_m[1:], -0.5, "b", extra_rows=(0,)),
        Draft(Severity.WARNING, (0,), s.position_m[:1], math.inf, "c"),
    ]

    first, second, third = issue_advisories(s, AdvisoryType.WRONG_WAY, drafts)

    assert (first.advisory_id, first.track_ids, first.time_to_event_s) == ("wrong_way:5-6", (5, 6), 1.23)
    assert (second.advisory_id, second.track_ids, second.time_to_event_s) == ("wrong_way:6", (6, 5), 0.0)
    assert third.time_to_event_s is None
    assert first.zone is not None
    assert first.zone.contains(position(0.0, 0.0))
    assert first.zone.contains(position(100.0, 0.0))
    assert first.valid_until_unix_ms == T0_MS + round(DEFAULT_VALIDITY_S * 1000)
    assert issue_advisories(s, AdvisoryType.WRONG_WAY, []) == []
