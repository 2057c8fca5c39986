"""Provider names the API may accept in `provider/model`, and the mock provider's models.

The adapters themselves live in the worker; the API only validates names against this list
and the configured keys.
"""

from __future__ import annotations

from shared.errors import Invalid
from shared.settings import ProviderSettings

PROVIDER_NAMES = ("mock", "openai", "anthropic", "openrouter")
MOCK_MODELS = ("echo", "echo-slow", "fail", "judge")


def check_model(model: str, settings: ProviderSettings) -> str:
    """Return `model` if a configured provider can serve it, else raise `Invalid` naming why."""
    provider, _, name = model.partition("/")
    if provider not in PROVIDER_NAMES:
        raise Invalid(
            f"unknown provider {provider!r} in model {model!r}; "
            f"use one of: {', '.join(PROVIDER_NAMES)}",
            field="model",
        )
    if provider not in settings.configured():
        raise Invalid(
            f"provider {provider!r} is not configured on this server (no API key)", field="model"
        )
    if provider == "mock" and name not in MOCK_MODELS:
        choices = ", ".join(f"mock/{m}" for m in MOCK_MODELS)
        raise Invalid(f"mock has no model {name!r}; use one of: {choices}", field="model")
    return model
