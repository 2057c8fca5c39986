"""Two-agent runs: two bots talk about a topic, taking turns, steerable while they run."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from shared.schemas.chat import ModelName
from shared.schemas.job_state import ErrorInfo, JobStatus, Usage


class BotConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field("", max_length=100)
    model: ModelName
    system_prompt: str = Field(
        "", max_length=50_000, validation_alias=AliasChoices("system_prompt", "prompt")
    )
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1, le=32_000)


class BotPatch(BaseModel):
    """Fields to change on one bot; they apply from the next turn."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = Field(None, max_length=100)
    model: ModelName | None = None
    system_prompt: str | None = Field(
        None, max_length=50_000, validation_alias=AliasChoices("system_prompt", "prompt")
    )
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1, le=32_000)

    @model_validator(mode="after")
    def _not_empty(self) -> BotPatch:
        if not self.model_dump(exclude_unset=True):
            raise ValueError(
                "give at least one of name, model, system_prompt, temperature, max_tokens"
            )
        return self


class RunInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bots: list[BotConfig] = Field(min_length=2, max_length=2)
    topic: str = Field(min_length=1, max_length=50_000)
    max_turns: int = Field(6, ge=1, description="capped by the server's RUN_MAX_TURNS")

    def bot_names(self) -> list[str]:
        return [bot.name or f"bot{index}" for index, bot in enumerate(self.bots)]


class RunResult(BaseModel):
    turns_completed: int
    usage: Usage


class TurnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    turn: int
    bot: int
    name: str = ""
    model: str
    content: str
    usage: Usage
    complete: bool
    attempt: int
    started_at: datetime
    finished_at: datetime


class PatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    bot: int
    changes: dict[str, Any]
    created_at: datetime
    applies_from_turn: int | None = None
    applied_at: datetime | None = None


class RunExport(BaseModel):
    id: UUID
    status: JobStatus
    topic: str
    max_turns: int
    bots: list[BotConfig] = Field(description="the bots as they were created")
    turns: list[TurnOut]
    patches: list[PatchOut]
    usage: Usage
    error: ErrorInfo | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
