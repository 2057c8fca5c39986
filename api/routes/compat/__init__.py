"""The older APIs that frontends were written against, as thin mappings onto the native
routes and services; docs/compat.md gives every route's shapes. One module per source API:

    runs         the two-agent run plan
    coding       the coding assistant (HTTP)
    openrouter   the OpenRouter chat
    chat_app     the chat app (HTTP)
    team         the team task split (HTTP and `WS /stream`)
    chat_socket  `WS /ws/chat`, shared by the coding assistant and the chat app

`router` carries them all, tagged `compat`. It is included before the native routers because
the coding assistant's `POST /api/chat` shares the native path and must see a request first;
no other compat path collides with a native one (tests/api/test_compat_routes.py checks).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.compat import chat_app, chat_socket, coding, openrouter, runs, team

router = APIRouter(tags=["compat"])
for module in (runs, coding, openrouter, chat_app, team, chat_socket):
    router.include_router(module.router)
