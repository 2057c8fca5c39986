"""Conversations as chat clients use them: start one (a new chat), change it, and find the
reply a job stored. The native conversation routes and every older chat API share these."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.services.conversations import ConversationService
from api.services.jobs import JobService
from api.state import AppState
from shared.errors import Conflict
from shared.models import Conversation, Job, Message
from shared.providers import check_model
from shared.repositories.conversations import MessageRepository
from shared.schemas.conversations import ConversationCreate, ConversationOut

TITLE_CHARS = 50  # a chat started by its first message is titled with its first characters


def title_of(first_message: str) -> str:
    return " ".join(first_message.split())[:TITLE_CHARS]


async def start_conversation(
    state: AppState, session: AsyncSession, principal: Principal, body: ConversationCreate
) -> Conversation:
    """Create the conversation (not committed); its model must be one this server serves."""
    if body.model:
        check_model(body.model, state.settings.providers)
    service = ConversationService(state, session)
    return await service.conversations.create(principal.user_id, **body.model_dump())


async def change_conversation(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    conversation_id: UUID,
    changes: dict[str, Any],
) -> ConversationOut:
    """Apply `changes` (only the fields given) to the user's conversation (not committed)."""
    if changes.get("model"):
        check_model(changes["model"], state.settings.providers)
    service = ConversationService(state, session)
    conversation = await service.owned(principal, conversation_id)
    conversation = await service.conversations.update(conversation, **changes)
    count = await service.conversations.message_count(conversation_id)
    return ConversationOut.model_validate(conversation).model_copy(update={"message_count": count})


async def counted(
    state: AppState, session: AsyncSession, principal: Principal, conversation_id: UUID
) -> ConversationOut:
    """The user's conversation with its message count."""
    service = ConversationService(state, session)
    conversation = await service.owned(principal, conversation_id)
    count = await service.conversations.message_count(conversation_id)
    return ConversationOut.model_validate(conversation).model_copy(update={"message_count": count})


async def reply_of(session: AsyncSession, job: Job) -> Message | None:
    """The assistant message a conversation's reply job stored, if it stored one."""
    if job.conversation_id is None:
        return None
    stored = await MessageRepository(session).ordered(job.conversation_id)
    found = [m for m in stored if m.role == "assistant" and m.job_id == job.id]
    return found[0] if found else None


async def reply_to_last(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    conversation: Conversation,
    model: str | None,
    *,
    request_id: str | None,
) -> Job:
    """The job answering the conversation's last user message: the one already asked for,
    else a new reply job with `model` (else the model the message asked for, the
    conversation's, or the user's default)."""
    service = ConversationService(state, session)
    asked = [m for m in await service.messages.ordered(conversation.id) if m.role == "user"]
    if not asked:
        raise Conflict("the conversation has no message to answer; post one first")
    last = asked[-1]
    if last.job_id is not None:
        return await JobService(state, session).owned(principal, last.job_id)
    chosen = await service.model_for(principal, conversation, model or last.model)
    return await service.enqueue_reply(principal, conversation, last, chosen, request_id=request_id)
