"""What the cloud services need from the node's picture, whichever way it is built.

`LatestObjectStore` (latest objects per source, no fusion) and `FusedPicture` (the fusion tracker) both
satisfy it; the services depend on this protocol only.
"""

from __future__ import annotations

from typing import Protocol

from roadlink.domain.perception import PerceptionFrame
from roadlink.domain.situation import Advisory, Track
from roadlink.domain.spatial import Area
from roadlink.domain.vehicle import VehicleState

__all__ = ["Picture"]


class Picture(Protocol):
    """Edge data in, tracks by area out."""

    @property
    def track_count(self) -> int:
        """Tracks currently held."""
        ...

    def update_frame(self, frame: PerceptionFrame) -> None:
        """Take in one perception frame."""

    def update_vehicle(self, state: VehicleState) -> None:
        """Take in one vehicle self-report."""

    def tracks_in(self, area: Area) -> list[Track]:
        """Tracks whose position lies in `area`."""
        ...

    def advisories_in(self, area: Area) -> list[Advisory]:
        """Advisories that concern `area`: their zone overlaps it (without a zone: an involved track is in it).

        RSU delivery should call `cloud.zone_advisories.advisories_for_zone`, which also drops expired ones.
        """
        ...
