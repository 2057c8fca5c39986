"""The FastAPI application: `uvicorn api.main:app` (or `create_app()` for tests)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.bootstrap import bootstrap_user
from api.cors import add_cors
from api.metrics import MetricsMiddleware
from api.metrics import router as metrics_router
from api.routes import (
    agents,
    chat,
    compat,
    completions,
    conversations,
    executions,
    health,
    jobs,
    judgments,
    models,
    runs,
    stats,
    ws,
)
from api.state import AppState
from shared.errors import Invalid, RateLimited, SwitchyardError
from shared.logging import configure_logging, get_logger
from shared.settings import Settings, get_settings

log = get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.observability, process="api")
        state = await AppState.build(settings)
        app.state.switchyard = state
        _warn_about_settings(settings)
        await bootstrap_user(state)
        try:
            yield
        finally:
            await state.aclose()

    app = FastAPI(
        title="Switchyard",
        version="0.1.0",
        description="A distributed task-queue backend for LLM work: chat, runs, execute, judge.",
        lifespan=lifespan,
    )
    app.add_exception_handler(SwitchyardError, _render_error)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _render_database_error)  # type: ignore[arg-type]
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    add_cors(app, settings)
    # The paths an older API shares with the native one come first: each claims only the
    # requests its document sends and passes the others on (api/routes/compat/shared_paths.py).
    app.include_router(compat.shared)
    for module in (
        health,
        jobs,
        chat,
        conversations,
        runs,
        judgments,
        executions,
        models,
        completions,
        stats,
        agents,
        ws,
    ):
        app.include_router(module.router)
    app.include_router(metrics_router)
    app.include_router(compat.router)
    return app


async def _render_error(request: Request, exc: SwitchyardError) -> JSONResponse:
    body: dict[str, object] = {"detail": exc.message, "code": exc.code}
    field = getattr(exc, "field", None)
    if field:
        body["field"] = field
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="switchyard"'
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


# Postgres refuses U+0000 in text (22021) and in JSONB (22P05): that is bad input, not a fault.
_NUL_SQLSTATES = {"22021", "22P05"}


async def _render_database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if getattr(exc.orig, "sqlstate", None) in _NUL_SQLSTATES:
        return await _render_error(
            request, Invalid("text may not contain NUL (\\u0000) characters", field="body")
        )
    log.error("database.error", exc_info=exc)
    return JSONResponse(
        {"detail": "internal error; see the server log", "code": "internal_error"},
        status_code=500,
    )


class RequestIdMiddleware:
    """Gives each request an id (the client's `X-Request-ID`, else a new one), binds it to the
    logs and returns it. Plain ASGI: BaseHTTPMiddleware costs every request a task and a
    stream hop, and buffers nothing we need."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")[:64]
        request_id = given or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")


def _warn_about_settings(settings: Settings) -> None:
    if settings.auth.dev_mode:
        log.warning(
            "DEV_MODE IS ON: authentication and rate limits are DISABLED; every request acts "
            "as user 'dev'. Never run this way where anyone else can reach the API."
        )
    if not settings.auth.secret_key:
        log.warning(
            "SECRET_KEY is not set: stream tokens use a random per-process key and will not "
            "verify across API replicas or restarts."
        )


app = create_app()
