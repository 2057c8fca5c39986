"""FastAPI dependencies: the process state, a request-scoped session, and who is calling."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from api.auth import DEV_USER, Principal
from api.state import AppState
from shared.errors import NotFound, Unauthorized
from shared.repositories.users import UserRepository


async def get_state(connection: HTTPConnection) -> AppState:
    # async on purpose: FastAPI runs a plain `def` dependency in a thread, on every request.
    state: AppState | None = getattr(connection.app.state, "switchyard", None)
    if state is None:
        raise RuntimeError("the API's resources are missing: was the lifespan run?")
    return state


State = Annotated[AppState, Depends(get_state)]


async def get_session(state: State) -> AsyncIterator[AsyncSession]:
    """One session per request; the route commits what it means to keep."""
    async with state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def _from_header(state: AppState, authorization: str | None) -> Principal:
    if state.settings.auth.dev_mode:
        return await dev_principal(state)
    if not authorization:
        raise Unauthorized("authentication required (HTTP Basic)")
    scheme, _, credentials = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthorized("malformed Basic credentials") from exc
        name, sep, password = decoded.partition(":")
        if not sep:
            raise Unauthorized("malformed Basic credentials")
        return await state.auth.basic(name, password)
    if scheme == "bearer":
        # OpenAI clients send their key as a Bearer token: accept `user:password` there.
        name, sep, password = credentials.partition(":")
        if sep:
            return await state.auth.basic(name, password)
    raise Unauthorized("unsupported authorization scheme; use HTTP Basic")


async def dev_principal(state: AppState) -> Principal:
    """In DEV_MODE every request acts as the user `dev` (created on first use)."""
    if state.dev_user is None:
        async with state.sessions.begin() as session:
            user = await UserRepository(session).get_by_name(DEV_USER)
            if user is None:
                user = await UserRepository(session).upsert(DEV_USER, "!dev-mode-no-password")
        state.dev_user = Principal(user.id, user.name)
    return state.dev_user


async def current_user(request: Request, state: State) -> Principal:
    principal = await _from_header(state, request.headers.get("authorization"))
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


async def stream_reader(
    connection: HTTPConnection,
    state: State,
    token: Annotated[
        str | None, Query(description="a stream token from POST /api/jobs/{id}/token")
    ] = None,
) -> Principal:
    """Basic auth, or a signed token scoped to one job (for EventSource and WebSocket)."""
    if token and not state.settings.auth.dev_mode:
        return state.auth.verify_stream_token(token)
    return await _from_header(state, connection.headers.get("authorization"))


StreamReader = Annotated[Principal, Depends(stream_reader)]


def ensure_scope(principal: Principal, job_id: UUID) -> None:
    if principal.job_scope is not None and principal.job_scope != job_id:
        raise NotFound("job not found")
