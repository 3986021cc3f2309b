"""`Situation`: one situation update as the SDK delivers it, with the signal states of the area.

The shared domain `SituationUpdate` does not carry signal states yet, while the wire message does
(`SituationUpdate.signal_timings`). `Situation` is a `SituationUpdate` with them added, so code written for
`SituationUpdate` keeps working. Decoding reuses the converters of `roadlink.wire.convert`.
"""

from __future__ import annotations

from dataclasses import dataclass

from v2x.cloud.v1 import vehicle_service_pb2 as vs_pb2

from roadlink.domain.signal import SignalPhaseAndTiming
from roadlink.domain.situation import Advisory, SituationUpdate, Track
from roadlink.wire.convert import signal_from_proto, situation_from_proto

__all__ = ["Situation", "situation_from_response"]


@dataclass(frozen=True, slots=True)
class Situation(SituationUpdate):
    """The picture of `area` at `time_unix_ms`: tracks, advisories and signal states (SPaT) in the area.

    `sequence` counts the updates of one stream (it restarts at 1 after a reconnect); `skipped_updates` is
    what the node dropped because this consumer was slow.
    """

    signal_timings: tuple[SignalPhaseAndTiming, ...] = ()

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
    return Situation(
        time_unix_ms=update.time_unix_ms,
        area=update.area,
        tracks=update.tracks,
        advisories=update.advisories,
        sequence=update.sequence,
        skipped_updates=update.skipped_updates,
        signal_timings=tuple(signal_from_proto(s) for s in response.update.signal_timings),
    )
