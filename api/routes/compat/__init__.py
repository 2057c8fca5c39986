"""The older APIs that frontends were written against (the five documents in the design's
seeds), served as their documents show them over the native services; docs/compat.md gives
every route's shapes and the choices made where a document showed none. One module per
document:

    team_split        000 the team task split: /optimize, /debug, /run, /metrics (JSON),
                          /agent/switch, WS /stream
    agent_run         001 the two-agent run plan: /api/run, /api/stream/{id}, bot patch,
                          stop, export
    coding_assistant  002 the coding assistant: /, /api/chat, execute, validate, tasks, judge
    openrouter_chat   003 the OpenRouter chat: /models, /conversations/...
    chat_app          004 the chat app: /chats, /chat, /generate, /stats
    chat_socket           WS /ws/chat, which 002 and 004 share (the first frame decides)

`router` carries them, tagged `compat`, and is included after the native routers. Two paths
are shared with the native API and decided by what the request carries (`shared_paths`):
`shared` holds those routes, included before the native ones and hidden from the schema:
`POST /api/chat` (002's body carries `current_code` or `proactive`) and `GET /metrics`
(`Accept: application/json` is 000's dashboard; a scraper gets Prometheus text).
"""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.compat import (
    agent_run,
    chat_app,
    chat_socket,
    coding_assistant,
    openrouter_chat,
    team_split,
)

router = APIRouter(tags=["compat"])
for module in (team_split, agent_run, coding_assistant, openrouter_chat, chat_app, chat_socket):
    router.include_router(module.router)

shared = APIRouter(tags=["compat"])
for module in (coding_assistant, team_split):
    shared.include_router(module.shared)
