from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.chat import ModelName
from shared.schemas.job_state import Usage
from shared.schemas.jobs import JobOut


class MultitaskStrategy(StrEnum):
    """What a new message does while the conversation's previous reply is still running."""

    reject = "reject"  # 409
    enqueue = "enqueue"  # answer it after the running reply
    interrupt = "interrupt"  # cancel the running reply, keep what it said
    rollback = "rollback"  # cancel the running reply and discard it


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field("", max_length=300)
    model: ModelName | None = None
    system_prompt: str | None = Field(None, max_length=100_000)


class ConversationUpdate(BaseModel):
    """Only the fields sent change; `model` or `system_prompt` set to null clear them."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field("", max_length=300)
    model: ModelName | None = None
    system_prompt: str | None = Field(None, max_length=100_000)


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    title: str
    model: str | None
    system_prompt: str | None
    created_at: datetime
    updated_at: datetime
    message_count: int = 0


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    conversation_id: UUID
    role: str
    content: str
    model: str | None = None
    usage: Usage | None = None
    job_id: UUID | None = None
    complete: bool = True
    created_at: datetime


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=200_000)
    model: ModelName | None = Field(None, description="override the conversation's model")
    max_tokens: int | None = Field(None, ge=1, le=200_000)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    multitask_strategy: MultitaskStrategy = MultitaskStrategy.enqueue


class MessageAccepted(BaseModel):
    message: MessageOut
    job: JobOut


def message_payload(message: Any) -> dict[str, Any]:
    """The stored message as carried by a `message` event."""
    return MessageOut.model_validate(message).model_dump(mode="json")
