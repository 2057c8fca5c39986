from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ModelEntry(BaseModel):
    id: str = Field(description="`provider/model`, as jobs name it")
    provider: str
    name: str = ""
    context_length: int | None = None


class ModelCatalogue(BaseModel):
    """Models of every configured provider, fetched by a worker and shared through Redis."""

    models: list[ModelEntry]
    errors: dict[str, str] = Field(
        default_factory=dict, description="providers that failed to list, with the reason"
    )
    fetched_at: datetime
    cached: bool = True
