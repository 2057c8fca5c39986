"""A two-agent run: the bots take turns on a topic, each seeing the talk from its own side.

Every finished turn is stored, so a new attempt (after a worker died) resumes at the first
unfinished turn. Patches sent while the run goes on apply from the next turn that starts. A
stopped run keeps its partial turn, marked incomplete.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.models import RunTurn
from shared.repositories.runs import RunRepository, turn_fields
from shared.schemas.chat import ChatMessage
from shared.schemas.events import PatchAppliedEvent, TokenEvent, TurnEndEvent, TurnStartEvent
from shared.schemas.job_state import Usage
from shared.schemas.runs import BotConfig, RunInput, RunResult
from worker.context import JobContext, Outcome
from worker.providers.base import GenerationConfig


@dataclass
class Transcript:
    turns: list[tuple[int, str]] = field(default_factory=list)  # (bot, content)
    usage: Usage = field(default_factory=Usage)


def view_of(
    bot: int, bots: list[BotConfig], topic: str, turns: list[tuple[int, str]]
) -> list[ChatMessage]:
    """The conversation as `bot` sees it: its turns as assistant, the other's as user."""
    messages = (
        [ChatMessage(role="system", content=bots[bot].system_prompt)]
        if (bots[bot].system_prompt)
        else []
    )
    messages.append(ChatMessage(role="user", content=topic))
    for speaker, content in turns:
        messages.append(
            ChatMessage(role="assistant" if speaker == bot else "user", content=content)
        )
    return messages


async def handle(ctx: JobContext, payload: RunInput) -> Outcome:
    max_turns = min(payload.max_turns, ctx.resources.settings.jobs.run_max_turns)
    bots, transcript = await _resume(ctx, payload)
    for turn in range(len(transcript.turns), max_turns):
        bot = turn % 2
        bots = await _apply_patches(ctx, bots, turn)
        content, usage = await _take_turn(ctx, bots, payload.topic, transcript, turn, bot)
        transcript.turns.append((bot, content))
        transcript.usage = transcript.usage + usage
    result = RunResult(turns_completed=len(transcript.turns), usage=transcript.usage)
    return Outcome(result=result, usage=transcript.usage)


async def _resume(ctx: JobContext, payload: RunInput) -> tuple[list[BotConfig], Transcript]:
    """The bots as patched so far and the turns already finished by earlier attempts."""
    async with ctx.resources.sessions.begin() as session:
        runs = RunRepository(session)
        await runs.drop_incomplete_turns(ctx.job_id)
        stored: list[RunTurn] = await runs.turns(ctx.job_id)
        await runs.reopen_patches(ctx.job_id, from_turn=len(stored))
        applied = await runs.applied_patches(ctx.job_id, before_turn=len(stored))
    bots = list(payload.bots)
    for patch in applied:
        bots[patch.bot] = bots[patch.bot].model_copy(update=patch.changes)
    transcript = Transcript()
    for turn in stored:
        transcript.turns.append((turn.bot, turn.content))
        transcript.usage = transcript.usage + Usage.model_validate(turn.usage)
    ctx.partial_result = lambda: RunResult(
        turns_completed=len(transcript.turns), usage=transcript.usage
    ).model_dump(mode="json")
    return bots, transcript


async def _apply_patches(ctx: JobContext, bots: list[BotConfig], turn: int) -> list[BotConfig]:
    async with ctx.resources.sessions.begin() as session:
        patches = await RunRepository(session).take_pending_patches(ctx.job_id, turn)
    for patch in patches:
        bots[patch.bot] = bots[patch.bot].model_copy(update=patch.changes)
        await ctx.emit(
            PatchAppliedEvent(
                job_id=ctx.job_id, bot=patch.bot, changes=patch.changes, applies_from_turn=turn
            )
        )
    return bots


async def _take_turn(
    ctx: JobContext, bots: list[BotConfig], topic: str, transcript: Transcript, turn: int, bot: int
) -> tuple[str, Usage]:
    config = bots[bot]
    provider, model_id = ctx.resources.providers.resolve(config.model)
    generation = GenerationConfig(
        model=model_id, max_tokens=config.max_tokens, temperature=config.temperature
    )
    started = datetime.now(UTC)
    await ctx.emit(TurnStartEvent(job_id=ctx.job_id, turn=turn, bot=bot, model=config.model))
    pieces: list[str] = []
    usage = Usage()
    try:
        async for chunk in provider.stream(view_of(bot, bots, topic, transcript.turns), generation):
            if chunk.delta:
                pieces.append(chunk.delta)
                await ctx.emit(TokenEvent(job_id=ctx.job_id, delta=chunk.delta, turn=turn, bot=bot))
            if chunk.usage is not None:
                usage = chunk.usage
    except asyncio.CancelledError:
        await _end_turn(ctx, turn, bot, config.model, "".join(pieces), usage, started, False)
        raise
    await _end_turn(ctx, turn, bot, config.model, "".join(pieces), usage, started, True)
    return "".join(pieces), usage


async def _end_turn(
    ctx: JobContext,
    turn: int,
    bot: int,
    model: str,
    content: str,
    usage: Usage,
    started: datetime,
    complete: bool,
) -> None:
    async with ctx.resources.sessions.begin() as session:
        await RunRepository(session).save_turn(
            **turn_fields(
                ctx.job_id,
                turn,
                bot,
                model,
                content,
                usage.model_dump(),
                complete,
                ctx.attempt,
                started,
                datetime.now(UTC),
            )
        )
    await ctx.emit(
        TurnEndEvent(
            job_id=ctx.job_id,
            turn=turn,
            bot=bot,
            model=model,
            content=content,
            usage=usage,
            complete=complete,
        )
    )
