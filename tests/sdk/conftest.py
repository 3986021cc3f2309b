"""Fixtures of the SDK tests: a real CloudNode on 127.0.0.1 port 0, vehicle states, bounded waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import pytest

from cloud.node import CloudNode
from cloud.settings import CloudSettings
from roadlink.domain.clock import now_unix_ms
from roadlink.sdk import Position, Situation, SituationFeed, VehicleState

WAIT_S = 10.0
MAX_AGE_MS = 60_000
"""Vehicles published once stay in the node's picture for the whole test."""

_T = TypeVar("_T")


@pytest.fixture
async def node() -> AsyncIterator[CloudNode]:
    async with CloudNode(CloudSettings.load(listen="127.0.0.1:0", max_age_ms=MAX_AGE_MS)) as running:
        yield running


def target_of(node: CloudNode) -> str:
    return f"127.0.0.1:{node.port}"


def state(vehicle_id: bytes, position: Position, *, speed_mps: float | None = None) -> VehicleState:
    """A state of `vehicle_id` at `position`, stamped now."""
    return VehicleState(temporary_id=vehicle_id, time_unix_ms=now_unix_ms(), position=position, speed_mps=speed_mps)


async def first_matching(
    feed: SituationFeed, accept: Callable[[Situation], bool], timeout_s: float = WAIT_S
) -> Situation:
    """The first update `accept` takes, within `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        async for situation in feed:
            if accept(situation):
                return situation
    raise AssertionError("the feed ended")


def sdk_tasks() -> list[asyncio.Task[object]]:
    """Tasks the SDK started that are still running (every one has an owner that ends it on close)."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("roadlink-sdk") and not t.done()]


async def eventually(check: Callable[[], _T | None], timeout_s: float = WAIT_S) -> _T:
    """Poll `check` until it returns something other than None, within `timeout_s`."""
    async with asyncio.timeout(timeout_s):
        while (value := check()) is None:
            await asyncio.sleep(0.02)
    return value
