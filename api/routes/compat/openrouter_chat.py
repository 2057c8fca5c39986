"""The OpenRouter chat (seeds/003): models, conversations with a `default_model`, messages
with a model override, and the reply streamed over SSE.

    GET    /models                          {"models": [...], "cached": bool} (1 h cache)
    POST   /conversations                   {default_model?} -> the conversation, `messages: []`
    GET    /conversations                   every conversation, with `message_count`
    GET    /conversations/{id}              the conversation with its messages
    PATCH  /conversations/{id}              {default_model} -> the conversation
    DELETE /conversations/{id}              {"message", "id"}
    GET    /conversations/{id}/messages     [{id, role, content, model, timestamp}]
    POST   /conversations/{id}/messages     {content, model?} -> the stored message
    GET    /conversations/{id}/stream?model= SSE `data: {"content"}` ... `data: {"done": true}`

The reply starts when the client opens the stream (the document's flow: post, then stream),
with the model named there, else the message's, else the conversation's; a stream reopened
for a message already answered follows that reply instead of asking again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.auth import Principal
from api.deps import CurrentUser, SessionDep, State
from api.services import waiting
from api.services.chats import change_conversation, counted, reply_to_last, start_conversation
from api.services.conversations import ConversationService
from api.services.model_names import catalogue_model
from api.services.models import catalogue
from api.state import AppState
from shared.models import Job, Message
from shared.schemas.chat import ModelName
from shared.schemas.conversations import ConversationCreate, ConversationOut
from shared.schemas.job_state import JobStatus

router = APIRouter()

# The document's frames end in "\n\n" (`yield f"data: {json.dumps(...)}\n\n"`), not
# sse-starlette's "\r\n": a frontend that reads the stream with fetch splits on "\n\n".
SEP = "\n"
# A model, or none: an empty one (`?model=` from a frontend with no override picked) is none.
AnyModel = Annotated[ModelName | None, BeforeValidator(lambda value: value or None)]


@router.get("/models")
async def list_models(principal: CurrentUser, state: State) -> dict[str, Any]:
    """Returns model list with cache status."""
    models = await catalogue(state, refresh=False)
    listed = [m.model_dump(mode="json") for m in models.models]
    return {"models": listed, "cached": models.cached}


class NewConversation(BaseModel):
    # Unknown fields are ignored, as the document's pydantic models ignored them.
    model_config = ConfigDict(extra="ignore")

    default_model: AnyModel = None
    title: str = Field("", max_length=300)


class ConversationChange(BaseModel):
    # Unknown fields are ignored, as the document's pydantic models ignored them.
    model_config = ConfigDict(extra="ignore")

    default_model: AnyModel = None
    title: str | None = Field(None, max_length=300)


@router.post("/conversations", status_code=201)
async def create_conversation(
    principal: CurrentUser, state: State, session: SessionDep, body: NewConversation | None = None
) -> dict[str, Any]:
    """Creates new conversation with optional `default_model` (the body too is optional: a
    frontend may POST nothing); the full conversation object."""
    body = body or NewConversation()
    create = ConversationCreate(
        title=body.title, model=await _native(state, principal, body.default_model)
    )
    conversation = await start_conversation(state, session, principal, create)
    await session.commit()
    return {**_conversation(ConversationOut.model_validate(conversation)), "messages": []}


@router.get("/conversations")
async def list_conversations(
    principal: CurrentUser, state: State, session: SessionDep
) -> list[dict[str, Any]]:
    """List all conversations (the newest 200), with their message count."""
    rows = await ConversationService(state, session).conversations.list_owned(
        principal.user_id, limit=200, before=None
    )
    return [
        _conversation(ConversationOut.model_validate(c).model_copy(update={"message_count": n}))
        for c, n in rows
    ]


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    found = await counted(state, session, principal, conversation_id)
    messages = await ConversationService(state, session).messages.ordered(conversation_id)
    return {**_conversation(found), "messages": [_message(m) for m in messages]}


@router.patch("/conversations/{conversation_id}")
async def update_conversation(
    conversation_id: UUID,
    body: ConversationChange,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> dict[str, Any]:
    """Updates the conversation's `default_model` (and `updated_at`)."""
    changes = body.model_dump(exclude_unset=True)
    if "default_model" in changes:
        changes["model"] = await _native(state, principal, changes.pop("default_model"))
    updated = await change_conversation(state, session, principal, conversation_id, changes)
    await session.commit()
    return _conversation(updated)


@router.delete("/conversations/{conversation_id}")
async def delete_conversation(
    conversation_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> JSONResponse:
    service = ConversationService(state, session)
    await service.delete(await service.owned(principal, conversation_id))
    return JSONResponse({"message": "conversation deleted", "id": str(conversation_id)})


@router.get("/conversations/{conversation_id}/messages")
async def list_messages(
    conversation_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> list[dict[str, Any]]:
    service = ConversationService(state, session)
    await service.owned(principal, conversation_id)
    return [_message(m) for m in await service.messages.ordered(conversation_id)]


class UserMessage(BaseModel):
    # Unknown fields are ignored, as the document's pydantic models ignored them.
    model_config = ConfigDict(extra="ignore")

    content: str = Field(min_length=1, max_length=200_000)
    model: AnyModel = Field(None, description="override the conversation's model")
    role: str = Field("user", pattern="^user$")

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the message is empty")
        return value


@router.post("/conversations/{conversation_id}/messages", status_code=201)
async def add_message(
    conversation_id: UUID,
    body: UserMessage,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> dict[str, Any]:
    """Stores the user message; returns it with its ID and timestamp."""
    service = ConversationService(state, session)
    conversation = await service.owned(principal, conversation_id)
    model = await _native(state, principal, body.model)
    message = await service.messages.add(conversation.id, "user", body.content, model=model)
    await service.conversations.touch(conversation.id)
    await session.commit()
    return _message(message)


@router.get("/conversations/{conversation_id}/stream", response_class=EventSourceResponse)
async def stream_reply(
    conversation_id: UUID,
    request: Request,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    model: Annotated[AnyModel, Query()] = None,
) -> EventSourceResponse:
    """The reply to the last user message: `{content}` chunks, then `{done: true}`."""
    service = ConversationService(state, session)
    conversation = await service.owned(principal, conversation_id)
    job = await reply_to_last(
        state,
        session,
        principal,
        conversation,
        await _native(state, principal, model),
        request_id=request.state.request_id,
    )
    await session.close()  # the stream may last long; hold no connection meanwhile
    return EventSourceResponse(
        _frames(state, job),
        ping=state.settings.jobs.sse_keepalive_seconds,
        sep=SEP,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(state: AppState, job: Job) -> AsyncIterator[ServerSentEvent]:
    async for event in state.follower.follow(job, None):
        if event.type == "token":
            delta = json.loads(event.data)["delta"]
            yield ServerSentEvent(data=json.dumps({"content": delta}), sep=SEP)
    async with state.sessions() as session:
        finished = await waiting.reload(session, job.id)
    if finished.status != JobStatus.succeeded:
        error = waiting.job_error(finished)
        error_frame = {"error": error.message, "code": error.code}
        yield ServerSentEvent(data=json.dumps(error_frame), sep=SEP)
    yield ServerSentEvent(data=json.dumps({"done": True}), sep=SEP)


async def _native(state: AppState, principal: Principal, name: str | None) -> str | None:
    """The frontend's model (a `/models` id, or an OpenRouter name) as a native one."""
    return None if name is None else await catalogue_model(state, principal, name)


def _conversation(found: ConversationOut) -> dict[str, Any]:
    """A conversation as the document stores one: `default_model` is its model."""
    out = found.model_dump(mode="json", exclude={"model", "system_prompt"})
    return {**out, "default_model": found.model}


def _message(message: Message) -> dict[str, Any]:
    """A message as the document stores one: id, role, content, model, timestamp."""
    return {
        "id": str(message.id),
        "role": message.role,
        "content": message.content,
        "model": message.model,
        "timestamp": message.created_at.isoformat(),
    }
