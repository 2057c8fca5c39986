"""A conversation reply's context and its stored answer (worker side)."""

from __future__ import annotations

import asyncio
from uuid import UUID

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from shared import keys
from shared.errors import NotFound
from shared.models import Job, Message
from shared.repositories.conversations import ConversationRepository, MessageRepository
from shared.schemas.chat import ChatMessage, ConversationReplyInput
from shared.schemas.job_state import TERMINAL_STATUSES, Usage
from shared.storable import storable_text
from worker.runtime import Resources

_TURN_POLL_SECONDS = 0.1


async def wait_for_turn(res: Resources, job_id: UUID, conversation_id: UUID) -> None:
    """Replies of one conversation run one at a time, in the order they were asked for."""
    this = select(Job.created_at).where(Job.id == job_id).scalar_subquery()
    earlier_active = exists().where(
        Job.conversation_id == conversation_id,
        Job.created_at < this,
        Job.status.not_in([s.value for s in TERMINAL_STATUSES]),
    )
    while True:
        async with res.sessions() as session:
            if not await session.scalar(select(earlier_active)):
                return
        await asyncio.sleep(_TURN_POLL_SECONDS)


async def history(res: Resources, payload: ConversationReplyInput) -> list[ChatMessage]:
    """The system prompt and every message up to the one this job answers."""
    async with res.sessions() as session:
        conversation = await ConversationRepository(session).get(payload.conversation_id)
        asked = await MessageRepository(session).get(payload.reply_to)
        if conversation is None or asked is None:
            raise NotFound("the conversation or its message was deleted")
        stored = await MessageRepository(session).history_through(conversation.id, asked)
    messages = (
        [ChatMessage(role="system", content=conversation.system_prompt)]
        if (conversation.system_prompt)
        else []
    )
    messages.extend(
        ChatMessage.model_validate({"role": m.role, "content": m.content})
        for m in stored
        if m.content
    )
    return messages


async def store_reply(
    res: Resources,
    payload: ConversationReplyInput,
    job_id: UUID,
    *,
    content: str,
    model: str,
    usage: Usage,
    complete: bool,
) -> Message | None:
    """Store the assistant's message; None when the conversation was deleted meanwhile."""
    try:
        async with res.sessions.begin() as session:
            message = await MessageRepository(session).add(
                payload.conversation_id,
                "assistant",
                storable_text(content),
                model=model,
                usage=usage.model_dump(),
                job_id=job_id,
                complete=complete,
            )
            await ConversationRepository(session).touch(payload.conversation_id)
            return message
    except IntegrityError:
        return None


async def discard_requested(res: Resources, job_id: UUID) -> bool:
    return bool(await res.redis.exists(keys.discard_flag(job_id)))
