from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, State
from api.services.models import catalogue
from shared.schemas.models import ModelCatalogue

router = APIRouter(tags=["models"])


@router.get("/api/models", response_model=ModelCatalogue)
async def list_models(
    principal: CurrentUser,
    state: State,
    refresh: Annotated[bool, Query(description="fetch from the providers now")] = False,
) -> ModelCatalogue:
    """Models of every configured provider (and `mock/*`), cached for an hour across replicas."""
    return await catalogue(state, refresh=refresh)
