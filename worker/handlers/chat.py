"""Chat: one model answers a list of messages, streaming its reply token by token.

A conversation reply (`ConversationReplyInput`) first waits for the conversation's earlier
replies, reads the history, and stores the answer as a message when it completes. Cancelled,
it keeps what it said as an incomplete message (unless the cancel asked to discard it); failed,
it stores nothing.
"""

from __future__ import annotations

import asyncio

from shared.schemas.chat import ChatInput, ChatMessage, ChatResult, ConversationReplyInput
from shared.schemas.conversations import message_payload
from shared.schemas.events import MessageEvent, TokenEvent
from shared.schemas.job_state import Usage
from worker import conversations
from worker.context import JobContext, Outcome
from worker.providers.base import GenerationConfig


async def handle(ctx: JobContext, payload: ChatInput | ConversationReplyInput) -> Outcome:
    if isinstance(payload, ConversationReplyInput):
        return await _reply_in_conversation(ctx, payload)
    model = payload.model or ctx.resources.settings.providers.default_chat_model()
    result = await stream_reply(
        ctx, payload.messages, model, payload.max_tokens, payload.temperature
    )
    return Outcome(result=result, usage=result.usage)


async def stream_reply(
    ctx: JobContext,
    messages: list[ChatMessage],
    model: str,
    max_tokens: int | None,
    temperature: float | None,
    *,
    pieces: list[str] | None = None,
) -> ChatResult:
    """Stream `model`'s answer as `token` events; what was said so far stays in `pieces`."""
    provider, model_id = ctx.resources.providers.resolve(model)
    config = GenerationConfig(model=model_id, max_tokens=max_tokens, temperature=temperature)
    pieces = [] if pieces is None else pieces
    usage, finish_reason = Usage(), None
    ctx.partial_result = lambda: {"content": "".join(pieces), "model": model, "complete": False}
    async for chunk in provider.stream(messages, config):
        if chunk.delta:
            pieces.append(chunk.delta)
            await ctx.emit(TokenEvent(job_id=ctx.job_id, delta=chunk.delta))
        if chunk.usage is not None:
            usage, finish_reason = chunk.usage, chunk.finish_reason
    return ChatResult(
        content="".join(pieces), model=model, finish_reason=finish_reason, usage=usage
    )


async def _reply_in_conversation(ctx: JobContext, payload: ConversationReplyInput) -> Outcome:
    res = ctx.resources
    await conversations.wait_for_turn(res, ctx.job_id, payload.conversation_id)
    messages = await conversations.history(res, payload)
    pieces: list[str] = []
    try:
        result = await stream_reply(
            ctx, messages, payload.model, payload.max_tokens, payload.temperature, pieces=pieces
        )
    except asyncio.CancelledError:
        if pieces and not await conversations.discard_requested(res, ctx.job_id):
            await _store(ctx, payload, "".join(pieces), Usage(), complete=False)
        raise
    await _store(ctx, payload, result.content, result.usage, complete=True)
    return Outcome(result=result, usage=result.usage)


async def _store(
    ctx: JobContext,
    payload: ConversationReplyInput,
    content: str,
    usage: Usage,
    *,
    complete: bool,
) -> None:
    message = await conversations.store_reply(
        ctx.resources,
        payload,
        ctx.job_id,
        content=content,
        model=payload.model,
        usage=usage,
        complete=complete,
    )
    if message is not None:
        await ctx.emit(MessageEvent(job_id=ctx.job_id, message=message_payload(message)))
