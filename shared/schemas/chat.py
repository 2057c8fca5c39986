from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.schemas.job_state import Usage

MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*/\S+$"
ModelName = Annotated[
    str,
    Field(
        pattern=MODEL_NAME_PATTERN,
        max_length=200,
        description="`provider/model`, e.g. `mock/echo` or `openai/gpt-4o-mini`",
        examples=["mock/echo"],
    ),
]


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text"] = "text"
    text: str


class ImageUrl(BaseModel):
    url: str = Field(description="A `data:image/...;base64,` URL; the server never fetches URLs")

    @field_validator("url")
    @classmethod
    def _data_url_only(cls, value: str) -> str:
        if not value.startswith("data:image/"):
            raise ValueError("images must be data URLs (data:image/...;base64,...)")
        return value


class ImagePart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["image_url"] = "image_url"
    image_url: ImageUrl


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str | list[ContentPart]

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


class ChatInput(BaseModel):
    """Input of a chat job: a list of messages answered by one model."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    model: ModelName | None = None
    max_tokens: int | None = Field(None, ge=1, le=200_000)
    temperature: float | None = Field(None, ge=0.0, le=2.0)

    @field_validator("messages")
    @classmethod
    def _has_user_message(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if not any(m.role == "user" for m in messages):
            raise ValueError("at least one message must have role 'user'")
        return messages


class ConversationReplyInput(BaseModel):
    """Input of a chat job that answers a conversation: the worker reads the history itself,
    so a reply queued behind another sees that one's answer."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: UUID
    reply_to: UUID = Field(description="the user message this job answers")
    model: ModelName
    max_tokens: int | None = Field(None, ge=1, le=200_000)
    temperature: float | None = Field(None, ge=0.0, le=2.0)


class ChatResult(BaseModel):
    content: str
    model: str
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
