"""The chat app's HTTP API (its `WS /ws/chat` lives in `chat_socket`); chats are conversations:

    GET  /chats        -> GET /api/conversations, as a plain list
    GET  /chat/{id}    -> GET /api/conversations/{id} with its messages
    POST /chat         -> POST /api/conversations/{id}/messages (a new conversation without
                          `chat_id`), waited: the reply with its tokens and latency
    POST /generate     -> POST /api/chat, waited: a one-shot reply to a prompt
    GET  /stats        -> GET /api/stats
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentUser, SessionDep, State
from api.routes import chat, conversations, stats
from api.routes.compat import _jobs
from api.routes.compat.chat_socket import backend_status, reply_to
from api.services.conversations import ConversationService
from shared.models import Job
from shared.schemas.chat import ChatInput, ChatMessage, ModelName
from shared.schemas.conversations import ConversationOut, MessageCreate, MessageOut

router = APIRouter()

_TITLE_CHARS = 50


class ChatWithMessages(ConversationOut):
    messages: list[MessageOut]


class Tokens(BaseModel):
    input: int
    output: int
    total: int


class Reply(BaseModel):
    response: str
    model: str | None
    tokens: Tokens
    latency_ms: int | None
    job_id: UUID


class ChatReply(Reply):
    chat_id: UUID
    message_id: UUID


@router.get("/chats", response_model=list[ConversationOut])
async def list_chats(
    principal: CurrentUser, state: State, session: SessionDep
) -> list[ConversationOut]:
    """The newest 200, most recently used first."""
    page = await conversations.list_conversations(principal, state, session, 200, None)
    return page.items


@router.get("/chat/{chat_id}", response_model=ChatWithMessages)
async def read_chat(
    chat_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> ChatWithMessages:
    chat_out = await conversations.get_conversation(chat_id, principal, state, session)
    messages = await conversations.list_messages(chat_id, principal, state, session)
    return ChatWithMessages(**chat_out.model_dump(), messages=messages)


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=200_000)
    chat_id: UUID | None = None
    model: ModelName | None = None


@router.post("/chat", response_model=ChatReply)
async def send_chat(
    body: ChatBody,
    request: Request,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> ChatReply:
    """Add the message to the chat (a new one without `chat_id`) and answer the reply."""
    service = ConversationService(state, session)
    if body.chat_id is not None:
        conversation = await service.owned(principal, body.chat_id)
    else:
        conversation = await service.conversations.create(
            principal.user_id, title=body.message[:_TITLE_CHARS]
        )
    chat_id = conversation.id
    asked = MessageCreate(content=body.message, model=body.model)
    _, job = await service.post_message(
        principal, conversation, asked, request_id=request.state.request_id
    )
    done = await _jobs.finished(state, session, job.id)
    reply = await reply_to(ConversationService(state, session), done)
    if reply is None:
        raise _jobs.job_error(done)
    answer = _reply(done, reply.content)
    return ChatReply(**answer.model_dump(), chat_id=chat_id, message_id=reply.id)


class GenerateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=200_000)
    system: str | None = Field(None, max_length=100_000)
    model: ModelName | None = None
    max_tokens: int | None = Field(None, ge=1, le=200_000)
    temperature: float | None = Field(None, ge=0.0, le=2.0)


@router.post("/generate", response_model=Reply)
async def generate(
    body: GenerateBody,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> Reply:
    """A one-shot reply to `prompt` (after `system`, if given)."""
    messages = [ChatMessage(role="user", content=body.prompt)]
    if body.system:
        messages.insert(0, ChatMessage(role="system", content=body.system))
    payload = ChatInput(
        messages=messages,
        model=body.model,
        max_tokens=body.max_tokens,
        temperature=body.temperature,
    )
    job = await chat.create_chat(payload, request, response, principal, state, session)
    done = await _jobs.finished(state, session, job.id)
    response.status_code = 200
    return _reply(done, _jobs.result_of(done)["content"])


@router.get("/stats")
async def read_stats(principal: CurrentUser, state: State, session: SessionDep) -> dict[str, Any]:
    return await stats.get_stats(principal, state, session)


def _reply(job: Job, content: str) -> Reply:
    status = backend_status(job)
    return Reply(
        response=content,
        model=job.model,
        tokens=Tokens(**status["tokens"]),
        latency_ms=status["latency_ms"],
        job_id=job.id,
    )
