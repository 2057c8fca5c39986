"""Model names as older frontends send them (`gpt-4`, `claude-3-haiku`, or a provider and a
model apart) made native (`provider/model`).

A bare name goes to the provider that makes it when that provider is configured here;
otherwise to the caller's default model, because the older backends served one provider and
a frontend naming a model meant "the model". A `provider/model` name is checked as native.
"""

from __future__ import annotations

from api.auth import Principal
from api.services import agents
from api.state import AppState
from shared.providers import check_model
from shared.schemas.job_state import JobKind

_MAKERS = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("claude", "anthropic"),
)


async def native_model(
    state: AppState,
    principal: Principal,
    name: str | None,
    *,
    provider: str | None = None,
    kind: JobKind = JobKind.chat,
) -> str:
    providers = state.settings.providers
    if name and "/" in name:
        return check_model(name, providers)
    if name and provider:
        return check_model(f"{provider.lower()}/{name}", providers)
    maker = next((p for prefix, p in _MAKERS if name and name.startswith(prefix)), None)
    if name and maker in providers.configured():
        return f"{maker}/{name}"
    return await agents.resolve_model(state.redis, principal, kind, None, providers)


async def catalogue_model(state: AppState, principal: Principal, name: str) -> str:
    """An OpenRouter catalogue name (`vendor/model`, as 003's frontend sends it) made native.

    A name whose vendor is a provider configured here is native as it is (`openai/gpt-4o`);
    any other (`meta-llama/llama-3.1-8b-instruct`, or `openai/...` without an OpenAI key) goes
    through OpenRouter, which serves exactly those names; without OpenRouter, to the caller's
    default model, as a bare name does (the document's backend served every name it was sent).
    """
    providers = state.settings.providers
    vendor = name.partition("/")[0]
    configured = providers.configured()
    if vendor in configured or vendor == "openrouter":
        return check_model(name, providers)
    if "openrouter" in configured:
        return check_model(f"openrouter/{name}", providers)
    return await agents.resolve_model(state.redis, principal, JobKind.chat, None, providers)
