"""Judge: a model scores a subject against criteria, once per sample.

Each sample's answer is forced into a JSON schema by the provider; an answer that still does
not parse is asked for once more, then reported as `parse_error`. No verdict is ever invented.
"""

from __future__ import annotations

from shared.errors import Invalid, JudgeParseError, JudgeRefusal
from shared.schemas.chat import ChatMessage
from shared.schemas.events import TokenEvent
from shared.schemas.job_state import Usage
from shared.schemas.judge import JudgeInput, JudgeSample, RubricItem
from shared.tasks import get_task
from worker import judging
from worker.context import JobContext, Outcome
from worker.providers.base import GenerationConfig, Provider

_ATTEMPTS_PER_SAMPLE = 2


async def handle(ctx: JobContext, payload: JudgeInput) -> Outcome:
    settings = ctx.resources.settings.providers
    model = payload.model or settings.default_judge_model()
    provider, model_id = ctx.resources.providers.resolve(model)
    items = await criteria_of(ctx, payload)
    if not items:
        raise Invalid("there are no criteria to judge against")
    config = GenerationConfig(
        model=model_id,
        temperature=0.0 if payload.samples == 1 else None,
        json_schema=judging.answer_schema(items, payload.labels),
    )
    messages = judging.build_messages(payload, items)
    samples: list[JudgeSample] = []
    usage = Usage()
    for _ in range(payload.samples):
        sample, used = await _sample(ctx, provider, config, messages, items, payload)
        samples.append(sample)
        usage = usage + used
    result = judging.aggregate(samples, payload, model, usage)
    return Outcome(result=result, usage=usage)


async def criteria_of(ctx: JobContext, payload: JudgeInput) -> list[RubricItem]:
    """The criteria given, or the named coding task's judge criteria."""
    if payload.task:
        return [RubricItem(name=text) for text in get_task(payload.task).judge_criteria]
    return payload.items()


async def _sample(
    ctx: JobContext,
    provider: Provider,
    config: GenerationConfig,
    messages: list[ChatMessage],
    items: list[RubricItem],
    payload: JudgeInput,
) -> tuple[JudgeSample, Usage]:
    usage = Usage()
    for attempt in range(_ATTEMPTS_PER_SAMPLE):
        pieces: list[str] = []
        async for chunk in provider.stream(messages, config):
            if chunk.refusal:
                raise JudgeRefusal(f"the judge model refused: {chunk.refusal}"[:500])
            if chunk.delta:
                pieces.append(chunk.delta)
                await ctx.emit(TokenEvent(job_id=ctx.job_id, delta=chunk.delta))
            if chunk.usage is not None:
                usage = usage + chunk.usage
        try:
            return judging.parse_answer("".join(pieces), items, payload), usage
        except JudgeParseError:
            if attempt + 1 == _ATTEMPTS_PER_SAMPLE:
                raise
    raise AssertionError("unreachable")
