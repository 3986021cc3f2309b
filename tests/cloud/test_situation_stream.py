"""Tests for cloud.situation_stream: fixed-rate updates, delivered newest-only to a slow consumer.

No test asserts on durations. The slow consumer is made deterministic by waiting until the fake query has
been called a given number of times (each call is one produced update) instead of sleeping for a guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections.abc import AsyncGenerator

import pytest

from cloud.situation_stream import MAX_RATE_HZ, SituationStream
from roadlink.domain.classes import ObjectClass
from roadlink.domain.situation import SituationUpdate, Track
from roadlink.domain.spatial import Area, BoundingBox, Circle, Position

WAIT_S = 1.0
HOME = Circle(Position(39.07, 115.93), 100.0)
AWAY = BoundingBox(40.0, 116.0, 40.1, 116.1)
TRACK = Track(1, ObjectClass.PASSENGER_CAR, Position(39.07, 115.93), 0, 0)
SLOW_ROUNDS = 3
UPDATES_PER_ROUND = 3


class FakeQuery:
    """Stands in for `LatestObjectStore.tracks_in`: records each area and wakes a waiter at a call count."""

    def __init__(self) -> None:
        self.areas: list[Area] = []
        self._target = 0
        self._reached = asyncio.Event()

    @property
    def calls(self) -> int:
        return len(self.areas)

    def __call__(self, area: Area) -> list[Track]:
        self.areas.append(area)
        if self.calls >= self._target:
            self._reached.set()
        return [TRACK] if area == HOME else []

    async def wait_for_calls(self, count: int) -> None:
        """Wait (bounded) until at least `count` updates have been produced."""
        self._target = count
        self._reached.clear()
        if self.calls < count:
            async with asyncio.timeout(WAIT_S):
                await self._reached.wait()


def _updates(stream: SituationStream) -> contextlib.aclosing[AsyncGenerator[SituationUpdate, None]]:
    updates = stream.updates()
    assert isinstance(updates, AsyncGenerator)
    return contextlib.aclosing(updates)


async def _read(updates: AsyncGenerator[SituationUpdate, None]) -> SituationUpdate:
    async with asyncio.timeout(WAIT_S):
        return await anext(updates)


async def _read_slowly(stream: SituationStream, query: FakeQuery) -> tuple[list[SituationUpdate], list[int], int]:
    """Read one update, then SLOW_ROUNDS times let UPDATES_PER_ROUND be produced before the next read.

    Returns the updates read, the newest sequence produced before each slow read, and the number of updates
    produced minus those delivered and skipped right after the last read (i.e. still pending).
    """
    received: list[SituationUpdate] = []
    newest_before_read: list[int] = []
    async with _updates(stream) as updates:
        received.append(await _read(updates))
        for _ in range(SLOW_ROUNDS):
            await query.wait_for_calls(query.calls + UPDATES_PER_ROUND)
            newest_before_read.append(query.calls)
            received.append(await _read(updates))
        pending = query.calls - len(received) - stream.skipped_updates
    return received, newest_before_read, pending


async def test_updates_have_increasing_sequences_and_the_querys_tracks() -> None:
    query = FakeQuery()
    stream = SituationStream(query, HOME, MAX_RATE_HZ)

    async with _updates(stream) as updates:
        received = [await _read(updates) for _ in range(5)]

    sequences = [update.sequence for update in received]
    assert sequences == sorted(set(sequences))
    assert sequences[0] >= 1
    assert query.calls >= sequences[-1]
    assert all(update.area == HOME and update.tracks == (TRACK,) for update in received)
    assert all(area == HOME for area in query.areas)
    times = [update.time_unix_ms for update in received]
    assert times == sorted(times)


async def test_slow_consumer_gets_only_the_newest_update_and_skips_are_counted() -> None:
    query = FakeQuery()
    stream = SituationStream(query, HOME, MAX_RATE_HZ)

    received, newest_before_read, pending = await _read_slowly(stream, query)

    sequences = [update.sequence for update in received]
    assert all(later >= earlier + UPDATES_PER_ROUND for earlier, later in itertools.pairwise(sequences))
    assert all(update.sequence >= newest for update, newest in zip(received[1:], newest_before_read, strict=True))
    assert stream.skipped_updates >= SLOW_ROUNDS * (UPDATES_PER_ROUND - 1)
    skipped = [update.skipped_updates for update in received]
    assert skipped == sorted(skipped)
    assert skipped[-1] > 0
    assert pending in (0, 1)


async def test_each_update_counts_every_skip_before_it() -> None:
    query = FakeQuery()
    stream = SituationStream(query, HOME, MAX_RATE_HZ)

    received, _, _ = await _read_slowly(stream, query)

    assert [update.sequence for update in received] == [
        delivered + update.skipped_updates for delivered, update in enumerate(received, start=1)
    ]


async def test_area_can_be_moved_while_streaming() -> None:
    query = FakeQuery()
    stream = SituationStream(query, HOME, MAX_RATE_HZ)

    async with _updates(stream) as updates:
        before = await _read(updates)
        stream.area = AWAY
        after = [await _read(updates) for _ in range(3)]

    assert before.area == HOME
    assert before.tracks == (TRACK,)
    moved = [index for index, update in enumerate(after) if update.area == AWAY]
    assert moved, "no update for the new area"
    assert moved[0] <= 1  # at most the one update pending at the move still shows the old area
    assert all(update.area == AWAY and update.tracks == () for update in after[moved[0] :])
    assert query.areas[-1] == AWAY


async def test_closing_the_stream_cancels_its_producer() -> None:
    query = FakeQuery()
    stream = SituationStream(query, HOME, MAX_RATE_HZ)

    async with _updates(stream) as updates:
        await _read(updates)
        [producer] = [task for task in asyncio.all_tasks() if task.get_name() == "situation-producer"]

    done, _ = await asyncio.wait([producer], timeout=WAIT_S)
    assert done == {producer}
    assert producer.cancelled()


@pytest.mark.parametrize("rate_hz", [0.0, -1.0, MAX_RATE_HZ + 0.001, math.inf, math.nan])
def test_invalid_rate_raises_value_error(rate_hz: float) -> None:
    with pytest.raises(ValueError, match="rate_hz"):
        SituationStream(FakeQuery(), HOME, rate_hz)


@pytest.mark.parametrize("rate_hz", [0.001, 1.0, MAX_RATE_HZ])
def test_valid_rates_are_accepted(rate_hz: float) -> None:
    stream = SituationStream(FakeQuery(), HOME, rate_hz)

    assert stream.area == HOME
    assert stream.skipped_updates == 0
