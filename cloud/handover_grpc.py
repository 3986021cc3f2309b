"""Handovers between fusion nodes over gRPC: `FusionService.HandOverTracks` on each peer.

:class:`GrpcHandoverRouter` is the :class:`~cloud.tile_handover.HandoverRouter` of nodes in separate
processes: `send` only queues (it runs on the fusion loop and must never block); one task per peer
drains its queue into unary `HandOverTracks` calls, each with a timeout.

Bounds and overflow policy: each peer's queue holds at most `max_queued` handovers; beyond that the
oldest is dropped and counted in `dropped`. A failed call is not retried (counted in `failed`): a
handover that is too late is worse than none, and a lost handover costs the object a new id at the
receiver, never a duplicate (the sender already stopped publishing it). Handovers for a node without a
configured peer address are counted in `undeliverable`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Self

import grpc
from grpc import aio
from v2x.cloud.v1 import fusion_service_pb2 as fs_pb2
from v2x.cloud.v1 import fusion_service_pb2_grpc as fs_grpc

from cloud.tile_handover import Handover
from roadlink.wire.auth import bearer_metadata
from roadlink.wire.convert import track_to_proto

__all__ = ["GrpcHandoverRouter"]

_log = logging.getLogger(__name__)


class _Peer:
    """One neighbour: its channel, its bounded queue and the task that drains it."""

    def __init__(self, target: str) -> None:
        self.channel = aio.insecure_channel(target)
        self.stub = fs_grpc.FusionServiceStub(self.channel)
        self.queue: deque[Handover] = deque()
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class GrpcHandoverRouter:
    """Sends handovers to peers' `HandOverTracks` (async context manager: owns the channels and tasks)."""

    def __init__(
        self,
        node_id: str,
        peers: Mapping[str, str],
        *,
        access_token: str | None = None,
        max_queued: int = 1_000,
        call_timeout_s: float = 2.0,
    ) -> None:
        """`peers` maps node ids to `host:port` targets (plaintext channels: a trusted backbone)."""
        self._node_id = node_id
        self._targets = dict(peers)
        self._metadata = bearer_metadata(access_token)
        self._max_queued = max_queued
        self._timeout_s = call_timeout_s
        self._peers: dict[str, _Peer] = {}
        self._running = False
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self.undeliverable = 0

    def send(self, handovers: Sequence[Handover]) -> None:
        """Queue each handover for its node's task (never blocks)."""
        for handover in handovers:
            peer = self._peers.get(handover.to_node)
            if peer is None:
                self.undeliverable += 1
                continue
            peer.queue.append(handover)
            if len(peer.queue) > self._max_queued:
                peer.queue.popleft()
                self.dropped += 1
            peer.ready.set()

    def counters(self) -> dict[str, int]:
        """The counters named for GetNodeStats (``handovers_`` prefix)."""
        return {
            "handovers_sent": self.sent,
            "handovers_dropped": self.dropped,
            "handovers_failed": self.failed,
            "handovers_undeliverable": self.undeliverable,
        }

    def add_peer(self, node_id: str, target: str) -> None:
        """Route handovers for `node_id` to `target` from now on (for peers whose port is known late).

        A node id that already has an address keeps it.
        """
        if node_id in self._targets:
            return
        self._targets[node_id] = target
        if self._running:
            self._start(node_id, target)

    async def __aenter__(self) -> Self:
        self._running = True
        for node_id, target in self._targets.items():
            self._start(node_id, target)
        return self

    def _start(self, node_id: str, target: str) -> None:
        peer = _Peer(target)
        peer.task = asyncio.create_task(self._drain(peer), name=f"handover-to-{node_id}")
        self._peers[node_id] = peer

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._running = False
        for peer in self._peers.values():
            if peer.task is not None:
                peer.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await peer.task
            await peer.channel.close()
        self._peers.clear()

    async def _drain(self, peer: _Peer) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await peer.ready.wait()
            peer.ready.clear()
            batch = list(peer.queue)
            peer.queue.clear()
            if batch:
                await self._call(peer, batch)

    async def _call(self, peer: _Peer, batch: list[Handover]) -> None:
        request = fs_pb2.HandOverTracksRequest(
            from_node_id=self._node_id, tracks=[track_to_proto(h.track) for h in batch]
        )
        try:
            await peer.stub.HandOverTracks(request, timeout=self._timeout_s, metadata=self._metadata)
            self.sent += len(batch)
        except grpc.RpcError as exc:
            self.failed += len(batch)
            _log.warning("handover of %d tracks to %s failed: %s", len(batch), batch[0].to_node, exc)
