"""OpenAI chat completions on the official SDK, for OpenAI and any compatible endpoint
(OpenRouter is this adapter with its base URL and attribution headers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai

from shared.schemas.chat import ChatMessage, ImagePart
from shared.schemas.job_state import Usage
from worker.providers.base import (
    CONNECT_TIMEOUT_SECONDS,
    Chunk,
    GenerationConfig,
    ModelInfo,
)
from worker.providers.errors import translated


def to_openai(message: ChatMessage) -> dict[str, Any]:
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ImagePart):
            parts.append({"type": "image_url", "image_url": {"url": part.image_url.url}})
        else:
            parts.append({"type": "text", "text": part.text})
    return {"role": message.role, "content": parts}


class OpenAIProvider:
    def __init__(
        self,
        name: str,
        *,
        api_key: str,
        base_url: str | None,
        timeout: float,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url or None,
            timeout=openai.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS)),
            max_retries=0,
            default_headers=headers,
        )

    def _request(self, messages: list[ChatMessage], config: GenerationConfig) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": config.model,
            "messages": [to_openai(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if config.max_tokens is not None:
            request["max_tokens"] = config.max_tokens
        if config.temperature is not None:
            request["temperature"] = config.temperature
        if config.json_schema is not None:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": config.json_schema, "strict": True},
            }
        return {**request, **config.extra}

    async def stream(
        self, messages: list[ChatMessage], config: GenerationConfig
    ) -> AsyncIterator[Chunk]:
        usage, finish = Usage(), None
        with translated(self.name, openai):
            stream = await self._client.chat.completions.create(**self._request(messages, config))
            # `async with` closes the HTTP stream when the job is cancelled mid-reply, so the
            # provider stops generating (and billing) at once, not when the GC gets to it.
            async with stream:
                async for event in stream:
                    if event.usage is not None:
                        usage = Usage(
                            input_tokens=event.usage.prompt_tokens,
                            output_tokens=event.usage.completion_tokens,
                        )
                    for choice in event.choices:
                        refusal = getattr(choice.delta, "refusal", None)
                        if refusal:
                            yield Chunk(refusal=refusal)
                        if choice.delta.content:
                            yield Chunk(delta=choice.delta.content)
                        finish = choice.finish_reason or finish
        yield Chunk(usage=usage, finish_reason=finish)

    async def list_models(self) -> list[ModelInfo]:
        with translated(self.name, openai):
            return [
                ModelInfo(id=f"{self.name}/{m.id}", provider=self.name, name=m.id)
                async for m in self._client.models.list()
            ]

    async def aclose(self) -> None:
        await self._client.close()
