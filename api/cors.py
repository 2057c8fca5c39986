"""Cross-origin requests, for browser frontends served from another origin (Starlette's
CORSMiddleware): the origins in CORS_ORIGINS, and under DEV_MODE also the local dev servers
the older APIs' documents name (Vite on 5173, React on 3000). Only listed origins are answered,
credentials included; there is no wildcard."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

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
        CORSMiddleware,
        allow_origins=origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["Location", "X-Request-ID", "Retry-After"],
        max_age=600,
    )
