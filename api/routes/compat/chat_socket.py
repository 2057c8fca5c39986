"""`WS /ws/chat`, which two documents define; the first frame tells which one is calling:

    {"messages": [...], ...}                  the coding assistant (seeds/002)
    {"event": "user_message", "message": ...}  the chat app (seeds/004); a bare
    {"message": ...} too, as its server code reads only `message`

Frames are answered one at a time, in order. Authenticate with HTTP Basic (DEV_MODE: none).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.deps import State, stream_reader
from api.routes.compat.chat_app import ChatAppSocket
from api.routes.compat.coding_assistant import AssistantSocket
from shared.errors import SwitchyardError

router = APIRouter()

_UNKNOWN = "send {messages, ...} (coding assistant) or {event: 'user_message', message} (chat app)"


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket, state: State) -> None:
    try:
        principal = await stream_reader(websocket, state, None)
    except SwitchyardError as exc:
        await websocket.close(code=1008, reason=exc.message)  # the handshake answers 403
        return
    await websocket.accept()
    dialect: AssistantSocket | ChatAppSocket | None = None
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            frame = await _receive(websocket)
            if frame is not None and dialect is None:
                if "messages" in frame:
                    dialect = AssistantSocket(websocket, state, principal)
                elif {"event", "message", "type"} & frame.keys():
                    dialect = ChatAppSocket(websocket, state, principal)
            if frame is None or dialect is None:
                await websocket.send_json(_unknown(_UNKNOWN))
                continue
            await dialect.handle(frame)


def _unknown(message: str) -> dict[str, Any]:
    """An error both dialects can read (the assistant reads `content`, the app `message`)."""
    return {"type": "error", "content": message, "event": "error", "message": message}


async def _receive(websocket: WebSocket) -> dict[str, Any] | None:
    text = await websocket.receive_text()
    try:
        frame = json.loads(text)
    except json.JSONDecodeError:
        return None
    return frame if isinstance(frame, dict) else None
