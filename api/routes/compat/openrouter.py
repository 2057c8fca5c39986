"""The OpenRouter chat's API, mapped onto conversations and models:

    GET    /models                          -> GET /api/models, as {"data": [...]}
    POST   /conversations                   -> POST /api/conversations
    GET    /conversations                   -> GET /api/conversations, as a plain list
    GET    /conversations/{id}              -> GET /api/conversations/{id}
    PATCH  /conversations/{id}              -> PATCH /api/conversations/{id}
    DELETE /conversations/{id}              -> DELETE /api/conversations/{id}
    GET    /conversations/{id}/messages     -> GET /api/conversations/{id}/messages
    POST   /conversations/{id}/messages     -> stores the user message only (201)
    GET    /conversations/{id}/stream?model= -> enqueues the reply to the last user message
                                               (or follows it) as SSE {content}... {done: true}

In this API the reply starts when the client opens the stream, with the model it names there;
so posting a message stores it and the stream enqueues the reply job. A stream reopened for a
message already answered (or being answered) follows that reply instead of starting another.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import CurrentUser, SessionDep, State
from api.routes import conversations, models
from api.routes.compat import _jobs
from api.services.conversations import ConversationService
from api.services.jobs import JobService
from api.state import AppState
from shared.errors import Conflict
from shared.models import Job
from shared.schemas.chat import ModelName
from shared.schemas.conversations import (
    ConversationCreate,
    ConversationOut,
    ConversationUpdate,
    MessageOut,
)
from shared.schemas.job_state import JobStatus
from shared.schemas.models import ModelEntry

router = APIRouter()


class ModelList(BaseModel):
    data: list[ModelEntry]


@router.get("/models", response_model=ModelList)
async def list_models(principal: CurrentUser, state: State) -> ModelList:
    return ModelList(data=(await models.catalogue(state, refresh=False)).models)


@router.post("/conversations", response_model=ConversationOut, status_code=201)
async def create_conversation(
    body: ConversationCreate,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    response: Response,
) -> ConversationOut:
    return await conversations.create_conversation(body, principal, state, session, response)


@router.get("/conversations", response_model=list[ConversationOut])
async def list_conversations(
    principal: CurrentUser, state: State, session: SessionDep
) -> list[ConversationOut]:
    """The newest 200, most recently used first."""
    page = await conversations.list_conversations(principal, state, session, 200, None)
    return page.items


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
async def get_conversation(
    conversation_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> ConversationOut:
    return await conversations.get_conversation(conversation_id, principal, state, session)


@router.patch("/conversations/{conversation_id}", response_model=ConversationOut)
async def update_conversation(
    conversation_id: UUID,
    body: ConversationUpdate,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> ConversationOut:
    return await conversations.update_conversation(
        conversation_id, body, principal, state, session
    )


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_conversation(
    conversation_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> Response:
    return await conversations.delete_conversation(conversation_id, principal, state, session)


@router.get("/conversations/{conversation_id}/messages", response_model=list[MessageOut])
async def list_messages(
    conversation_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> list[MessageOut]:
    return await conversations.list_messages(conversation_id, principal, state, session)


class UserMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=200_000)
    role: Literal["user"] = "user"


@router.post(
    "/conversations/{conversation_id}/messages", response_model=MessageOut, status_code=201
)
async def add_message(
    conversation_id: UUID,
    body: UserMessage,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> MessageOut:
    """Store the user's message; the reply starts when the client opens the stream."""
    service = ConversationService(state, session)
    conversation = await service.owned(principal, conversation_id)
    message = await service.messages.add(conversation.id, "user", body.content)
    await service.conversations.touch(conversation.id)
    await session.commit()
    return MessageOut.model_validate(message)


@router.get("/conversations/{conversation_id}/stream", response_class=EventSourceResponse)
async def stream_reply(
    conversation_id: UUID,
    request: Request,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    model: Annotated[ModelName | None, Query()] = None,
) -> EventSourceResponse:
    """The reply to the conversation's last user message: `{content}` chunks, `{done: true}`."""
    service = ConversationService(state, session)
    conversation = await service.owned(principal, conversation_id)
    asked = [m for m in await service.messages.ordered(conversation.id) if m.role == "user"]
    if not asked:
        raise Conflict("the conversation has no message to answer; post one first")
    last = asked[-1]
    if last.job_id is not None:
        job = await JobService(state, session).owned(principal, last.job_id)
    else:
        chosen = await service.model_for(principal, conversation, model)
        job = await service.enqueue_reply(
            principal, conversation, last, chosen, request_id=request.state.request_id
        )
    await session.close()  # the stream may last long; hold no connection meanwhile
    return EventSourceResponse(
        _frames(state, job),
        ping=state.settings.jobs.sse_keepalive_seconds,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(state: AppState, job: Job) -> AsyncIterator[ServerSentEvent]:
    async for event in state.follower.follow(job, None):
        if event.type == "token":
            delta = json.loads(event.data)["delta"]
            yield ServerSentEvent(data=json.dumps({"content": delta}))
    async with state.sessions() as session:
        finished = await _jobs.reload(session, job.id)
    if finished.status != JobStatus.succeeded:
        error = _jobs.job_error(finished)
        yield ServerSentEvent(data=json.dumps({"error": error.message, "code": error.code}))
    yield ServerSentEvent(data=json.dumps({"done": True}))
