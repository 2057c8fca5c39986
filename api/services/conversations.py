"""Conversations: their messages, and the reply job each user message enqueues."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.services import agents
from api.services.jobs import JobService
from api.state import AppState
from shared import keys
from shared.errors import Conflict, NotFound
from shared.models import Conversation, Job, Message
from shared.providers import check_model
from shared.repositories.conversations import ConversationRepository, MessageRepository
from shared.schemas.chat import ConversationReplyInput
from shared.schemas.conversations import MessageCreate, MultitaskStrategy
from shared.schemas.job_state import JobKind

_DISCARD_FLAG_TTL_SECONDS = 24 * 3600
MAX_PENDING_REPLIES = 8  # queued or running replies of one conversation


class ConversationService:
    def __init__(self, state: AppState, session: AsyncSession) -> None:
        self.state = state
        self.session = session
        self.conversations = ConversationRepository(session)
        self.messages = MessageRepository(session)
        self.jobs = JobService(state, session)

    async def owned(self, principal: Principal, conversation_id: UUID) -> Conversation:
        conversation = await self.conversations.get_owned(conversation_id, principal.user_id)
        if conversation is None:
            raise NotFound("conversation not found")
        return conversation

    async def post_message(
        self,
        principal: Principal,
        conversation: Conversation,
        body: MessageCreate,
        *,
        request_id: str | None,
    ) -> tuple[Message, Job]:
        """Store the user's message and enqueue the assistant's reply (commits)."""
        model = await self.model_for(principal, conversation, body.model)
        await self.conversations.lock(conversation.id)
        await self._apply_strategy(conversation.id, body.multitask_strategy)
        message = await self.messages.add(conversation.id, "user", body.content)
        job = await self.enqueue_reply(
            principal,
            conversation,
            message,
            model,
            body.max_tokens,
            body.temperature,
            request_id=request_id,
        )
        await self.session.refresh(message)
        return message, job

    async def model_for(
        self, principal: Principal, conversation: Conversation, asked: str | None
    ) -> str:
        providers = self.state.settings.providers
        default = await agents.default_model(self.state.redis, principal, JobKind.chat, providers)
        return check_model(asked or conversation.model or default, providers)

    async def enqueue_reply(
        self,
        principal: Principal,
        conversation: Conversation,
        message: Message,
        model: str,
        max_tokens: int | None = None,
        temperature: float | None = None,
        *,
        request_id: str | None = None,
    ) -> Job:
        """Create the job answering `message` (stored, not yet committed) and enqueue it."""
        reply = ConversationReplyInput(
            conversation_id=conversation.id,
            reply_to=message.id,
            model=model,
            max_tokens=max_tokens,
            temperature=temperature,
        )
        job, _ = await self.jobs.create(
            principal,
            JobKind.chat,
            reply,
            model=model,
            conversation_id=conversation.id,
            request_id=request_id,
        )
        await self.messages.link_job(message.id, job.id)
        await self.conversations.touch(conversation.id)
        await self.session.commit()
        await self.jobs.enqueue(job)
        return job

    async def _apply_strategy(self, conversation_id: UUID, strategy: MultitaskStrategy) -> None:
        active = await self.conversations.active_jobs(conversation_id)
        if strategy is MultitaskStrategy.enqueue:
            if len(active) >= MAX_PENDING_REPLIES:
                # Waiting replies hold worker slots; an unbounded line could fill them all.
                raise Conflict(
                    f"{len(active)} replies are already waiting in this conversation; "
                    "wait for them, or send with multitask_strategy interrupt or rollback"
                )
            return
        if not active:
            return
        if strategy is MultitaskStrategy.reject:
            raise Conflict(
                "the previous reply is still running; wait for it, or send with "
                "multitask_strategy enqueue, interrupt or rollback"
            )
        await self.cancel_replies(active, discard=strategy is MultitaskStrategy.rollback)

    async def cancel_replies(self, jobs: list[Job], *, discard: bool) -> None:
        for job in jobs:
            if discard:
                await self.state.redis.set(
                    keys.discard_flag(job.id), "1", ex=_DISCARD_FLAG_TTL_SECONDS
                )
            await self.jobs.cancel(job)

    async def delete(self, conversation: Conversation) -> None:
        """Cancel its running reply (discarding it), then delete it with its messages."""
        conversation_id = conversation.id
        await self.cancel_replies(
            await self.conversations.active_jobs(conversation_id), discard=True
        )
        await self.conversations.delete(conversation_id)
        await self.session.commit()
