"""Stopping a job's lease loop does not depend on cancellation being delivered.

On Python 3.11 a cancel that lands while a driver's own timeout fires can be swallowed (seen
under load in bench/): a lease loop that only stopped when cancelled then renewed the lease for
ever and its finished job never published `done`. Here the loop's awaits swallow every cancel,
as such a driver would, and the job still moves on.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from worker.lifecycle import Attempt, _stop_lease


async def _swallowing_lease(attempt: Attempt, renewals: list[float]) -> None:
    """A lease loop whose every await loses the cancellation, as the racy driver did."""
    while not attempt.handled:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        if attempt.handled:
            return
        renewals.append(time.monotonic())


async def test_a_lease_loop_that_swallows_its_cancel_still_stops() -> None:
    attempt = Attempt(job=SimpleNamespace(), ctx=SimpleNamespace())  # type: ignore[arg-type]
    renewals: list[float] = []
    lease: asyncio.Task[Any] = asyncio.create_task(_swallowing_lease(attempt, renewals))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await asyncio.wait_for(_stop_lease(attempt, lease), 5)
    assert time.monotonic() - started < 1.5, "the job did not wait for the loop for ever"
    await asyncio.wait_for(lease, 1)  # and the loop itself ends at its next step
    assert lease.done() and not lease.cancelled()
    assert all(at <= started + 0.1 for at in renewals), "no renewal after the job ended"
