"""What a job handler is given: the job, a way to emit events, and the process's resources.

Handlers are plain async functions `handle(ctx, payload) -> Outcome` that know nothing of
Celery. Cancellation reaches them as `asyncio.CancelledError` (from any `await`); they clean up
in `finally` (close the provider stream, kill the sandbox) and let it propagate. Failures are
raised as `shared.errors.SwitchyardError` subclasses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel

from shared.schemas.events import Event
from shared.schemas.job_state import Usage

if TYPE_CHECKING:
    from worker.runtime import Resources


@dataclass(slots=True)
class Outcome:
    result: BaseModel
    usage: Usage = field(default_factory=Usage)


@dataclass(slots=True)
class JobContext:
    job_id: UUID
    owner_id: UUID
    attempt: int
    resources: Resources
    _emit: Callable[[Event], Awaitable[str]]
    # Set by a handler that has something worth keeping if the job ends early (cancel, error):
    # the lifecycle stores what it returns as the job's (incomplete) result.
    partial_result: Callable[[], dict[str, Any]] | None = None

    async def emit(self, event: Event) -> str:
        """Append `event` to the job's log and publish it; returns the event id."""
        return await self._emit(event)

    def snapshot(self) -> dict[str, Any] | None:
        return self.partial_result() if self.partial_result is not None else None
