"""cancel_and_wait: the stopped task's outcome is consumed, the caller's own cancellation is not."""

from __future__ import annotations

import asyncio

import pytest

from roadlink.task_cancel import cancel_and_wait


async def _slow_to_stop(stopping: asyncio.Event) -> None:
    """Waits forever; once cancelled it takes a moment to wind down, then ends cancelled."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        stopping.set()
        await asyncio.sleep(0.05)
        raise


async def test_a_cancelled_caller_stays_cancelled() -> None:
    stopping = asyncio.Event()
    inner = asyncio.create_task(_slow_to_stop(stopping))
    await asyncio.sleep(0)
    ran_on = []

    async def caller() -> None:
        await cancel_and_wait(inner)
        ran_on.append(True)  # the `suppress(CancelledError)` pattern gets here after the caller is cancelled

    outer = asyncio.create_task(caller())
    async with asyncio.timeout(5):
        await stopping.wait()
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert ran_on == []
    async with asyncio.timeout(5):
        await asyncio.wait({inner})
    assert inner.cancelled()


async def test_the_tasks_cancellation_is_consumed() -> None:
    inner = asyncio.create_task(asyncio.Event().wait())
    await asyncio.sleep(0)
    await cancel_and_wait(inner)
    assert inner.cancelled()


async def _fails_on_cancel() -> None:
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        raise ConnectionError("stream broke while stopping") from None


async def test_an_error_of_the_task_is_raised_unless_ignored() -> None:
    inner = asyncio.create_task(_fails_on_cancel())
    await asyncio.sleep(0)
    with pytest.raises(ConnectionError, match="while stopping"):
        await cancel_and_wait(inner)
    ignored = asyncio.create_task(_fails_on_cancel())
    await asyncio.sleep(0)
    await cancel_and_wait(ignored, ignore=(ConnectionError,))
