"""Cost of a reply from a price table: USD per million input and output tokens per model.

`MODEL_PRICES` (JSON, e.g. `{"openai/gpt-4o-mini": [0.15, 0.6]}`) adds to or overrides the
defaults below; a model in neither costs 0.
"""

from __future__ import annotations

from shared.schemas.job_state import Usage

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "openai/gpt-4o-mini": (0.15, 0.60),
    "openai/gpt-4o": (2.50, 10.00),
    "openai/gpt-4.1-mini": (0.40, 1.60),
    "anthropic/claude-sonnet-4-5": (3.00, 15.00),
    "anthropic/claude-haiku-4-5": (1.00, 5.00),
    "openrouter/meta-llama/llama-3.1-8b-instruct": (0.02, 0.03),
}


class PriceTable:
    def __init__(self, overrides: dict[str, list[float]] | None = None) -> None:
        self.prices = dict(DEFAULT_PRICES)
        for model, (input_price, output_price) in (overrides or {}).items():
            self.prices[model] = (float(input_price), float(output_price))

    def priced(self, model: str, usage: Usage) -> Usage:
        input_price, output_price = self.prices.get(model, (0.0, 0.0))
        cost = (usage.input_tokens * input_price + usage.output_tokens * output_price) / 1e6
        return usage.model_copy(update={"cost": round(cost, 8)})
