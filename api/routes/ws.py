"""`WS /api/ws`: job events multiplexed over one socket, plus commands.

Client frames (JSON):
    {"op": "subscribe", "job_id": "...", "after": "<event id>"}   (after is optional)
    {"op": "unsubscribe", "job_id": "..."}
    {"op": "cancel", "job_id": "..."}
    {"op": "message", "conversation_id": "...", "content": "...", "model": "...",
     "multitask_strategy": "enqueue"}                           (model, strategy optional)
    {"op": "ping"}
Server frames:
    {"type": "event", "job_id": "...", "id": "<event id>", "event": "<type>", "data": {...}}
    {"type": "subscribed" | "unsubscribed" | "cancelled", "job_id": "..."}
    {"type": "message_accepted", "message": {...}, "job": {...}}   (then the reply's events)
    {"type": "pong"} and {"type": "error", "code": "...", "message": "...", "job_id": ...}
Event ids are those of the SSE stream. Authenticate with HTTP Basic or `?token=` (one job).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from api.auth import Principal
from api.deps import State, stream_reader
from api.services.conversations import ConversationService
from api.services.event_ids import parse_after
from api.services.jobs import JobService, job_out
from shared.errors import Forbidden, Invalid, SwitchyardError
from shared.eventlog import StoredEvent
from shared.logging import get_logger
from shared.schemas.conversations import MessageCreate, MessageOut

router = APIRouter(tags=["jobs"])
log = get_logger(__name__)

_OUTBOX_SIZE = 4096
_MAX_SUBSCRIPTIONS = 100


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise Invalid("after must be an event id string such as 1795525296763-0", field="after")


def _event_frame(job_id: str, event: StoredEvent) -> str:
    # `data` is already JSON: splice it in rather than parse and re-encode it.
    return (
        f'{{"type":"event","job_id":"{job_id}","id":"{event.id}",'
        f'"event":"{event.type}","data":{event.data}}}'
    )


class Connection:
    def __init__(self, websocket: WebSocket, state: State, principal: Principal) -> None:
        self.websocket = websocket
        self.state = state
        self.principal = principal
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue(_OUTBOX_SIZE)
        self.followers: dict[str, asyncio.Task[None]] = {}

    def send(self, frame: dict[str, Any] | str) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            # The client reads too slowly: drop it; it reconnects and resumes by id.
            self.outbox = asyncio.Queue(1)
            self.outbox.put_nowait(None)

    async def writer(self) -> None:
        while True:
            frame = await self.outbox.get()
            if frame is None:
                await self.websocket.close(code=1013, reason="too slow; resume by event id")
                return
            await self.websocket.send_text(frame)

    async def handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        job_id = str(message.get("job_id", ""))
        try:
            if op == "ping":
                self.send({"type": "pong"})
            elif op == "subscribe":
                await self.subscribe(UUID(job_id), parse_after(_text(message.get("after"))))
            elif op == "unsubscribe":
                self.unsubscribe(job_id)
            elif op == "cancel":
                await self.cancel(UUID(job_id))
            elif op == "message":
                await self.post_message(message)
            else:
                self.send({"type": "error", "code": "bad_request", "message": f"unknown op {op!r}"})
        except SwitchyardError as exc:
            self.send({"type": "error", "code": exc.code, "message": exc.message, "job_id": job_id})
        except ValueError:
            self.send(
                {
                    "type": "error",
                    "code": "invalid",
                    "message": "job_id must be a UUID",
                    "job_id": job_id,
                }
            )

    async def subscribe(self, job_id: UUID, after: str | None) -> None:
        key = str(job_id)
        if len(self.followers) >= _MAX_SUBSCRIPTIONS:
            self.send(
                {
                    "type": "error",
                    "code": "too_many_subscriptions",
                    "job_id": key,
                    "message": f"at most {_MAX_SUBSCRIPTIONS} jobs per socket",
                }
            )
            return
        async with self.state.sessions() as session:
            job = await JobService(self.state, session).owned(self.principal, job_id)
        self.unsubscribe(key, announce=False)
        self.send({"type": "subscribed", "job_id": key})
        self.followers[key] = asyncio.create_task(self._follow(job, after))

    async def _follow(self, job: Any, after: str | None) -> None:
        key, last = str(job.id), None
        async for event in self.state.follower.follow(job, after):
            self.send(_event_frame(key, event))
            last = event
        self.followers.pop(key, None)
        seen = last.id if last else after
        if last is not None and last.type == "done":
            return
        if seen is not None and await self.state.events.is_done(job.id, seen):
            return  # the client already had the whole log
        # The relay dropped this job's feed (it fell too far behind): say where to resume.
        self.send(
            {
                "type": "error",
                "code": "fell_behind",
                "job_id": key,
                "after": seen,
                "message": "this job's events fell behind; subscribe again with `after`",
            }
        )

    def unsubscribe(self, job_id: str, *, announce: bool = True) -> None:
        task = self.followers.pop(job_id, None)
        if task is not None:
            task.cancel()
        if announce:
            self.send({"type": "unsubscribed", "job_id": job_id})

    async def post_message(self, frame: dict[str, Any]) -> None:
        """Send a message to a conversation and follow its reply on this socket."""
        if self.principal.job_scope is not None:
            raise Forbidden("a stream token only reads its own job; sign in to send messages")
        try:
            conversation_id = UUID(str(frame.get("conversation_id", "")))
            body = MessageCreate.model_validate(
                {k: v for k, v in frame.items() if k not in ("op", "conversation_id")}
            )
        except (ValueError, ValidationError) as exc:
            self.send({"type": "error", "code": "invalid", "message": str(exc)})
            return
        async with self.state.sessions() as session:
            service = ConversationService(self.state, session)
            conversation = await service.owned(self.principal, conversation_id)
            stored, job = await service.post_message(
                self.principal, conversation, body, request_id=None
            )
            accepted = {
                "type": "message_accepted",
                "message": MessageOut.model_validate(stored).model_dump(mode="json"),
                "job": job_out(job).model_dump(mode="json"),
            }
        self.send(accepted)
        self.followers[str(job.id)] = asyncio.create_task(self._follow(job, None))

    async def cancel(self, job_id: UUID) -> None:
        async with self.state.sessions() as session:
            service = JobService(self.state, session)
            await service.cancel(await service.owned(self.principal, job_id))
        self.send({"type": "cancelled", "job_id": str(job_id)})

    async def close(self) -> None:
        for task in self.followers.values():
            task.cancel()
        for task in self.followers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task


@router.websocket("/api/ws")
async def events_socket(websocket: WebSocket, state: State, token: str | None = None) -> None:
    try:
        principal = await stream_reader(websocket, state, token)
    except SwitchyardError as exc:
        await websocket.close(code=1008, reason=exc.message)  # the handshake answers 403
        return
    await websocket.accept()
    connection = Connection(websocket, state, principal)
    writer = asyncio.create_task(connection.writer())
    try:
        while True:
            try:
                message = await websocket.receive_json()
            except (json.JSONDecodeError, KeyError):
                connection.send(
                    {
                        "type": "error",
                        "code": "bad_request",
                        "message": "frames must be JSON objects",
                    }
                )
                continue
            if isinstance(message, dict):
                await connection.handle(message)
    except WebSocketDisconnect:
        pass
    finally:
        await connection.close()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
