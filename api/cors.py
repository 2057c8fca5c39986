"""Cross-origin requests, for browser frontends served from another origin (Starlette's
CORSMiddleware): the origins in CORS_ORIGINS, and under DEV_MODE also the local dev servers
the older APIs' documents name (Vite on 5173, React on 3000). Only listed origins are answered,
credentials included; there is no wildcard."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Send

from shared.settings import Settings

DEV_ORIGINS = (
    "http://localhost:5173",
    "http://127.0.0.1:5173",
    "http://localhost:3000",
    "http://127.0.0.1:3000",
)


def allowed_origins(settings: Settings) -> list[str]:
    origins = list(settings.cors.origins)
    if settings.auth.dev_mode:
        origins += [o for o in DEV_ORIGINS if o not in origins]
    return origins


def add_cors(app: FastAPI, settings: Settings) -> None:
    """Added last, so it is the outermost middleware: errors carry its headers too."""
    origins = allowed_origins(settings)
    if not origins:
        return
    app.add_middleware(
        ListedOriginsOnly,
        allow_origins=origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["Location", "X-Request-ID", "Retry-After"],
        max_age=600,
    )


class ListedOriginsOnly(CORSMiddleware):
    """Starlette's CORS, except that a response to an origin that is not listed carries no
    CORS header at all: Starlette would still send it `Access-Control-Allow-Credentials`
    (harmless without `Allow-Origin`, but credentials are for listed origins only)."""

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if origin is not None and not self.is_allowed_origin(origin=origin):
            raw = [(k, v) for k, v in request_headers.raw if k != b"origin"]
            request_headers = Headers(raw=raw)
        await super().send(message, send, request_headers)
