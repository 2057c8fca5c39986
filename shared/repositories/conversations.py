from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Conversation, Job, Message
from shared.schemas.job_state import TERMINAL_STATUSES


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, owner_id: UUID, **fields: Any) -> Conversation:
        conversation = Conversation(owner_id=owner_id, **fields)
        self.session.add(conversation)
        await self.session.flush()
        await self.session.refresh(conversation)
        return conversation

    async def get(self, conversation_id: UUID) -> Conversation | None:
        return await self.session.get(Conversation, conversation_id)

    async def lock(self, conversation_id: UUID) -> None:
        """Hold the conversation's row until the transaction ends: posts to one conversation
        decide their multitask strategy one at a time."""
        await self.session.execute(
            select(Conversation.id).where(Conversation.id == conversation_id).with_for_update()
        )

    async def get_owned(self, conversation_id: UUID, owner_id: UUID) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation).where(
                Conversation.id == conversation_id, Conversation.owner_id == owner_id
            )
        )

    async def list_owned(
        self, owner_id: UUID, *, limit: int, before: datetime | None
    ) -> list[tuple[Conversation, int]]:
        counts = (
            select(Message.conversation_id, func.count().label("n"))
            .group_by(Message.conversation_id)
            .subquery()
        )
        query = (
            select(Conversation, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.conversation_id == Conversation.id)
            .where(Conversation.owner_id == owner_id)
        )
        if before is not None:
            query = query.where(Conversation.updated_at < before)
        query = query.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit)
        return [(row[0], int(row[1])) for row in (await self.session.execute(query)).all()]

    async def message_count(self, conversation_id: UUID) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).where(Message.conversation_id == conversation_id)
            )
            or 0
        )

    async def update(self, conversation: Conversation, **fields: Any) -> Conversation:
        for name, value in fields.items():
            setattr(conversation, name, value)
        conversation.updated_at = func.now()
        await self.session.flush()
        await self.session.refresh(conversation)
        return conversation

    async def touch(self, conversation_id: UUID) -> None:
        await self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(updated_at=func.now())
        )

    async def delete(self, conversation_id: UUID) -> None:
        await self.session.execute(delete(Conversation).where(Conversation.id == conversation_id))

    async def active_jobs(self, conversation_id: UUID) -> list[Job]:
        """Replies of this conversation that are queued or running, oldest first."""
        return list(
            (
                await self.session.scalars(
                    select(Job)
                    .where(
                        Job.conversation_id == conversation_id,
                        Job.status.not_in([s.value for s in TERMINAL_STATUSES]),
                    )
                    .order_by(Job.created_at)
                )
            ).all()
        )


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, conversation_id: UUID, role: str, content: str, **fields: Any) -> Message:
        message = Message(conversation_id=conversation_id, role=role, content=content, **fields)
        self.session.add(message)
        await self.session.flush()
        await self.session.refresh(message)
        return message

    async def get(self, message_id: UUID) -> Message | None:
        return await self.session.get(Message, message_id)

    async def ordered(self, conversation_id: UUID) -> list[Message]:
        """Messages in conversation order: each user message followed by its reply.

        A reply is written when it ends, possibly after later user messages were sent (an
        enqueued or interrupted reply), so creation time alone would misplace it; the reply
        shares its job id with the user message it answers.
        """
        query = select(Message).where(Message.conversation_id == conversation_id)
        stored = list(
            (await self.session.scalars(query.order_by(Message.created_at, Message.id))).all()
        )
        asked_at = {m.job_id: m.created_at for m in stored if m.role == "user" and m.job_id}

        def position(message: Message) -> tuple[datetime, int, datetime]:
            if message.role == "assistant" and message.job_id in asked_at:
                return asked_at[message.job_id], 1, message.created_at
            return message.created_at, 0, message.created_at

        return sorted(stored, key=position)

    async def history_through(self, conversation_id: UUID, asked: Message) -> list[Message]:
        """The conversation up to and including `asked`, without its own (earlier) reply."""
        messages = await self.ordered(conversation_id)
        return messages[: messages.index(asked) + 1] if asked in messages else messages

    async def link_job(self, message_id: UUID, job_id: UUID) -> None:
        await self.session.execute(
            update(Message).where(Message.id == message_id).values(job_id=job_id)
        )
