"""The chat app (seeds/004): chats are conversations.

    WS   /ws/chat     {"event": "user_message", "message": ...} -> {"event": "ai_response",
                      "message": <reply>} then {"event": "backend_status", "tokens_used",
                      "latency": "<n>ms"}; {"event": "chat_history"} -> {"event":
                      "chat_history", "messages"}; problems: {"event": "error", "message"}
    GET  /chats       every chat (the newest 200), most recently used first
    GET  /chat/{id}   one chat with its messages
    POST /chat        a new chat session
    POST /generate    a message through the LLM (a one-shot reply, or in `chat_id`'s chat)
    GET  /stats       token usage, latency, queues, the energy estimate

The socket is one chat: created by its first message unless a frame names `chat_id`.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request, WebSocket
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.deps import CurrentUser, SessionDep, State
from api.services import validation, waiting
from api.services.chat import submit_chat
from api.services.chats import counted, reply_of, start_conversation, title_of
from api.services.conversations import ConversationService
from api.services.model_names import native_model
from api.services.usage_report import usage_report
from api.state import AppState
from shared.errors import Invalid, SwitchyardError
from shared.models import Job, Message
from shared.schemas.chat import ChatInput, ChatMessage
from shared.schemas.conversations import ConversationCreate, ConversationOut, MessageCreate
from shared.schemas.job_state import Usage

router = APIRouter()


@router.get("/chats")
async def list_chats(
    principal: CurrentUser, state: State, session: SessionDep
) -> list[dict[str, Any]]:
    """Fetch chat history."""
    rows = await ConversationService(state, session).conversations.list_owned(
        principal.user_id, limit=200, before=None
    )
    return [
        _chat(ConversationOut.model_validate(c).model_copy(update={"message_count": n}))
        for c, n in rows
    ]


@router.get("/chat/{chat_id}")
async def read_chat(
    chat_id: UUID, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """Load specific chat session."""
    found = await counted(state, session, principal, chat_id)
    messages = await ConversationService(state, session).messages.ordered(chat_id)
    return {**_chat(found), "messages": [chat_message(m) for m in messages]}


class NewChat(BaseModel):
    """Whatever else a client sends to open a session is ignored."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field("", max_length=300)
    model: str | None = Field(None, max_length=200)


@router.post("/chat")
async def create_chat(
    principal: CurrentUser, state: State, session: SessionDep, body: NewChat | None = None
) -> dict[str, Any]:
    """Create a new chat session."""
    body = body or NewChat()
    model = await native_model(state, principal, body.model) if body.model else None
    create = ConversationCreate(title=body.title, model=model)
    conversation = await start_conversation(state, session, principal, create)
    await session.commit()
    return {**_chat(ConversationOut.model_validate(conversation)), "messages": []}


class GenerateBody(BaseModel):
    # Unknown fields are ignored, as the document's pydantic models ignored them.
    model_config = ConfigDict(extra="ignore")

    message: str = Field(
        min_length=1, max_length=200_000, validation_alias=AliasChoices("message", "prompt")
    )
    # no chat yet may come as an empty id
    chat_id: Annotated[UUID | None, BeforeValidator(lambda value: value or None)] = None
    model: str | None = Field(None, max_length=200)
    max_tokens: int | None = Field(None, ge=1, le=200_000)
    temperature: float | None = Field(None, ge=0.0, le=2.0)


@router.post("/generate")
async def generate(
    body: GenerateBody, request: Request, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """Process a user message through the LLM (for non-WebSocket clients)."""
    model = await native_model(state, principal, body.model)
    if body.chat_id is not None:
        conversation = await ConversationService(state, session).owned(principal, body.chat_id)
        asked = MessageCreate(content=body.message, model=model, max_tokens=body.max_tokens)
        reply, job = await ask_in_chat(state, session, principal, conversation.id, asked)
        answer = {"response": reply.content, "message": reply.content}
        return {**answer, "chat_id": str(body.chat_id), **backend_status(job)}
    payload = validation.build(
        ChatInput,
        messages=[ChatMessage(role="user", content=body.message)],
        model=model,
        max_tokens=body.max_tokens,
        temperature=body.temperature,
    )
    job = await submit_chat(state, session, principal, payload, request_id=request.state.request_id)
    done = await waiting.finished(state, session, job.id)
    content = waiting.result_of(done)["content"]
    return {"response": content, "message": content, **backend_status(done)}


@router.get("/stats")
async def read_stats(principal: CurrentUser, state: State, session: SessionDep) -> dict[str, Any]:
    """Retrieve system statistics (token usage, latency, etc.)."""
    report = await usage_report(state, session, principal)
    tokens = sum(row["input_tokens"] + row["output_tokens"] for row in report["usage"])
    median = report["latency_seconds"]["run_time"]["p50"]
    latency = None if median is None else f"{round(median * 1000)}ms"
    requests = sum(row["jobs"] for row in report["usage"])
    return {"tokens_used": tokens, "latency": latency, "requests": requests, **report}


async def ask_in_chat(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    chat_id: UUID,
    asked: MessageCreate,
) -> tuple[Message, Job]:
    """Post the message in the chat, wait for the reply and answer it with its job."""
    service = ConversationService(state, session)
    conversation = await service.owned(principal, chat_id)
    _, job = await service.post_message(principal, conversation, asked, request_id=None)
    done = await waiting.finished(state, session, job.id)
    reply = await reply_of(session, done)
    if reply is None:
        raise waiting.job_error(done)
    return reply, done


def backend_status(job: Job) -> dict[str, Any]:
    """What the app shows under a reply: tokens used and latency ("150ms")."""
    usage = Usage.model_validate(job.usage or {})
    latency = waiting.latency_ms(job)
    return {
        "tokens_used": usage.input_tokens + usage.output_tokens,
        "latency": None if latency is None else f"{latency}ms",
        "model": job.model,
        "job_id": str(job.id),
    }


def chat_message(message: Message) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "role": message.role,
        "content": message.content,
        "model": message.model,
        "timestamp": message.created_at.isoformat(),
    }


def _chat(found: ConversationOut) -> dict[str, Any]:
    return found.model_dump(mode="json", exclude={"system_prompt"})


class ChatAppSocket:
    """`WS /ws/chat` as the chat app speaks it; the socket is one chat."""

    def __init__(self, websocket: WebSocket, state: AppState, principal: Principal) -> None:
        self.websocket = websocket
        self.state = state
        self.principal = principal
        self.chat_id: UUID | None = None

    async def handle(self, frame: dict[str, Any]) -> None:
        event = frame.get("event") or frame.get("type") or "user_message"
        try:
            if frame.get("chat_id"):
                self.chat_id = _uuid(frame["chat_id"])
            if event == "user_message":
                await self._user_message(frame)
            elif event == "chat_history":
                await self._history()
            else:
                raise Invalid(f"unknown event {event!r}; send user_message or chat_history")
        except SwitchyardError as exc:
            await self.error(exc.message)

    async def _user_message(self, frame: dict[str, Any]) -> None:
        text = frame.get("message") or frame.get("content")
        asked = validation.build(MessageCreate, content=text or "")
        async with self.state.sessions() as session:
            if self.chat_id is None:
                create = ConversationCreate(title=title_of(asked.content))
                conversation = await start_conversation(self.state, session, self.principal, create)
                await session.commit()
                self.chat_id = conversation.id
            reply, job = await ask_in_chat(self.state, session, self.principal, self.chat_id, asked)
        chat_id = str(self.chat_id)
        await self.websocket.send_json(
            {"event": "ai_response", "message": reply.content, "chat_id": chat_id}
        )
        await self.websocket.send_json(
            {"event": "backend_status", **backend_status(job), "chat_id": chat_id}
        )

    async def _history(self) -> None:
        if self.chat_id is None:  # e.g. asked on connect, before the first message: no logs
            await self.websocket.send_json(
                {"event": "chat_history", "chat_id": None, "messages": []}
            )
            return
        async with self.state.sessions() as session:
            await ConversationService(self.state, session).owned(self.principal, self.chat_id)
            stored = await ConversationService(self.state, session).messages.ordered(self.chat_id)
        await self.websocket.send_json(
            {
                "event": "chat_history",
                "chat_id": str(self.chat_id),
                "messages": [chat_message(m) for m in stored],
            }
        )

    async def error(self, message: str) -> None:
        await self.websocket.send_json({"event": "error", "message": message})


def _uuid(value: object) -> UUID:
    try:
        return UUID(str(value))
    except ValueError as exc:
        raise Invalid("chat_id must be a UUID", field="chat_id") from exc
