"""The request of `POST /v1/chat/completions`, in OpenAI's shape (unknown fields ignored)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.schemas.chat import ChatInput, ChatMessage, ContentPart


class CompletionMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None

    def as_chat(self) -> ChatMessage:
        role = "system" if self.role == "developer" else self.role
        return ChatMessage(role=role, content=self.content or "")


class StreamOptions(BaseModel):
    include_usage: bool = False


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(description="`provider/model`, e.g. `mock/echo`")
    messages: list[CompletionMessage] = Field(min_length=1, max_length=500)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=200_000)
    max_completion_tokens: int | None = Field(None, ge=1, le=200_000)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    n: int = Field(1, ge=1, le=1, description="only one choice is supported")
    user: str | None = None

    @field_validator("model")
    @classmethod
    def _provider_prefixed(cls, value: str) -> str:
        if "/" not in value:
            raise ValueError("name models as provider/model, e.g. mock/echo or openai/gpt-4o-mini")
        return value

    def as_chat_input(self) -> ChatInput:
        return ChatInput(
            messages=[m.as_chat() for m in self.messages],
            model=self.model,
            max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature,
        )


def openai_error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}
