"""Stopping a task from inside another one without losing the other one's own cancellation.

The usual `task.cancel(); with suppress(CancelledError): await task` has a trap: if the *calling* task is
cancelled while it waits there, the CancelledError meant for it arrives through the same `await` and is
swallowed too. The caller then runs on; in a reconnect loop (the uplink's session teardown) that made a
cancelled uplink reconnect forever and hang its owner's shutdown. `cancel_and_wait` waits with
`asyncio.wait`, which never hands the task's outcome to the caller, so the caller's cancellation propagates.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(task: asyncio.Task[Any], *, ignore: tuple[type[BaseException], ...] = ()) -> None:
    """Cancel `task` and wait until it has finished.

    The task ending cancelled is the expected outcome; an exception it ended with is raised here unless it
    is an instance of `ignore`. A cancellation of the caller while waiting propagates (the task, already
    cancelled, finishes on its own).
    """
    task.cancel()
    await asyncio.wait({task})
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, ignore):
        raise error
