"""Tests for cloud.latest_store: the latest objects per source (explicitly not fusion)."""

from __future__ import annotations

from cloud.latest_store import LatestObjectStore, track_id_for
from roadlink.domain.classes import ObjectClass
from roadlink.domain.perception import DetectedObject, PerceptionFrame, Provenance
from roadlink.domain.situation import Track
from roadlink.domain.spatial import BoundingBox, Circle, Position
from roadlink.domain.vehicle import VehicleState

T0 = 1_664_423_415_000
CENTER = Position(39.0737, 115.9326)
EVERYWHERE = BoundingBox(-90.0, -180.0, 90.0, 180.0)


def _object(object_id: int, latitude_deg: float = CENTER.latitude_deg) -> DetectedObject:
    return DetectedObject(
        object_id, ObjectClass.PASSENGER_CAR, Position(latitude_deg, CENTER.longitude_deg), speed_mps=10.0
    )


def _frame(source_id: str, time_unix_ms: int, *objects: DetectedObject, sensor: str = "radar0") -> PerceptionFrame:
    provenance = Provenance(source_id, time_unix_ms, sensor_ids=(sensor,))
    return PerceptionFrame(source_id, 0, time_unix_ms, objects, provenance)


def _tid(source_id: str, object_id: int, sensor: str = "radar0") -> int:
    """The id the store gives object `object_id` of `sensor` of `source_id`."""
    return track_id_for(source_id, object_id, (sensor,))


def _ids(tracks: list[Track]) -> set[int]:
    return {track.track_id for track in tracks}


def _by_id(store: LatestObjectStore) -> dict[int, Track]:
    return {track.track_id: track for track in store.tracks_in(EVERYWHERE)}


def test_newer_frame_replaces_the_sources_objects() -> None:
    store = LatestObjectStore()
    store.update_frame(_frame("rsu-a", T0, _object(1), _object(2)))

    store.update_frame(_frame("rsu-a", T0 + 100, _object(2), _object(3)))

    assert _ids(store.tracks_in(EVERYWHERE)) == {_tid("rsu-a", 2), _tid("rsu-a", 3)}
    assert store.source_count == 1
    assert store.track_count == 2


def test_older_frame_is_ignored() -> None:
    store = LatestObjectStore()
    store.update_frame(_frame("rsu-a", T0 + 100, _object(1)))

    store.update_frame(_frame("rsu-a", T0, _object(2)))

    [track] = store.tracks_in(EVERYWHERE)
    assert track.track_id == _tid("rsu-a", 1)
    assert track.time_unix_ms == T0 + 100


def test_track_fields_come_from_the_object_and_frame() -> None:
    store = LatestObjectStore()
    store.update_frame(_frame("rsu-a", T0, _object(1)))

    [track] = store.tracks_in(EVERYWHERE)

    assert track.object_class is ObjectClass.PASSENGER_CAR
    assert track.position == CENTER
    assert track.speed_mps == 10.0
    assert track.source_ids == ("rsu-a",)
    assert track.vehicle_temporary_id == b""


def test_same_object_seen_by_two_sources_appears_twice_not_fused() -> None:
    store = LatestObjectStore()
    store.update_frame(_frame("rsu-a", T0, _object(1)))
    store.update_frame(_frame("rsu-b", T0, _object(1)))

    tracks = store.tracks_in(EVERYWHERE)

    assert len(tracks) == 2
    assert {t.source_ids for t in tracks} == {("rsu-a",), ("rsu-b",)}
    assert [t.position for t in tracks] == [CENTER, CENTER]
    assert _ids(tracks) == {_tid("rsu-a", 1), _tid("rsu-b", 1)}
    assert store.source_count == 2


def test_source_expires_after_max_age_of_newer_data() -> None:
    store = LatestObjectStore(max_age_ms=1_000)
    store.update_frame(_frame("rsu-a", T0, _object(1)))

    store.update_frame(_frame("rsu-b", T0 + 1_000, _object(2)))
    assert store.source_count == 2  # exactly max_age_ms older: still held

    store.update_frame(_frame("rsu-b", T0 + 1_001, _object(2)))
    assert store.source_count == 1
    assert _ids(store.tracks_in(EVERYWHERE)) == {_tid("rsu-b", 2)}


def test_frame_already_older_than_max_age_is_not_kept() -> None:
    store = LatestObjectStore(max_age_ms=1_000)
    store.update_frame(_frame("rsu-a", T0 + 5_000, _object(1)))

    store.update_frame(_frame("rsu-b", T0, _object(2)))

    assert store.source_count == 1
    assert _ids(store.tracks_in(EVERYWHERE)) == {_tid("rsu-a", 1)}


def test_max_sources_evicts_the_stalest_source() -> None:
    store = LatestObjectStore(max_sources=2)
    store.update_frame(_frame("rsu-a", T0 + 10, _object(1)))
    store.update_frame(_frame("rsu-b", T0, _object(1)))

    store.update_frame(_frame("rsu-c", T0 + 20, _object(1)))

    assert store.source_count == 2
    assert {t.source_ids for t in store.tracks_in(EVERYWHERE)} == {("rsu-a",), ("rsu-c",)}


def test_track_id_for_is_deterministic_distinct_and_63_bit() -> None:
    ids = {track_id_for(source, object_id) for source in ("rsu-a", "rsu-b", "vehicle") for object_id in range(200)}

    assert _tid("rsu-a", 7) == _tid("rsu-a", 7)
    assert _tid("rsu-a", 7) != _tid("rsu-b", 7)
    assert len(ids) == 600
    assert all(0 <= track_id < 2**63 for track_id in ids)
    assert track_id_for("rsu-a", 2**64 - 1) < 2**63


def test_track_ids_are_stable_across_updates_and_stores() -> None:
    first, second = LatestObjectStore(), LatestObjectStore()
    first.update_frame(_frame("rsu-a", T0, _object(5)))
    first.update_frame(_frame("rsu-a", T0 + 100, _object(5, latitude_deg=39.08)))
    second.update_frame(_frame("rsu-a", T0 + 500, _object(5)))

    assert _ids(first.tracks_in(EVERYWHERE)) == _ids(second.tracks_in(EVERYWHERE)) == {_tid("rsu-a", 5)}


def test_first_seen_is_kept_while_the_object_stays() -> None:
    store = LatestObjectStore()
    store.update_frame(_frame("rsu-a", T0, _object(1)))
    store.update_frame(_frame("rsu-a", T0 + 100, _object(1), _object(2)))

    tracks = _by_id(store)

    assert tracks[_tid("rsu-a", 1)].first_seen_unix_ms == T0
    assert tracks[_tid("rsu-a", 1)].time_unix_ms == T0 + 100
    assert tracks[_tid("rsu-a", 2)].first_seen_unix_ms == T0 + 100


def test_first_seen_restarts_when_the_object_disappears_and_returns() -> None:
    store = LatestObjectStore()
    store.update_frame(_frame("rsu-a", T0, _object(1), _object(2)))
    store.update_frame(_frame("rsu-a", T0 + 100, _object(2)))

    store.update_frame(_frame("rsu-a", T0 + 200, _object(1), _object(2)))

    tracks = _by_id(store)
    assert tracks[_tid("rsu-a", 1)].first_seen_unix_ms == T0 + 200
    assert tracks[_tid("rsu-a", 2)].first_seen_unix_ms == T0


def test_first_seen_restarts_after_the_source_expired() -> None:
    store = LatestObjectStore(max_age_ms=1_000)
    store.update_frame(_frame("rsu-a", T0, _object(1)))
    store.update_frame(_frame("rsu-b", T0 + 2_000, _object(9)))

    store.update_frame(_frame("rsu-a", T0 + 2_100, _object(1)))

    assert _by_id(store)[_tid("rsu-a", 1)].first_seen_unix_ms == T0 + 2_100


def _vehicle(temporary_id: bytes, time_unix_ms: int, latitude_deg: float = CENTER.latitude_deg) -> VehicleState:
    return VehicleState(
        temporary_id,
        time_unix_ms,
        Position(latitude_deg, CENTER.longitude_deg),
        speed_mps=13.0,
        heading_deg=90.0,
        vehicle_class=ObjectClass.PASSENGER_CAR,
    )


def test_vehicle_states_are_keyed_by_temporary_id() -> None:
    store = LatestObjectStore()
    store.update_vehicle(_vehicle(b"\x01\x02\x03\x04", T0))
    store.update_vehicle(_vehicle(b"\x01\x02\x03\x04", T0 + 100, latitude_deg=39.08))
    store.update_vehicle(_vehicle(b"\x0a\x0b\x0c\x0d", T0 + 50))

    tracks = {t.vehicle_temporary_id: t for t in store.tracks_in(EVERYWHERE)}

    assert store.source_count == 2
    assert set(tracks) == {b"\x01\x02\x03\x04", b"\x0a\x0b\x0c\x0d"}
    moved = tracks[b"\x01\x02\x03\x04"]
    assert moved.position.latitude_deg == 39.08
    assert moved.time_unix_ms == T0 + 100
    assert moved.first_seen_unix_ms == T0
    assert moved.source_ids == ("01020304",)
    assert moved.speed_mps == 13.0
    assert moved.object_class is ObjectClass.PASSENGER_CAR


def test_older_vehicle_state_is_ignored() -> None:
    store = LatestObjectStore()
    store.update_vehicle(_vehicle(b"\x01\x02\x03\x04", T0 + 100))

    store.update_vehicle(_vehicle(b"\x01\x02\x03\x04", T0, latitude_deg=39.08))

    [track] = store.tracks_in(EVERYWHERE)
    assert track.time_unix_ms == T0 + 100
    assert track.position == CENTER


def test_vehicles_and_rsu_objects_are_held_side_by_side() -> None:
    store = LatestObjectStore()
    store.update_frame(_frame("rsu-a", T0, _object(1)))
    store.update_vehicle(_vehicle(b"\x01\x02\x03\x04", T0))

    tracks = store.tracks_in(EVERYWHERE)

    assert len(tracks) == 2
    assert sorted(t.vehicle_temporary_id for t in tracks) == [b"", b"\x01\x02\x03\x04"]


def test_tracks_in_circle() -> None:
    store = LatestObjectStore()
    near = _object(1)
    far = _object(2, latitude_deg=CENTER.latitude_deg + 0.01)  # about 1.1 km north
    store.update_frame(_frame("rsu-a", T0, near, far))

    inside = store.tracks_in(Circle(CENTER, 500.0))
    both = store.tracks_in(Circle(CENTER, 2_000.0))

    assert _ids(inside) == {_tid("rsu-a", 1)}
    assert _ids(both) == {_tid("rsu-a", 1), _tid("rsu-a", 2)}


def test_tracks_in_box() -> None:
    store = LatestObjectStore()
    store.update_frame(_frame("rsu-a", T0, _object(1, latitude_deg=39.05), _object(2, latitude_deg=39.15)))
    store.update_vehicle(_vehicle(b"\x01\x02\x03\x04", T0, latitude_deg=39.06))

    tracks = store.tracks_in(BoundingBox(39.0, 115.9, 39.1, 116.0))

    assert _ids(tracks) == {_tid("rsu-a", 1), track_id_for("vehicle", "01020304")}
    assert store.tracks_in(BoundingBox(40.0, 115.9, 41.0, 116.0)) == []


def test_two_sensors_of_one_source_get_distinct_track_ids() -> None:
    store = LatestObjectStore()
    store.update_frame(_frame("rsu-a", T0, _object(5), sensor="radar0"))
    store.update_frame(_frame("rsu-a", T0, _object(5, latitude_deg=39.08), sensor="radar1"))

    tracks = store.tracks_in(EVERYWHERE)

    assert len(tracks) == 2
    assert len(_ids(tracks)) == 2


def test_distinct_temporary_ids_get_distinct_track_ids() -> None:
    store = LatestObjectStore()
    store.update_vehicle(_vehicle(b"\x00\x00\x00\x01", T0))
    store.update_vehicle(_vehicle(b"\x00\x00\x00\x00\x00\x00\x00\x01", T0))

    tracks = store.tracks_in(EVERYWHERE)

    assert len(tracks) == 2
    assert len(_ids(tracks)) == 2
