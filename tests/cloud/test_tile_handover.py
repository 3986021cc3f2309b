"""Two tile gates sharing a border: one global id per object, never published by both.

Each gate stands for one node's tracker output: tracks with the node's own local ids, placed in the
grid's ENU frame. West owns tile column -1 and east owns column 0 (100 m tiles); handovers go through an
in-process router straight into the other gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from cloud.tile_handover import Handover, InProcessHandoverRouter, TileGate, TileGateConfig, make_tile_gate
from roadlink.domain.classes import ObjectClass
from roadlink.domain.errors import ConfigurationError
from roadlink.domain.geodesy import LocalOrigin
from roadlink.domain.situation import Track
from roadlink.domain.spatial import Position
from roadlink.fusion.state import encode_vehicle_ids
from roadlink.fusion.tiling import StaticTileOwnership, TileGrid

ANCHOR = LocalOrigin(48.137, 11.575)
GRID = TileGrid(ANCHOR, 100.0)
OWNERSHIP = StaticTileOwnership({"west": [(-1, 0), (-1, 1)], "east": [(0, 0), (0, 1)]})
T0_MS = 1_700_000_000_000
STEP_MS = 100


def _track(local_id: int, east_m: float, time_ms: int, heading_deg: float = 90.0, vehicle: bytes = b"") -> Track:
    lat, lon, _ = ANCHOR.to_geodetic(east_m, 50.0, 0.0)
    return Track(
        track_id=local_id,
        object_class=ObjectClass.PASSENGER_CAR,
        position=Position(float(lat), float(lon)),
        time_unix_ms=time_ms,
        first_seen_unix_ms=T0_MS,
        speed_mps=10.0,
        heading_deg=heading_deg,
        vehicle_temporary_id=vehicle,
    )


@dataclass
class Pair:
    """The two gates and what each published at every step."""

    west: TileGate = field(default_factory=lambda: TileGate("west", GRID, OWNERSHIP))
    east: TileGate = field(default_factory=lambda: TileGate("east", GRID, OWNERSHIP))
    router: InProcessHandoverRouter = field(default_factory=InProcessHandoverRouter)
    published: list[tuple[list[int], list[int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.router.register("west", self.west.receive)
        self.router.register("east", self.east.receive)

    def step(self, now_ms: int, west_tracks: list[Track], east_tracks: list[Track]) -> None:
        west_out, west_handovers = self.west.apply_tracks(west_tracks, now_ms)
        east_out, east_handovers = self.east.apply_tracks(east_tracks, now_ms)
        self.router.send([*west_handovers, *east_handovers])
        self.published.append(([t.track_id for t in west_out], [t.track_id for t in east_out]))

    def drive(self, positions_m: list[float], heading_deg: float = 90.0, seen_by: float = 10.0) -> None:
        """Each node's sensors see the car within ``seen_by`` metres of its side of the border (local ids 5 and 3)."""
        for k, east_m in enumerate(positions_m):
            now = T0_MS + k * STEP_MS
            west = [_track(5, east_m - 0.3, now, heading_deg)] if east_m < seen_by else []
            east = [_track(3, east_m + 0.3, now, heading_deg)] if east_m > -seen_by else []
            self.step(now, west, east)


def test_a_car_crossing_the_border_keeps_its_id_and_is_never_published_twice() -> None:
    pair = Pair()
    pair.drive([-80.0 + 1.0 * k for k in range(160)])  # 10 m/s east for 16 s
    assert all(not (west and east) for west, east in pair.published)
    ids = {i for west, east in pair.published for i in west + east}
    assert len(ids) == 1
    assert pair.published[0][0]
    assert pair.published[-1][1]
    assert (pair.west.stats.handed_over, pair.east.stats.adopted, pair.east.stats.claimed) == (1, 1, 0)


def test_a_car_turning_back_is_handed_back_under_the_same_id() -> None:
    pair = Pair()
    pair.drive([-40.0 + k for k in range(60)] + [20.0 - k for k in range(60)])
    assert all(not (west and east) for west, east in pair.published)
    ids = {i for west, east in pair.published for i in west + east}
    assert len(ids) == 1
    assert pair.published[-1][0] == list(ids)
    assert (pair.west.stats.handed_over, pair.east.stats.handed_over) == (1, 1)


def test_without_handovers_each_node_would_mint_its_own_id() -> None:
    pair = Pair()
    pair.router.register("east", lambda handovers: None)  # handovers lost
    pair.drive([-80.0 + 1.0 * k for k in range(160)])
    ids = {i for west, east in pair.published for i in west + east}
    assert len(ids) == 2  # the east node claimed the car after waiting claim_timeout_ms near the border
    assert all(not (west and east) for west, east in pair.published)


def test_a_track_far_from_any_border_gets_a_global_id_at_once() -> None:
    gate = TileGate("east", GRID, OWNERSHIP)
    published, handovers = gate.apply_tracks([_track(7, 50.0, T0_MS)], T0_MS)
    assert [t.track_id for t in published] == [(1 << 40) + 7]  # "east" is the first owner in sorted order
    assert handovers == []


def test_a_new_track_near_a_foreign_tile_waits_for_a_handover_then_claims() -> None:
    gate = TileGate("east", GRID, OWNERSHIP, TileGateConfig(border_margin_m=30.0, claim_timeout_ms=1_000))
    waiting, _ = gate.apply_tracks([_track(7, 10.0, T0_MS)], T0_MS)
    still, _ = gate.apply_tracks([_track(7, 11.0, T0_MS + 900)], T0_MS + 900)
    claimed, _ = gate.apply_tracks([_track(7, 12.0, T0_MS + 1_000)], T0_MS + 1_000)
    assert (waiting, still) == ([], [])
    assert [t.track_id for t in claimed] == [(1 << 40) + 7]


def test_a_handover_is_matched_by_vehicle_id_before_position() -> None:
    gate = TileGate("east", GRID, OWNERSHIP)
    handed = _track(99, 2.0, T0_MS, vehicle=b"\x01\x02\x03\x04")
    gate.receive([Handover("west", "east", handed)])
    near = _track(1, 2.0, T0_MS)
    same_car = _track(2, 14.0, T0_MS, vehicle=b"\x01\x02\x03\x04")
    published, _ = gate.apply_tracks([near, same_car], T0_MS)
    by_local = {t.vehicle_temporary_id: t.track_id for t in published}
    assert by_local[b"\x01\x02\x03\x04"] == 99


def test_an_unmatched_handover_expires() -> None:
    gate = TileGate("east", GRID, OWNERSHIP, TileGateConfig(handover_ttl_ms=500))
    gate.receive([Handover("west", "east", _track(99, 2.0, T0_MS))])
    gate.apply_tracks([], T0_MS + 400)
    gate.apply_tracks([], T0_MS + 600)
    published, _ = gate.apply_tracks([_track(1, 7.0, T0_MS + 700)], T0_MS + 700)
    assert gate.stats.expired_handovers == 1
    assert published == []  # near the border: waits for a handover of its own


def test_a_released_track_that_the_neighbour_lost_is_taken_back_under_its_id() -> None:
    gate = TileGate("west", GRID, OWNERSHIP, TileGateConfig(claim_timeout_ms=1_000))
    (first,), _ = gate.apply_tracks([_track(4, -50.0, T0_MS)], T0_MS)
    _, (handover,) = gate.apply_tracks([_track(4, 1.0, T0_MS + 100)], T0_MS + 100)
    back = [gate.apply_tracks([_track(4, -2.0, T0_MS + t)], T0_MS + t)[0] for t in (200, 1_100, 1_200)]
    assert handover.track.track_id == first.track_id
    assert back[0] == []
    assert back[1] == []
    assert [t.track_id for t in back[2]] == [first.track_id]
    assert gate.stats.reclaimed == 1


def test_the_gate_needs_an_anchor_and_an_owned_node() -> None:
    owners = {"west": [(-1, 0)]}
    assert make_tile_gate("west", {}, 100.0, None) is None
    with pytest.raises(ConfigurationError, match="anchor"):
        make_tile_gate("west", owners, 100.0, None)
    with pytest.raises(ConfigurationError, match="not in tile_owners"):
        make_tile_gate("east", owners, 100.0, Position(48.137, 11.575))


def test_a_handed_over_track_stays_context_for_hazards_near_the_border() -> None:
    gate = TileGate("west", GRID, OWNERSHIP)
    ids = np.array([4, 5, 6], dtype=np.int64)
    lat, lon, _ = ANCHOR.to_geodetic(np.array([-60.0, -40.0, 500.0]), np.full(3, 50.0), np.zeros(3))
    vehicles = encode_vehicle_ids([b""] * 3)
    gate.apply(ids, lat, lon, vehicles, T0_MS)
    lat, lon, _ = ANCHOR.to_geodetic(np.array([-40.0, 2.0, 500.0]), np.full(3, 50.0), np.zeros(3))
    decision = gate.apply(ids, lat, lon, vehicles, T0_MS + 100)
    assert decision.publish_rows.tolist() == [0]
    assert decision.handover_rows.tolist() == [1]
    assert decision.context_rows.tolist() == [1]  # row 2 is in nobody's tile and never had a global id
    assert decision.context_ids.tolist() == decision.handover_ids.tolist()
