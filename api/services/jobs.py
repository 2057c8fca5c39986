"""Submitting, finding and cancelling jobs.

Submission is two steps so that a job is enqueued only after its row is committed:
`JobService.create()` inserts (the route commits), then `JobService.enqueue()` sends the task
by name. If the broker refuses, the job is marked failed and the client gets 503.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.state import AppState
from shared import keys, metrics
from shared.errors import NotFound, ServiceUnavailable
from shared.logging import get_logger
from shared.models import Job
from shared.queue import QUEUE_OF, TASKS
from shared.repositories.jobs import JobRepository, NewJob
from shared.schemas.events import DoneEvent, ErrorEvent, StatusEvent
from shared.schemas.job_state import ErrorInfo, JobKind, JobStatus, Usage
from shared.schemas.jobs import JobOut

log = get_logger(__name__)

_CANCEL_FLAG_TTL_SECONDS = 24 * 3600


def job_out(job: Job) -> JobOut:
    out = JobOut.model_validate(job)
    out.events_url = f"/api/jobs/{job.id}/events"
    return out


class JobService:
    def __init__(self, state: AppState, session: AsyncSession) -> None:
        self.state = state
        self.session = session
        self.jobs = JobRepository(session)

    async def create(
        self,
        principal: Principal,
        kind: JobKind,
        payload: BaseModel,
        *,
        model: str | None = None,
        conversation_id: UUID | None = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
    ) -> tuple[Job, bool]:
        """Insert the job (not committed). Returns (job, created); created is False when the
        idempotency key was used before and the existing job is returned instead."""
        limits = self.state.settings.auth
        if not limits.dev_mode:
            await self.state.limiter.hit(
                "jobs", str(principal.user_id), limit=limits.job_rate_limit_per_minute
            )
        new = NewJob(
            kind=kind,
            owner_id=principal.user_id,
            input=payload.model_dump(mode="json", exclude_none=True),
            model=model,
            conversation_id=conversation_id,
            idempotency_key=idempotency_key,
            request_id=request_id,
        )
        return await self.jobs.create(new)

    async def submit(
        self,
        principal: Principal,
        kind: JobKind,
        payload: BaseModel,
        *,
        model: str | None = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
    ) -> Job:
        """Create the job, commit, and only then send its task (a retried idempotent request
        gets the existing job, sent once)."""
        job, created = await self.create(
            principal,
            kind,
            payload,
            model=model,
            idempotency_key=idempotency_key,
            request_id=request_id,
        )
        await self.session.commit()
        if created:
            await self.enqueue(job)
        return job

    async def enqueue(self, job: Job) -> None:
        """Send the job's task; call only after the job's row is committed."""
        kind = JobKind(job.kind)
        try:
            await asyncio.to_thread(
                self.state.celery.send_task,
                TASKS[kind],
                args=[str(job.id)],
                queue=QUEUE_OF[kind],
                retry=False,
            )
        except Exception as exc:
            log.error("job.enqueue_failed", job_id=str(job.id), error=str(exc))
            error = ErrorInfo(
                code="enqueue_failed", message="the job queue is unavailable", retryable=True
            )
            failed = await self.jobs.fail_unstarted(job.id, error.model_dump())
            await self.session.commit()
            if failed is not None:
                await self._publish_end(failed)
            raise ServiceUnavailable("the job queue is unavailable; try again shortly") from exc

    async def owned(self, principal: Principal, job_id: UUID) -> Job:
        job = await self.jobs.get_owned(job_id, principal.user_id)
        if job is None or (principal.job_scope is not None and principal.job_scope != job_id):
            raise NotFound("job not found")
        return job

    async def cancel(self, job: Job) -> Job:
        """Idempotent: a queued job ends at once; a running one is asked to stop."""
        status = JobStatus(job.status)
        if status.terminal:
            return job
        if status is JobStatus.queued:
            cancelled = await self.jobs.cancel_queued(job.id)
            if cancelled is not None:
                await self.session.commit()
                await self._publish_end(cancelled)
                return cancelled
        marked = await self.jobs.mark_cancel_requested(job.id)
        await self.session.commit()
        await self.request_worker_cancel(job.id)
        return marked or job

    async def request_worker_cancel(self, job_id: UUID) -> None:
        async with self.state.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.cancel_flag(job_id), "1", ex=_CANCEL_FLAG_TTL_SECONDS)
            pipe.publish(keys.CONTROL_CHANNEL, f"cancel {job_id}")
            await pipe.execute()

    async def _publish_end(self, job: Job) -> None:
        """The log of a job that never reached a worker: a status, then `done`."""
        events = self.state.events
        status = JobStatus(job.status)
        await events.publish(StatusEvent(job_id=job.id, status=status, attempt=job.attempt))
        if job.error:
            error = ErrorInfo.model_validate(job.error)
            await events.publish(ErrorEvent(job_id=job.id, **error.model_dump()))
        await events.publish(
            DoneEvent(job_id=job.id, status=status, usage=Usage.model_validate(job.usage or {}))
        )
        await events.archive(job.id)
        await metrics.record_finished(self.state.redis, metrics.finished_job(job))
