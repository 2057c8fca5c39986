"""Jobs as the API shows them, and the input model of each job kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.schemas.chat import ChatInput, ConversationReplyInput
from shared.schemas.execute import ExecuteInput
from shared.schemas.job_state import ErrorInfo, JobKind, JobStatus, Usage
from shared.schemas.judge import JudgeInput
from shared.schemas.runs import RunInput

# The stored input of each kind of job (a union where one kind has several shapes).
INPUT_MODELS: dict[JobKind, Any] = {
    JobKind.chat: ChatInput | ConversationReplyInput,
    JobKind.run: RunInput,
    JobKind.judge: JudgeInput,
    JobKind.execute: ExecuteInput,
}


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    kind: JobKind
    status: JobStatus
    model: str | None = None
    input: dict[str, Any]
    result: dict[str, Any] | None = None
    error: ErrorInfo | None = None
    usage: Usage
    attempt: int
    created_at: datetime
    started_at: datetime | None = None
    first_token_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    conversation_id: UUID | None = None
    events_url: str = ""


class JobPage(BaseModel):
    items: list[JobOut]
    next_before: datetime | None = None
