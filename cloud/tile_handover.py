"""Publishing only the tracks of a node's own tiles, under global ids that survive a tile border.

Each fusion node runs its own tracker (local ids 1, 2, 3, ...). :class:`TileGate` sits between the
tracker's snapshot and what the node publishes:

- A track in one of the node's tiles is published under a **global id**: the node's id namespace plus
  the local id when the track was born here, or the id a neighbour handed over.
- A published track whose estimate moves into a tile owned by another node is **handed over**: a
  :class:`Handover` (the global id and the track's state) goes to the owner through a
  :class:`HandoverRouter`, and this node stops publishing it at once (it keeps tracking it, marked
  released). Ownership is exclusive, so the object is never published by two nodes at the same time.
- The receiver adopts the handover for its own local track of the object (the local track that
  already carries the handed-over id because it was released here before, else the same vehicle id,
  else the nearest unmapped track within ``match_radius_m`` after predicting the handed-over state to
  the snapshot time) and publishes it under the handed-over id. Unmatched handovers wait up to
  ``handover_ttl_ms``.
- A new local track close to a foreign tile (within ``border_margin_m``) may be an object a neighbour
  is about to hand over, so it waits up to ``claim_timeout_ms`` before getting a fresh global id.
  A released track seen in one of the node's tiles for ``claim_timeout_ms`` without being handed back
  (the neighbour lost it) is taken back under its old global id.
- Tracks in tiles nobody owns are published by nobody; a track keeps its id while passing through.
- Tracks this node handed over but still tracks (and those in nobody's tile) are *context*
  (:attr:`GateDecision.context_rows`): hazard detection sees them, so a follower on this side of a border
  is warned about a lead the neighbour already owns; only advisories naming a published track are issued.

The gate is pure (no transport) and not thread-safe: call it from the one fusion worker. Global ids
are ``namespace + local id`` with ``namespace = (k + 1) << 40`` for the node's index ``k`` in the sorted
owner list, so nodes sharing an ownership never mint the same id.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from roadlink.domain.errors import ConfigurationError
from roadlink.domain.geodesy import FloatArray, LocalOrigin
from roadlink.domain.situation import Track
from roadlink.domain.spatial import Position
from roadlink.fusion.state import BoolArray, IntArray, encode_vehicle_ids
from roadlink.fusion.tiling import StaticTileOwnership, TileGrid, TileKey, TileOwnership

__all__ = [
    "GateDecision",
    "GateStats",
    "Handover",
    "HandoverRouter",
    "InProcessHandoverRouter",
    "TileGate",
    "TileGateConfig",
    "id_namespace",
    "make_tile_gate",
]

_NAMESPACE_BITS = 40
_ANGLES = np.radians(np.arange(0.0, 360.0, 45.0))
_BORDER_OFFSETS = np.stack([np.sin(_ANGLES), np.cos(_ANGLES)], axis=-1)
"""``(8, 2)`` unit vectors every 45 degrees: the probes of :meth:`TileGate._near_foreign`."""


def make_tile_gate(
    node_id: str, owners: Mapping[str, Iterable[TileKey]], tile_size_m: float, anchor: Position | None
) -> TileGate | None:
    """The gate of ``node_id`` for a static assignment (None when ``owners`` is empty: no tiling).

    Raises:
        ConfigurationError: Tiles without an anchor (the fusion origin), or a node that owns no tiles.
    """
    if not owners:
        return None
    if anchor is None:
        raise ConfigurationError("tile_owners needs the fusion origin as the grid anchor")
    if node_id not in owners:
        raise ConfigurationError(f"node {node_id!r} is not in tile_owners")
    grid = TileGrid(LocalOrigin(anchor.latitude_deg, anchor.longitude_deg), tile_size_m)
    return TileGate(node_id, grid, StaticTileOwnership(owners))


def id_namespace(ownership: TileOwnership, node_id: str) -> int:
    """The first global id of ``node_id``: ``(k + 1) << 40`` for its index ``k`` among the owners."""
    nodes = ownership.nodes()
    if node_id not in nodes:
        raise ValueError(f"node {node_id!r} owns no tiles (owners: {', '.join(nodes)})")
    return (nodes.index(node_id) + 1) << _NAMESPACE_BITS


@dataclass(frozen=True, slots=True)
class Handover:
    """A track handed from ``from_node`` to ``to_node``, the owner of the tile it entered.

    ``track.track_id`` is the global id; the rest is the sender's latest estimate at ``track.time_unix_ms``.
    """

    from_node: str
    to_node: str
    track: Track


class HandoverRouter(Protocol):
    """Carries handovers between nodes; ``send`` never blocks (a lost handover costs an id, not a duplicate)."""

    def send(self, handovers: Sequence[Handover]) -> None:
        """Deliver each handover to its ``to_node``."""


class InProcessHandoverRouter:
    """Nodes of one process (tests, a single-host deployment): handovers go straight to each node's inbox."""

    def __init__(self) -> None:
        self._inboxes: dict[str, Callable[[Sequence[Handover]], None]] = {}
        self.undeliverable = 0

    def register(self, node_id: str, inbox: Callable[[Sequence[Handover]], None]) -> None:
        """Route handovers for ``node_id`` to ``inbox`` (which must not block)."""
        self._inboxes[node_id] = inbox

    def send(self, handovers: Sequence[Handover]) -> None:
        """Deliver each handover to its node's inbox; unknown nodes are counted in ``undeliverable``."""
        for node_id in {h.to_node for h in handovers}:
            inbox = self._inboxes.get(node_id)
            batch = [h for h in handovers if h.to_node == node_id]
            if inbox is None:
                self.undeliverable += len(batch)
            else:
                inbox(batch)


@dataclass(frozen=True, slots=True)
class TileGateConfig:
    """Distances in metres, times in ms (see the module docstring)."""

    match_radius_m: float = 8.0
    border_margin_m: float = 30.0
    claim_timeout_ms: int = 1_000
    handover_ttl_ms: int = 3_000


@dataclass(slots=True)
class _Entry:
    """A local track with a global id; ``released_ms`` is when it was handed over (None = this node's)."""

    global_id: int
    released_ms: int | None = None
    seen_home_ms: int | None = None


@dataclass(slots=True)
class GateStats:
    """Counters since the gate was created."""

    handed_over: int = 0
    adopted: int = 0
    reclaimed: int = 0
    claimed: int = 0
    expired_handovers: int = 0

    def as_counters(self) -> dict[str, int]:
        """The counters named for GetNodeStats (``tile_`` prefix)."""
        return {f"tile_{item.name}": getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True, slots=True)
class GateDecision:
    """What to publish and what to hand over, by row of the gate's input.

    Attributes:
        publish_rows: ``(K,)`` rows to publish, ascending.
        publish_ids: ``(K,)`` their global ids.
        handover_rows: ``(H,)`` rows to hand over (not published here any more).
        handover_ids: ``(H,)`` their global ids.
        handover_to: ``H`` owner node ids.
        context_rows: ``(C,)`` rows not published here that have a global id (handed over, or in nobody's
            tile): hazard detection near a border looks at them, but only advisories naming a published
            track are issued.
        context_ids: ``(C,)`` their global ids.
    """

    publish_rows: IntArray
    publish_ids: IntArray
    handover_rows: IntArray
    handover_ids: IntArray
    handover_to: tuple[str, ...]
    context_rows: IntArray
    context_ids: IntArray


@dataclass(slots=True)
class _Snapshot:
    """The tracker's rows of one step in the grid frame: ``(N,)`` local ids, ``(N, 2)`` metres, tiles, home mask."""

    local_ids: list[int]
    enu_m: FloatArray
    tiles: IntArray
    home: BoolArray
    vehicle_ids: NDArray[np.bytes_]


class TileGate:
    """Maps a tracker's local tracks to published global tracks of this node's tiles (module docstring)."""

    def __init__(
        self, node_id: str, grid: TileGrid, ownership: TileOwnership, config: TileGateConfig = TileGateConfig()
    ) -> None:
        self.node_id = node_id
        self.grid = grid
        self.ownership = ownership
        self.config = config
        self.stats = GateStats()
        self._namespace = id_namespace(ownership, node_id)
        self._entries: dict[int, _Entry] = {}
        self._waiting_since: dict[int, int] = {}
        self._pending: deque[Handover] = deque()

    def receive(self, handovers: Sequence[Handover]) -> None:
        """Queue handovers addressed to this node until a local track matches them."""
        self._pending.extend(h for h in handovers if h.to_node == self.node_id)

    def apply(
        self,
        local_ids: IntArray,
        latitude_deg: FloatArray,
        longitude_deg: FloatArray,
        vehicle_ids: NDArray[np.bytes_],
        now_ms: int,
    ) -> GateDecision:
        """Decide, for the tracker's snapshot at ``now_ms``, what this node publishes and hands over.

        Args:
            local_ids: ``(N,)`` the tracker's track ids.
            latitude_deg: ``(N,)`` WGS84 latitudes of the tracks at ``now_ms``.
            longitude_deg: ``(N,)`` WGS84 longitudes.
            vehicle_ids: ``(N,)`` encoded vehicle ids (:func:`roadlink.fusion.state.encode_vehicle_ids`).
            now_ms: The snapshot time, unix ms.
        """
        enu = self.grid.enu_of(latitude_deg, longitude_deg)
        tiles = self.grid.tiles_of_enu(enu[:, 0], enu[:, 1])
        home = self.ownership.owned_by(self.node_id, tiles)
        snap = _Snapshot(np.asarray(local_ids).tolist(), enu, tiles, home, np.asarray(vehicle_ids))
        self._forget_gone(snap.local_ids)
        self._adopt_pending(snap, now_ms)
        self._claim_new(snap, now_ms)
        handover_rows, handover_to = self._hand_over(snap, now_ms)
        rows = [k for k in np.flatnonzero(home).tolist() if self._publishes(snap.local_ids[k], now_ms)]
        published = set(rows)
        context = [k for k, local in enumerate(snap.local_ids) if local in self._entries and k not in published]
        return GateDecision(
            publish_rows=np.array(rows, dtype=np.int64),
            publish_ids=self._global_ids(snap, rows),
            handover_rows=np.array(handover_rows, dtype=np.int64),
            handover_ids=self._global_ids(snap, handover_rows),
            handover_to=tuple(handover_to),
            context_rows=np.array(context, dtype=np.int64),
            context_ids=self._global_ids(snap, context),
        )

    def apply_tracks(self, tracks: Sequence[Track], now_ms: int) -> tuple[list[Track], list[Handover]]:
        """:meth:`apply` for domain tracks (a convenience off the hot path): the published tracks and handovers."""
        decision = self.apply(
            np.array([t.track_id for t in tracks], dtype=np.int64),
            np.array([t.position.latitude_deg for t in tracks], dtype=np.float64),
            np.array([t.position.longitude_deg for t in tracks], dtype=np.float64),
            encode_vehicle_ids([t.vehicle_temporary_id for t in tracks]),
            now_ms,
        )
        published = [
            replace(tracks[row], track_id=global_id)
            for row, global_id in zip(decision.publish_rows.tolist(), decision.publish_ids.tolist(), strict=True)
        ]
        return published, self.handovers(decision, [tracks[row] for row in decision.handover_rows.tolist()])

    def handovers(self, decision: GateDecision, tracks: Sequence[Track]) -> list[Handover]:
        """The handovers of ``decision`` from the tracks of its ``handover_rows`` (in that order)."""
        ids, owners = decision.handover_ids.tolist(), decision.handover_to
        return [
            Handover(self.node_id, owner, replace(track, track_id=global_id))
            for track, global_id, owner in zip(tracks, ids, owners, strict=True)
        ]

    def _global_ids(self, snap: _Snapshot, rows: list[int]) -> IntArray:
        return np.array([self._entries[snap.local_ids[k]].global_id for k in rows], dtype=np.int64)

    def _forget_gone(self, local_ids: list[int]) -> None:
        alive = set(local_ids)
        for gone in [local for local in self._entries if local not in alive]:
            del self._entries[gone]
        for gone in [local for local in self._waiting_since if local not in alive]:
            del self._waiting_since[gone]

    def _adopt_pending(self, snap: _Snapshot, now_ms: int) -> None:
        """Match queued handovers to local tracks; drop the expired ones."""
        if not self._pending:
            return
        by_global = {entry.global_id: entry for entry in self._entries.values()}
        free = np.array([local not in self._entries for local in snap.local_ids], dtype=bool)
        kept: deque[Handover] = deque()
        for handover in self._pending:
            if self._adopt(handover, snap, by_global, free, now_ms):
                self.stats.adopted += 1
            elif handover.track.time_unix_ms + self.config.handover_ttl_ms >= now_ms:
                kept.append(handover)
            else:
                self.stats.expired_handovers += 1
        self._pending = kept

    def _adopt(
        self, handover: Handover, snap: _Snapshot, by_global: dict[int, _Entry], free: BoolArray, now_ms: int
    ) -> bool:
        """Give the handed-over global id to the matching local track (``free`` rows only); False if none.

        ``free`` ``(N,)`` marks the rows without a global id and is updated in place.
        """
        global_id = handover.track.track_id
        held = by_global.get(global_id)
        if held is not None:
            held.released_ms = held.seen_home_ms = None
            return True
        row = self._match_row(handover.track, snap, free, now_ms)
        if row is None:
            return False
        local = snap.local_ids[row]
        self._entries[local] = by_global[global_id] = _Entry(global_id)
        self._waiting_since.pop(local, None)
        free[row] = False
        return True

    def _match_row(self, track: Track, snap: _Snapshot, free: BoolArray, now_ms: int) -> int | None:
        """The free local track with the same vehicle id, else the nearest within the match radius."""
        if not free.any():
            return None
        if track.vehicle_temporary_id:
            same = free & (snap.vehicle_ids == encode_vehicle_ids([track.vehicle_temporary_id])[0])
            if same.any():
                return int(np.argmax(same))
        expected = self._predicted_enu(track, now_ms)
        distance = np.where(free, np.hypot(*(snap.enu_m - expected).T), np.inf)
        row = int(np.argmin(distance))
        return row if distance[row] <= self.config.match_radius_m else None

    def _predicted_enu(self, track: Track, time_ms: int) -> FloatArray:
        """The track's grid-frame position moved to ``time_ms`` along its velocity (metres, ``(2,)``)."""
        here: FloatArray = self.grid.enu_of(
            np.array([track.position.latitude_deg]), np.array([track.position.longitude_deg])
        )[0]
        if track.speed_mps is None or track.heading_deg is None:
            return here
        angle = math.radians(track.heading_deg)
        dt_s = (time_ms - track.time_unix_ms) / 1000.0
        moved: FloatArray = here + track.speed_mps * dt_s * np.array([math.sin(angle), math.cos(angle)])
        return moved

    def _claim_new(self, snap: _Snapshot, now_ms: int) -> None:
        """Give fresh global ids to new local tracks in this node's tiles (after a wait near a border)."""
        rows = [k for k in np.flatnonzero(snap.home).tolist() if snap.local_ids[k] not in self._entries]
        if not rows:
            return
        near = self._near_foreign(snap.enu_m[rows])
        for row, waits in zip(rows, near.tolist(), strict=True):
            local = snap.local_ids[row]
            since = self._waiting_since.setdefault(local, now_ms)
            if not waits or now_ms - since >= self.config.claim_timeout_ms:
                self._entries[local] = _Entry(self._namespace + local)
                self._waiting_since.pop(local, None)
                self.stats.claimed += 1

    def _near_foreign(self, enu_m: FloatArray) -> BoolArray:
        """``(K,)`` True where a point within ``border_margin_m`` of ``(K, 2)`` positions is another node's tile."""
        probes = enu_m[None, :, :] + self.config.border_margin_m * _BORDER_OFFSETS[:, None, :]
        tiles = self.grid.tiles_of_enu(probes[..., 0].reshape(-1), probes[..., 1].reshape(-1))
        unique, inverse = np.unique(tiles, axis=0, return_inverse=True)
        owners = [self.ownership.owner_of(_key(tile)) for tile in unique]
        foreign = np.array([owner not in (None, self.node_id) for owner in owners], dtype=bool)
        return np.asarray(foreign[inverse.reshape(-1)].reshape(len(_BORDER_OFFSETS), -1).any(axis=0), dtype=bool)

    def _hand_over(self, snap: _Snapshot, now_ms: int) -> tuple[list[int], list[str]]:
        """Rows and new owners of this node's published tracks that are now in another node's tile."""
        rows: list[int] = []
        owners: list[str] = []
        for row in np.flatnonzero(~snap.home).tolist():
            entry = self._entries.get(snap.local_ids[row])
            if entry is None or entry.released_ms is not None:
                if entry is not None:
                    entry.seen_home_ms = None  # away again: a later reclaim waits afresh
                continue
            owner = self.ownership.owner_of(_key(snap.tiles[row]))
            if owner is None or owner == self.node_id:
                continue
            entry.released_ms = now_ms
            rows.append(row)
            owners.append(owner)
            self.stats.handed_over += 1
        return rows, owners

    def _publishes(self, local: int, now_ms: int) -> bool:
        """Whether a local track in this node's tiles is published now (reclaiming a lost released one)."""
        entry = self._entries.get(local)
        if entry is None:
            return False
        if entry.released_ms is None:
            return True
        entry.seen_home_ms = entry.seen_home_ms or now_ms
        if now_ms - entry.seen_home_ms < self.config.claim_timeout_ms:
            return False
        entry.released_ms = entry.seen_home_ms = None
        self.stats.reclaimed += 1
        return True


def _key(tile: IntArray) -> TileKey:
    return int(tile[0]), int(tile[1])
