"""Anthropic messages streaming on the official SDK.

System messages go to `system`; consecutive messages of one role are merged so roles
alternate, starting with `user`; image data URLs become base64 image blocks. Structured output
is a forced tool call whose input schema is the wanted JSON schema; its streamed input is the
text this adapter yields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic

from shared.errors import ProviderRejected
from shared.schemas.chat import ChatMessage, ImagePart
from shared.schemas.job_state import Usage
from worker.providers.base import (
    CONNECT_TIMEOUT_SECONDS,
    Chunk,
    GenerationConfig,
    ModelInfo,
)
from worker.providers.errors import translated

DEFAULT_MAX_TOKENS = 1024
ANSWER_TOOL = "submit_answer"


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}] if message.content else []
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ImagePart):
            header, _, data = part.image_url.url.partition(",")
            media_type = header.removeprefix("data:").split(";")[0]
            if not header.endswith(";base64"):
                raise ProviderRejected("anthropic needs base64 image data URLs")
            blocks.append(
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": media_type, "data": data},
                }
            )
        else:
            blocks.append({"type": "text", "text": part.text})
    return blocks


def to_anthropic(messages: list[ChatMessage]) -> tuple[str, list[dict[str, Any]]]:
    """(system prompt, alternating user/assistant messages starting with user)."""
    system = "\n\n".join(m.text() for m in messages if m.role == "system" and m.text())
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": message.role, "content": blocks})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"type": "text", "text": "(begin)"}]})
    return system, turns


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, *, api_key: str, base_url: str | None, timeout: float) -> None:
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url or None,
            timeout=anthropic.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_SECONDS)),
            max_retries=0,
        )

    def _request(self, messages: list[ChatMessage], config: GenerationConfig) -> dict[str, Any]:
        system, turns = to_anthropic(messages)
        request: dict[str, Any] = {
            "model": config.model,
            "messages": turns,
            "max_tokens": config.max_tokens or DEFAULT_MAX_TOKENS,
            "stream": True,
        }
        if system:
            request["system"] = system
        if config.temperature is not None:
            # Newer SDKs dropped the keyword; the API still takes the field (range 0..1).
            request["extra_body"] = {"temperature": min(config.temperature, 1.0)}
        if config.json_schema is not None:
            request["tools"] = [
                {
                    "name": ANSWER_TOOL,
                    "description": "Submit the answer.",
                    "input_schema": config.json_schema,
                }
            ]
            request["tool_choice"] = {"type": "tool", "name": ANSWER_TOOL}
        return {**request, **config.extra}

    async def stream(
        self, messages: list[ChatMessage], config: GenerationConfig
    ) -> AsyncIterator[Chunk]:
        usage, stop = Usage(), None
        with translated(self.name, anthropic):
            events = await self._client.messages.create(**self._request(messages, config))
            async with events:  # closed at once when the job is cancelled mid-reply
                async for event in events:
                    if event.type == "message_start":
                        usage.input_tokens = event.message.usage.input_tokens
                    elif event.type == "content_block_delta":
                        delta = event.delta
                        text = getattr(delta, "text", None) or getattr(
                            delta, "partial_json", None
                        )
                        if text:
                            yield Chunk(delta=text)
                    elif event.type == "message_delta":
                        usage.output_tokens = event.usage.output_tokens
                        stop = event.delta.stop_reason
        if stop == "refusal":
            yield Chunk(refusal="the model declined to answer")
        yield Chunk(usage=usage, finish_reason=stop)

    async def list_models(self) -> list[ModelInfo]:
        with translated(self.name, anthropic):
            return [
                ModelInfo(
                    id=f"anthropic/{m.id}",
                    provider=self.name,
                    name=getattr(m, "display_name", m.id),
                )
                async for m in self._client.models.list()
            ]

    async def aclose(self) -> None:
        await self._client.close()
