"""The cloud node's picture for now: the latest objects per source. THIS IS NOT FUSION.

Each RSU source's newest perception frame replaces its previous one, and each vehicle's newest state
replaces its previous one. Objects seen by two RSUs therefore appear twice, once per source. Real fusion
(association, Kalman filtering, track-to-track fusion, stable global ids) replaces this store later; the
services only depend on `tracks_in(area)`.

Bounds: frames older than `max_age_ms` (source time vs the newest time seen) are expired on each update,
and at most `max_sources` sources are kept (the stalest is evicted first).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from roadlink.domain.perception import DetectedObject, PerceptionFrame
from roadlink.domain.situation import Advisory, Track
from roadlink.domain.spatial import Area
from roadlink.domain.vehicle import VehicleState

__all__ = ["LatestObjectStore", "track_id_for"]


def track_id_for(source_id: str, object_id: int | str, sensor_ids: tuple[str, ...] = ()) -> int:
    """Stable 63-bit track id for an object of one source (the same input always gives the same id).

    Object ids are only unique per sensor, so the sensors are part of the key.
    """
    key = f"{source_id}/{','.join(sensor_ids)}/{object_id}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


@dataclass(slots=True)
class _SourceEntry:
    time_unix_ms: int
    tracks: tuple[Track, ...]


class LatestObjectStore:
    """Latest tracks per source, queried by area."""

    def __init__(self, *, max_age_ms: int = 3_000, max_sources: int = 10_000) -> None:
        self._max_age_ms = max_age_ms
        self._max_sources = max_sources
        self._sources: dict[str, _SourceEntry] = {}
        self._first_seen: dict[int, int] = {}
        self._newest_unix_ms = 0

    @property
    def source_count(self) -> int:
        """Sources currently held."""
        return len(self._sources)

    @property
    def track_count(self) -> int:
        """Tracks currently held, over all sources."""
        return sum(len(entry.tracks) for entry in self._sources.values())

    def update_frame(self, frame: PerceptionFrame) -> None:
        """Replace the source's objects with this frame's (ignored if older than what is held).

        Frames of one source with the same time are parts of one picture (segmented frames, or a radar
        that reports two target sets per cycle, as the reference recording does): they are merged by
        object, never replaced, so no part hides another.
        """
        key = f"rsu:{frame.source_id}/{','.join(frame.provenance.sensor_ids)}"
        held = self._sources.get(key)
        if held is not None and held.time_unix_ms > frame.time_unix_ms:
            return
        tracks = tuple(self._track_from_object(frame, obj) for obj in frame.objects)
        if held is not None and held.time_unix_ms == frame.time_unix_ms:
            fresh = {track.track_id for track in tracks}
            tracks = tuple(t for t in held.tracks if t.track_id not in fresh) + tracks
        self._put(key, _SourceEntry(frame.time_unix_ms, tracks))

    def update_vehicle(self, state: VehicleState) -> None:
        """Replace the vehicle's previous state (ignored if older than what is held)."""
        key = f"vehicle:{state.vehicle_id}"
        held = self._sources.get(key)
        if held is not None and held.time_unix_ms > state.time_unix_ms:
            return
        track_id = track_id_for("vehicle", state.vehicle_id)
        track = Track(
            track_id=track_id,
            object_class=state.vehicle_class,
            position=state.position,
            time_unix_ms=state.time_unix_ms,
            first_seen_unix_ms=self._first_seen.setdefault(track_id, state.time_unix_ms),
            speed_mps=state.speed_mps,
            heading_deg=state.heading_deg,
            size=state.size,
            source_ids=(state.vehicle_id,),
            vehicle_temporary_id=state.temporary_id,
        )
        self._put(key, _SourceEntry(state.time_unix_ms, (track,)))

    def tracks_in(self, area: Area) -> list[Track]:
        """Tracks whose position lies in `area`."""
        return [t for entry in self._sources.values() for t in entry.tracks if area.contains(t.position)]

    def advisories_in(self, area: Area) -> list[Advisory]:
        """None: hazards need one track per object, which only the fused picture has."""
        return []

    def _track_from_object(self, frame: PerceptionFrame, obj: DetectedObject) -> Track:
        track_id = track_id_for(frame.source_id, obj.object_id, frame.provenance.sensor_ids)
        return Track(
            track_id=track_id,
            object_class=obj.object_class,
            position=obj.position,
            time_unix_ms=frame.time_unix_ms,
            first_seen_unix_ms=self._first_seen.setdefault(track_id, frame.time_unix_ms),
            class_confidence=obj.class_confidence,
            speed_mps=obj.speed_mps,
            heading_deg=obj.heading_deg,
            size=obj.size,
            position_covariance=obj.position_covariance,
            velocity_covariance=obj.velocity_covariance,
            source_ids=(frame.source_id,),
        )

    def _put(self, key: str, entry: _SourceEntry) -> None:
        previous = self._sources.get(key)
        if previous is not None:
            current = {track.track_id for track in entry.tracks}
            for track in previous.tracks:
                if track.track_id not in current:
                    self._first_seen.pop(track.track_id, None)
        self._sources[key] = entry
        self._newest_unix_ms = max(self._newest_unix_ms, entry.time_unix_ms)
        self._expire()

    def _expire(self) -> None:
        horizon = self._newest_unix_ms - self._max_age_ms
        stale = [key for key, entry in self._sources.items() if entry.time_unix_ms < horizon]
        for key in stale:
            self._forget(key)
        while len(self._sources) > self._max_sources:
            self._forget(min(self._sources, key=lambda k: self._sources[k].time_unix_ms))

    def _forget(self, key: str) -> None:
        for track in self._sources.pop(key).tracks:
            self._first_seen.pop(track.track_id, None)
