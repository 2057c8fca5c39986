"""Builds the configured providers once per worker process and resolves `provider/model` names.

Every provider is wrapped once: retries (`providers.retry`) and cost (`providers.pricing`) live
here, so adapters only speak their SDK and handlers only see the protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from shared.errors import Invalid
from shared.schemas.chat import ChatMessage
from shared.settings import ProviderSettings
from worker.providers.anthropic import AnthropicProvider
from worker.providers.base import Chunk, GenerationConfig, ModelInfo, Provider, split_model
from worker.providers.mock import MockProvider
from worker.providers.openai import OpenAIProvider
from worker.providers.pricing import PriceTable
from worker.providers.retry import stream_with_retries


class ManagedProvider:
    """A provider with the retry layer and the price table applied."""

    def __init__(self, provider: Provider, retries: int, prices: PriceTable) -> None:
        self.inner = provider
        self.name = provider.name
        self._retries = retries
        self._prices = prices

    async def stream(
        self, messages: list[ChatMessage], config: GenerationConfig
    ) -> AsyncIterator[Chunk]:
        model = f"{self.name}/{config.model}"
        async for chunk in stream_with_retries(self.inner, messages, config, retries=self._retries):
            if chunk.usage is not None:
                chunk.usage = self._prices.priced(model, chunk.usage)
            yield chunk

    async def list_models(self) -> list[ModelInfo]:
        return await self.inner.list_models()

    async def aclose(self) -> None:
        await self.inner.aclose()


def _build(settings: ProviderSettings) -> list[Provider]:
    timeout = settings.provider_timeout_seconds
    providers: list[Provider] = [MockProvider(token_delay_ms=settings.mock_token_delay_ms)]
    if settings.openai_api_key:
        providers.append(
            OpenAIProvider(
                "openai",
                api_key=settings.openai_api_key,
                base_url=settings.openai_base_url,
                timeout=timeout,
            )
        )
    if settings.anthropic_api_key:
        providers.append(
            AnthropicProvider(
                api_key=settings.anthropic_api_key,
                base_url=settings.anthropic_base_url,
                timeout=timeout,
            )
        )
    if settings.openrouter_api_key:
        attribution = {"HTTP-Referer": settings.app_url, "X-Title": settings.app_title}
        providers.append(
            OpenAIProvider(
                "openrouter",
                api_key=settings.openrouter_api_key,
                base_url=settings.openrouter_base_url,
                timeout=timeout,
                headers=attribution,
            )
        )
    return providers


class ProviderRegistry:
    def __init__(self, providers: dict[str, Provider]) -> None:
        self._providers = providers

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> ProviderRegistry:
        prices = PriceTable(settings.model_prices)
        return cls(
            {
                provider.name: ManagedProvider(provider, settings.provider_max_retries, prices)
                for provider in _build(settings)
            }
        )

    def resolve(self, model: str) -> tuple[Provider, str]:
        """`openai/gpt-4o-mini` -> (the openai provider, `gpt-4o-mini`)."""
        name, model_id = split_model(model)
        provider = self._providers.get(name)
        if provider is None or not model_id:
            known = ", ".join(sorted(self._providers))
            raise Invalid(f"unknown or unconfigured provider in model {model!r} (have: {known})")
        return provider, model_id

    def all(self) -> list[Provider]:
        return list(self._providers.values())

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
