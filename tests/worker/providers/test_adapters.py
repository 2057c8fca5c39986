"""Each adapter through its official SDK against the wire-faithful fake (no SDK patching)."""

from __future__ import annotations

import time

import pytest

from shared.errors import ProviderRejected, ProviderRetryable
from shared.schemas.chat import ChatMessage
from shared.settings import ProviderSettings
from tests.fakes.control import FakeProviders
from worker.providers.base import Chunk, GenerationConfig, Provider
from worker.providers.registry import ProviderRegistry

PNG_URL = "data:image/png;base64,iVBORw0KGgo="
CHAT = [
    ChatMessage(role="system", content="Be brief."),
    ChatMessage(role="user", content="Hi"),
    ChatMessage(role="assistant", content="Hello."),
    ChatMessage(role="user", content="Tell me"),
    ChatMessage(
        role="user",
        content=[
            {"type": "text", "text": "about this"},
            {"type": "image_url", "image_url": {"url": PNG_URL}},
        ],
    ),
]


@pytest.fixture
async def registry(fake: FakeProviders):  # type: ignore[no-untyped-def]
    settings = ProviderSettings(
        **{k.lower(): v for k, v in fake.env().items()},
        provider_max_retries=2,
        model_prices={"openai/m": [1.0, 2.0]},
    )
    providers = ProviderRegistry.from_settings(settings)
    yield providers
    await providers.aclose()


async def _collect(provider: Provider, model: str = "m", **config: object) -> list[Chunk]:
    return [c async for c in provider.stream(CHAT, GenerationConfig(model=model, **config))]  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["openai", "anthropic", "openrouter"])
async def test_streams_the_reply_with_usage(
    registry: ProviderRegistry, fake: FakeProviders, name: str
) -> None:
    fake.script(reply="Tides rise twice a day.", usage={"input_tokens": 21, "output_tokens": 6})
    provider, _ = registry.resolve(f"{name}/m")
    chunks = await _collect(provider, max_tokens=50, temperature=0.2)
    assert "".join(c.delta for c in chunks) == "Tides rise twice a day."
    assert len([c for c in chunks if c.delta]) == 5
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.input_tokens, chunks[-1].usage.output_tokens) == (21, 6)


async def test_openai_gets_openai_shaped_messages_and_images(
    registry: ProviderRegistry, fake: FakeProviders
) -> None:
    provider, _ = registry.resolve("openai/m")
    chunks = await _collect(provider, max_tokens=50)
    body = fake.requests("/v1/chat/completions")[0]["body"]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user", "user"]
    assert body["messages"][4]["content"][1] == {"type": "image_url", "image_url": {"url": PNG_URL}}
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 50
    assert chunks[-1].usage is not None and chunks[-1].usage.cost == round((11 + 14) / 1e6, 8)


async def test_anthropic_gets_system_apart_and_alternating_roles(
    registry: ProviderRegistry, fake: FakeProviders
) -> None:
    provider, _ = registry.resolve("anthropic/claude-x")
    await _collect(provider, model="claude-x", temperature=1.7)
    request = fake.requests("/v1/messages")[0]
    body = request["body"]
    assert body["system"] == "Be brief."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    merged = body["messages"][2]["content"]
    assert [b["type"] for b in merged] == ["text", "text", "image"]
    assert merged[2]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": "iVBORw0KGgo=",
    }
    assert body["max_tokens"] == 1024 and body["temperature"] == 1.0
    assert "anthropic-version" in request["headers"]


async def test_openrouter_sends_attribution_headers(
    registry: ProviderRegistry, fake: FakeProviders
) -> None:
    provider, _ = registry.resolve("openrouter/meta-llama/llama-3.1-8b-instruct")
    await _collect(provider, model="meta-llama/llama-3.1-8b-instruct")
    request = fake.requests("/openrouter/v1/chat/completions")[0]
    assert request["headers"]["http-referer"] == "https://switchyard.test"
    assert request["headers"]["x-title"] == "Switchyard Tests"
    assert request["body"]["model"] == "meta-llama/llama-3.1-8b-instruct"


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_429_with_retry_after_is_retried_after_that_delay(
    registry: ProviderRegistry, fake: FakeProviders, name: str
) -> None:
    fake.script(faults=[{"status": 429, "retry_after": 1}], reply="after the wait")
    provider, _ = registry.resolve(f"{name}/m")
    started = time.monotonic()
    chunks = await _collect(provider)
    assert time.monotonic() - started >= 0.95
    assert "".join(c.delta for c in chunks) == "after the wait"
    assert len(fake.requests()) == 2


async def test_500_is_retried_then_gives_up(
    registry: ProviderRegistry, fake: FakeProviders
) -> None:
    fake.script(faults=[{"status": 500}, {"status": 500}, {"status": 500}])
    provider, _ = registry.resolve("openai/m")
    with pytest.raises(ProviderRetryable, match="500"):
        await _collect(provider)
    assert len(fake.requests()) == 3  # one try and two retries


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_a_drop_mid_stream_is_retryable_and_not_retried(
    registry: ProviderRegistry, fake: FakeProviders, name: str
) -> None:
    fake.script(faults=[{"drop_after": 2}], reply="one two three four")
    provider, _ = registry.resolve(f"{name}/m")
    seen: list[str] = []
    with pytest.raises(ProviderRetryable):
        async for chunk in provider.stream(CHAT, GenerationConfig(model="m")):
            seen.append(chunk.delta)
    assert "".join(seen) == "one two "
    assert len(fake.requests()) == 1


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_a_400_is_rejected_and_not_retried(
    registry: ProviderRegistry, fake: FakeProviders, name: str
) -> None:
    fake.script(faults=[{"status": 400}])
    provider, _ = registry.resolve(f"{name}/m")
    with pytest.raises(ProviderRejected, match="400"):
        await _collect(provider)
    assert len(fake.requests()) == 1


async def test_a_dead_endpoint_is_retryable(fake: FakeProviders) -> None:
    settings = ProviderSettings(
        openai_api_key="k", openai_base_url="http://127.0.0.1:9/v1", provider_max_retries=0
    )
    registry = ProviderRegistry.from_settings(settings)
    provider, _ = registry.resolve("openai/m")
    with pytest.raises(ProviderRetryable, match="connection"):
        await _collect(provider)
    await registry.aclose()


async def test_structured_output_is_forced(registry: ProviderRegistry, fake: FakeProviders) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    fake.script(reply='{"ok": true}')
    for name in ("openai", "anthropic"):
        provider, _ = registry.resolve(f"{name}/m")
        chunks = await _collect(provider, json_schema=schema)
        assert "".join(c.delta for c in chunks) == '{"ok": true}'
    openai_body = fake.requests("/v1/chat/completions")[0]["body"]
    assert openai_body["response_format"]["json_schema"]["schema"] == schema
    anthropic_body = fake.requests("/v1/messages")[0]["body"]
    assert anthropic_body["tool_choice"] == {"type": "tool", "name": "submit_answer"}
    assert anthropic_body["tools"][0]["input_schema"] == schema


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_list_models(registry: ProviderRegistry, name: str) -> None:
    provider, _ = registry.resolve(f"{name}/m")
    assert [m.id for m in await provider.list_models()] == [
        f"{name}/fake-small",
        f"{name}/fake-large",
    ]
