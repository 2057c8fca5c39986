"""The provider protocol: `stream(messages, config)` yields text deltas, then usage at the end.

Adapters translate their SDK's errors into `shared.errors.ProviderRetryable` (429, 5xx,
connection resets; with `retry_after` when the provider said so) or `ProviderRejected`
(the request itself is wrong). They never retry: retrying lives in `providers.retry` only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.schemas.chat import ChatMessage
from shared.schemas.job_state import Usage


@dataclass(frozen=True, slots=True)
class GenerationConfig:
    """What to ask of the model. `model` is the provider's own id (no `provider/` prefix)."""

    model: str
    max_tokens: int | None = None
    temperature: float | None = None
    # Structured output for the judge: a JSON schema the answer must follow.
    json_schema: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Chunk:
    """One piece of a streamed reply: a text delta, or (last) the usage and finish reason."""

    delta: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    refusal: str | None = None  # the model declined (structured output); no delta follows


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str  # with the provider prefix, e.g. "openai/gpt-4o-mini"
    provider: str
    name: str = ""
    context_length: int | None = None


class Provider(Protocol):
    name: str

    def stream(self, messages: list[ChatMessage], config: GenerationConfig) -> AsyncIterator[Chunk]:
        """Stream the reply. The final chunk carries `usage` (and usually `finish_reason`)."""
        ...

    async def list_models(self) -> list[ModelInfo]: ...

    async def aclose(self) -> None: ...


def split_model(name: str) -> tuple[str, str]:
    """`openrouter/meta-llama/llama-3.1-8b` -> (`openrouter`, `meta-llama/llama-3.1-8b`)."""
    provider, _, model = name.partition("/")
    return provider, model


# A reply may pause long between tokens (the read timeout is PROVIDER_TIMEOUT_SECONDS), but a
# connection that cannot even be opened fails in seconds, for the retry layer to try again.
CONNECT_TIMEOUT_SECONDS = 10.0
