"""`Situation`: one situation update as the SDK delivers it, with the signal states of the area.

`Situation` is the domain `SituationUpdate` (tracks, advisories and `signal_timings`, the SPaT of the
intersections in the area) with lookups a vehicle needs: its own track, the advisories about a track, the
signal state of one intersection. Code written for `SituationUpdate` keeps working. Decoding reuses the
converters of `roadlink.wire.convert`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2

from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, SituationUpdate, Track
from roadlink.wire.convert import situation_from_proto

__all__ = ["Situation", "situation_from_response"]


@dataclass(frozen=True, slots=True)
class Situation(SituationUpdate):
    """The picture of `area` at `time_unix_ms`: tracks, advisories and signal states (SPaT) in the area.

    `sequence` counts the updates of one stream (it restarts at 1 after a reconnect); `skipped_updates` is
    what the node dropped because this consumer was slow. `signal_timings` holds the latest signal state of
    each intersection in the area (empty when none is there or the node has no SPaT).
    """

    def track_of(self, temporary_id: bytes) -> Track | None:
        """The track of the connected vehicle with this temporary id, if it is in the area."""
        return next((t for t in self.tracks if t.vehicle_temporary_id == temporary_id), None)

    def advisories_about(self, track_id: int) -> tuple[Advisory, ...]:
        """The advisories that involve this track (for one's own vehicle: `track_of(id).track_id`)."""
        return tuple(a for a in self.advisories if track_id in a.track_ids)

    def signal_of(self, intersection_id: int) -> SignalPhaseAndTiming | None:
        """The signal state of one intersection, if it is in the area."""
        return next((s for s in self.signal_timings if s.intersection_id == intersection_id), None)


def situation_from_response(response: vs_pb2.WatchSituationResponse) -> Situation:
    """Decode one stream message (raises `ValidationError` for a malformed one)."""
    update = situation_from_proto(response.update)
    return Situation(**{f.name: getattr(update, f.name) for f in fields(SituationUpdate)})
