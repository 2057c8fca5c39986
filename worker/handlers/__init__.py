"""Job handlers: plain async functions `handle(ctx, payload) -> Outcome`, one module per kind.

`handler_for(kind)` returns a callable taking the job's raw stored input; it validates the
input against the kind's schema before calling the handler.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.errors import Invalid
from shared.schemas.job_state import JobKind
from shared.schemas.jobs import INPUT_MODELS
from worker.context import JobContext, Outcome
from worker.handlers import chat, execute, judge, run

RawHandler = Callable[[JobContext, dict[str, Any]], Awaitable[Outcome]]
Handler = Callable[[JobContext, Any], Awaitable[Outcome]]

HANDLERS: dict[JobKind, Handler] = {
    JobKind.chat: chat.handle,
    JobKind.run: run.handle,
    JobKind.judge: judge.handle,
    JobKind.execute: execute.handle,
}


@functools.cache
def _adapter(kind: JobKind) -> TypeAdapter[Any]:
    return TypeAdapter(INPUT_MODELS[kind])


def handler_for(kind: JobKind) -> RawHandler:
    handler = HANDLERS.get(kind)
    if handler is None or kind not in INPUT_MODELS:
        raise Invalid(f"this worker has no handler for {kind.value} jobs")
    adapter = _adapter(kind)

    async def run(ctx: JobContext, raw: dict[str, Any]) -> Outcome:
        try:
            payload = adapter.validate_python(raw)
        except ValidationError as exc:
            raise Invalid(f"stored {kind.value} input is not valid: {exc}") from exc
        return await handler(ctx, payload)

    return run
