"""`WS /ws/chat`, spoken by two older frontends; the first frame tells which one is calling.

Coding assistant (a first frame with `messages`): every frame is a one-shot chat job.
    client  {"messages", "model", "max_tokens", "proactive", "current_code"}
    server  {"type": "chunk", "content": <delta>} ... then {"type": "complete", "content": <reply>}
            or {"type": "error", "content": <message>}

Chat app (a first frame with `type`): chats are conversations.
    client  {"type": "user_message", "content": ..., "chat_id": ..., "model": ...}
    server  {"type": "ai_response", "chat_id", "message_id", "content", "model", "complete"}
            then {"type": "backend_status", "chat_id", "job_id", "status", "model",
                  "tokens": {"input", "output", "total"}, "latency_ms"}
    client  {"type": "chat_history", "chat_id": ...}
    server  {"type": "chat_history", "chat_id", "messages": [{id, role, content, ...}]}
    server  {"type": "error", "message": ...}

Frames are answered one at a time, in order. Authenticate with HTTP Basic (a job's stream
token cannot start jobs).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from api.auth import Principal
from api.deps import State, stream_reader
from api.routes.compat import _jobs
from api.routes.compat.coding import AssistantChat
from api.services import agents
from api.services.conversations import ConversationService
from api.services.jobs import JobService
from api.state import AppState
from shared.errors import Invalid, SwitchyardError
from shared.schemas.conversations import MessageCreate, MessageOut
from shared.schemas.job_state import JobKind, JobStatus, Usage

router = APIRouter()

_TITLE_CHARS = 50


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket, state: State) -> None:
    try:
        principal = await stream_reader(websocket, state, None)
    except SwitchyardError as exc:
        await websocket.close(code=1008, reason=exc.message)  # the handshake answers 403
        return
    await websocket.accept()
    dialect: CodingDialect | ChatAppDialect | None = None
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            frame = await _receive(websocket)
            if frame is None:
                continue
            if dialect is None:
                dialect = _dialect_of(frame, websocket, state, principal)
                if dialect is None:
                    await websocket.send_json(_UNKNOWN_DIALECT)
                    continue
            await dialect.handle(frame)


_UNKNOWN_DIALECT = {
    "type": "error",
    "content": "send {messages, ...} (coding assistant) or {type: 'user_message', ...}",
    "message": "send {messages, ...} (coding assistant) or {type: 'user_message', ...}",
}


async def _receive(websocket: WebSocket) -> dict[str, Any] | None:
    text = await websocket.receive_text()
    try:
        frame = json.loads(text)
    except json.JSONDecodeError:
        frame = None
    if not isinstance(frame, dict):
        await websocket.send_json({**_UNKNOWN_DIALECT, "content": "frames must be JSON objects"})
        return None
    return frame


def _dialect_of(
    frame: dict[str, Any], websocket: WebSocket, state: AppState, principal: Principal
) -> CodingDialect | ChatAppDialect | None:
    if "messages" in frame:
        return CodingDialect(websocket, state, principal)
    if "type" in frame:
        return ChatAppDialect(websocket, state, principal)
    return None


class CodingDialect:
    """Each frame is a one-shot chat job; its tokens come back as `chunk` frames."""

    def __init__(self, websocket: WebSocket, state: AppState, principal: Principal) -> None:
        self.websocket = websocket
        self.state = state
        self.principal = principal

    async def handle(self, frame: dict[str, Any]) -> None:
        try:
            payload = AssistantChat.model_validate(frame).as_chat_input()
            job_id = await self._submit(payload)
            await self._relay(job_id)
        except ValidationError as exc:
            await self._error(_first_problem(exc))
        except SwitchyardError as exc:
            await self._error(exc.message)

    async def _submit(self, payload: Any) -> UUID:
        providers = self.state.settings.providers
        payload.model = await agents.resolve_model(
            self.state.redis, self.principal, JobKind.chat, payload.model, providers
        )
        async with self.state.sessions() as session:
            job = await JobService(self.state, session).submit(
                self.principal, JobKind.chat, payload, model=payload.model
            )
        return job.id

    async def _relay(self, job_id: UUID) -> None:
        async with self.state.sessions() as session:
            job = await _jobs.reload(session, job_id)
        async for event in self.state.follower.follow(job, None):
            if event.type == "token":
                delta = json.loads(event.data)["delta"]
                await self.websocket.send_json({"type": "chunk", "content": delta})
        async with self.state.sessions() as session:
            job = await _jobs.reload(session, job_id)
        try:
            result = _jobs.result_of(job)
        except SwitchyardError as exc:
            await self._error(exc.message)
            return
        await self.websocket.send_json({"type": "complete", "content": result["content"]})

    async def _error(self, message: str) -> None:
        await self.websocket.send_json({"type": "error", "content": message})


class ChatAppDialect:
    """`user_message` posts to a conversation (created on the first message) and answers with
    the whole reply and its backend figures; `chat_history` answers the stored messages."""

    def __init__(self, websocket: WebSocket, state: AppState, principal: Principal) -> None:
        self.websocket = websocket
        self.state = state
        self.principal = principal

    async def handle(self, frame: dict[str, Any]) -> None:
        try:
            kind = frame.get("type")
            if kind == "user_message":
                await self._user_message(frame)
            elif kind == "chat_history":
                await self._history(_chat_id(frame))
            else:
                raise Invalid(f"unknown type {kind!r}; send user_message or chat_history")
        except ValidationError as exc:
            await self._error(_first_problem(exc))
        except SwitchyardError as exc:
            await self._error(exc.message)

    async def _user_message(self, frame: dict[str, Any]) -> None:
        body = MessageCreate(content=frame.get("content") or "", model=frame.get("model"))
        async with self.state.sessions() as session:
            service = ConversationService(self.state, session)
            if frame.get("chat_id"):
                conversation = await service.owned(self.principal, _chat_id(frame))
            else:
                conversation = await service.conversations.create(
                    self.principal.user_id, title=body.content[:_TITLE_CHARS]
                )
            chat_id = conversation.id
            _, job = await service.post_message(self.principal, conversation, body, request_id=None)
        async for _ in self.state.follower.follow(job, None):
            pass
        async with self.state.sessions() as session:
            job = await _jobs.reload(session, job.id)
            reply = await reply_to(ConversationService(self.state, session), job)
        if reply is None:
            await self._error(_jobs.job_error(job).message)
        else:
            await self.websocket.send_json(
                {"type": "ai_response", "chat_id": str(chat_id), **_message_fields(reply)}
            )
        await self.websocket.send_json(backend_status(job, chat_id))

    async def _history(self, chat_id: UUID) -> None:
        async with self.state.sessions() as session:
            service = ConversationService(self.state, session)
            await service.owned(self.principal, chat_id)
            messages = await service.messages.ordered(chat_id)
            listed = [MessageOut.model_validate(m).model_dump(mode="json") for m in messages]
        await self.websocket.send_json(
            {"type": "chat_history", "chat_id": str(chat_id), "messages": listed}
        )

    async def _error(self, message: str) -> None:
        await self.websocket.send_json({"type": "error", "message": message})


def backend_status(job: Any, chat_id: UUID | None = None) -> dict[str, Any]:
    """What the chat app shows under a reply: the job's status, tokens and latency."""
    usage = Usage.model_validate(job.usage or {})
    return {
        "type": "backend_status",
        "chat_id": str(chat_id) if chat_id else None,
        "job_id": str(job.id),
        "status": JobStatus(job.status).value,
        "model": job.model,
        "tokens": {
            "input": usage.input_tokens,
            "output": usage.output_tokens,
            "total": usage.input_tokens + usage.output_tokens,
        },
        "latency_ms": _jobs.latency_ms(job),
    }


async def reply_to(service: ConversationService, job: Any) -> Any:
    """The assistant message a conversation reply job stored, if it stored one."""
    messages = await service.messages.ordered(job.conversation_id)
    stored = [m for m in messages if m.role == "assistant" and m.job_id == job.id]
    return stored[0] if stored else None


def _message_fields(message: Any) -> dict[str, Any]:
    out = MessageOut.model_validate(message)
    return {
        "message_id": str(out.id),
        "content": out.content,
        "model": out.model,
        "complete": out.complete,
    }


def _chat_id(frame: dict[str, Any]) -> UUID:
    try:
        return UUID(str(frame.get("chat_id", "")))
    except ValueError as exc:
        raise Invalid("chat_id must be a UUID", field="chat_id") from exc


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "frame"
    return f"{field}: {first['msg']}"
