"""Events of a job's log: appended to `job:{id}:events` and relayed over SSE and WebSocket.

The Redis stream entry id is the event id; it is not part of the payload. Every payload carries
`job_id` and `type`. `done` is always the last event of a job.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, TypeAdapter

from shared.schemas.job_state import JobStatus, Usage


class _Event(BaseModel):
    job_id: UUID


class StatusEvent(_Event):
    type: Literal["status"] = "status"
    status: JobStatus
    attempt: int


class TurnStartEvent(_Event):
    type: Literal["turn_start"] = "turn_start"
    turn: int
    bot: int
    model: str


class TurnEndEvent(_Event):
    type: Literal["turn_end"] = "turn_end"
    turn: int
    bot: int
    model: str
    content: str
    usage: Usage
    complete: bool = True


class TokenEvent(_Event):
    type: Literal["token"] = "token"
    delta: str
    turn: int | None = None
    bot: int | None = None


class MessageEvent(_Event):
    type: Literal["message"] = "message"
    message: dict[str, Any]


class PatchAppliedEvent(_Event):
    type: Literal["patch_applied"] = "patch_applied"
    bot: int
    changes: dict[str, Any]
    applies_from_turn: int


class OutputEvent(_Event):
    type: Literal["output"] = "output"
    stream: Literal["stdout", "stderr"]
    data: str


class TestResultEvent(_Event):
    __test__ = False  # not a pytest class

    type: Literal["test_result"] = "test_result"
    index: int
    verdict: dict[str, Any]
    time: float | None = None
    memory: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ResultEvent(_Event):
    type: Literal["result"] = "result"
    result: dict[str, Any]


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    code: str
    message: str
    retryable: bool = False


class DoneEvent(_Event):
    type: Literal["done"] = "done"
    status: JobStatus
    usage: Usage = Field(default_factory=Usage)


Event = Annotated[
    StatusEvent
    | TurnStartEvent
    | TurnEndEvent
    | TokenEvent
    | MessageEvent
    | PatchAppliedEvent
    | OutputEvent
    | TestResultEvent
    | ResultEvent
    | ErrorEvent
    | DoneEvent,
    Field(discriminator="type"),
]

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: str | bytes) -> Event:
    return event_adapter.validate_json(data)
