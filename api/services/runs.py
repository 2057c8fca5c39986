"""Two-agent runs: creation (rate-limited), patches, and the transcript export."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.services.jobs import JobService
from api.state import AppState
from shared.errors import Conflict, NotFound
from shared.models import Job, RunPatch
from shared.providers import check_model
from shared.repositories.runs import RunRepository
from shared.schemas.job_state import ErrorInfo, JobKind, JobStatus, Usage
from shared.schemas.runs import BotPatch, PatchOut, RunExport, RunInput, TurnOut


class RunService:
    def __init__(self, state: AppState, session: AsyncSession) -> None:
        self.state = state
        self.session = session
        self.jobs = JobService(state, session)
        self.runs = RunRepository(session)

    async def submit(
        self,
        principal: Principal,
        payload: RunInput,
        *,
        idempotency_key: str | None,
        request_id: str | None,
    ) -> Job:
        """Check the bots' models and the caller's run rate, then submit the run."""
        settings = self.state.settings
        for bot in payload.bots:
            check_model(bot.model, settings.providers)
        if not settings.auth.dev_mode:
            await self.state.limiter.hit(
                "runs", str(principal.user_id), limit=settings.auth.run_rate_limit_per_minute
            )
        payload.max_turns = min(payload.max_turns, settings.jobs.run_max_turns)
        return await self.jobs.submit(
            principal,
            JobKind.run,
            payload,
            model=payload.bots[0].model,
            idempotency_key=idempotency_key,
            request_id=request_id,
        )

    async def owned(self, principal: Principal, job_id: UUID) -> Job:
        job = await self.jobs.owned(principal, job_id)
        if job.kind != JobKind.run.value:
            raise NotFound("run not found")
        return job

    async def patch_bot(self, job: Job, index: int, patch: BotPatch) -> RunPatch:
        if index not in (0, 1):
            raise NotFound(f"a run has bots 0 and 1, not {index}")
        if JobStatus(job.status).terminal:
            raise Conflict(f"the run is {job.status}; only a queued or running run can change")
        finished_turns = sum(1 for turn in await self.runs.turns(job.id) if turn.complete)
        if finished_turns >= RunInput.model_validate(job.input).max_turns - 1:
            raise Conflict("the run is on its last turn; there is no next turn to change")
        changes = patch.model_dump(exclude_unset=True)
        if "model" in changes:
            check_model(changes["model"], self.state.settings.providers)
        return await self.runs.add_patch(job.id, index, changes)

    async def export(self, job: Job) -> RunExport:
        payload = RunInput.model_validate(job.input)
        names = payload.bot_names()
        turns = [
            TurnOut.model_validate(turn).model_copy(update={"name": names[turn.bot]})
            for turn in await self.runs.turns(job.id)
        ]
        usage = Usage()
        for turn in turns:
            usage = usage + turn.usage
        return RunExport(
            id=job.id,
            status=JobStatus(job.status),
            topic=payload.topic,
            max_turns=payload.max_turns,
            bots=payload.bots,
            turns=turns,
            patches=[PatchOut.model_validate(p) for p in await self.runs.patches(job.id)],
            usage=usage,
            error=ErrorInfo.model_validate(job.error) if job.error else None,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


def export_markdown(export: RunExport) -> str:
    names = [bot.name or f"bot{i}" for i, bot in enumerate(export.bots)]
    lines = [
        f"# Run {export.id}",
        "",
        f"**Topic:** {export.topic}",
        "",
        f"**Status:** {export.status.value} · {len(export.turns)} of {export.max_turns} turns"
        f" · {export.usage.input_tokens} tokens in, {export.usage.output_tokens} out",
        "",
    ]
    for index, bot in enumerate(export.bots):
        temperature = "the model's default" if bot.temperature is None else bot.temperature
        lines.append(f"- **{names[index]}**: `{bot.model}`, temperature {temperature}")
    for patch in export.patches:
        applied = (
            f"from turn {patch.applies_from_turn + 1}"
            if patch.applies_from_turn is not None
            else "never applied (the run ended first)"
        )
        lines.append(f"- patch to {names[patch.bot]} {applied}: {patch.changes}")
    for turn in export.turns:
        marker = "" if turn.complete else " *(incomplete)*"
        lines += [
            "",
            f"## Turn {turn.turn + 1} — {turn.name} (`{turn.model}`){marker}",
            "",
            turn.content,
        ]
    if export.error:
        lines += ["", f"**Error:** {export.error.code}: {export.error.message}"]
    return "\n".join(lines) + "\n"
