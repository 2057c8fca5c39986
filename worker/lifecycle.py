"""The life of one job attempt, as named steps: claim, announce, handle (under a lease and a
cancel watch), settle the outcome, finish in one transaction, and always publish `done`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from shared import metrics
from shared.errors import SwitchyardError
from shared.logging import get_logger
from shared.models import Job
from shared.repositories.jobs import JobRepository
from shared.schemas.events import DoneEvent, ErrorEvent, Event, ResultEvent, StatusEvent
from shared.schemas.job_state import ErrorInfo, JobKind, JobStatus, Usage
from shared.storable import storable
from worker.context import JobContext
from worker.handlers import handler_for
from worker.runtime import Resources

log = get_logger(__name__)

_LEASE_STOP_SECONDS = 1.0


@dataclass(slots=True)
class Settled:
    status: JobStatus
    result: dict[str, Any] | None = None
    error: ErrorInfo | None = None
    usage: Usage = field(default_factory=Usage)


@dataclass(slots=True)
class Attempt:
    job: Job
    ctx: JobContext
    lease_lost: bool = False
    handled: bool = False  # the handler has ended: the lease loop stops (see _stop_lease)
    first_token_at: datetime | None = None


async def run_job(res: Resources, job_id: UUID) -> None:
    job = await _claim(res, job_id)
    if job is None:
        log.info("job.not_claimed", job_id=str(job_id), reason="duplicate, running or finished")
        return
    structlog.contextvars.bind_contextvars(
        job_id=str(job.id), kind=job.kind, attempt=job.attempt, request_id=job.request_id
    )
    try:
        attempt = _attempt(res, job)
        await res.events.publish(
            StatusEvent(job_id=job.id, status=JobStatus.running, attempt=job.attempt)
        )
        settled = await _handle_under_lease(res, attempt)
        if settled is not None:
            await finish(res, job.id, job.attempt, settled, attempt.first_token_at)
    finally:
        structlog.contextvars.unbind_contextvars("job_id", "kind", "attempt", "request_id")


async def _claim(res: Resources, job_id: UUID) -> Job | None:
    lease = timedelta(seconds=res.settings.jobs.lease_seconds)
    async with res.sessions.begin() as session:
        return await JobRepository(session).claim(
            job_id, res.hostname, lease, res.settings.jobs.max_attempts
        )


def _attempt(res: Resources, job: Job) -> Attempt:
    holder: list[Attempt] = []

    async def emit(event: Event) -> str:
        if event.type == "token" and holder[0].first_token_at is None:
            holder[0].first_token_at = datetime.now(UTC)
        return await res.events.publish(event)

    ctx = JobContext(
        job_id=job.id, owner_id=job.owner_id, attempt=job.attempt, resources=res, _emit=emit
    )
    holder.append(Attempt(job=job, ctx=ctx))
    return holder[0]


async def _handle_under_lease(res: Resources, attempt: Attempt) -> Settled | None:
    job = attempt.job
    task: asyncio.Task[Any] = asyncio.create_task(_call_handler(attempt.ctx, job))
    res.cancels.register(job.id, task)
    lease = asyncio.create_task(_keep_lease(res, attempt, task))
    try:
        if await res.cancels.flag_set(job.id):
            res.cancels.cancel(job.id)
        return await _settle(res, attempt, task)
    finally:
        await _stop_lease(attempt, lease)
        res.cancels.unregister(job.id)


async def _stop_lease(attempt: Attempt, lease: asyncio.Task[None]) -> None:
    """End the lease loop, without trusting cancellation alone.

    On Python 3.11 a cancel that lands while a driver's own `wait_for`/timeout fires can be
    swallowed (seen under load in bench/, inside the renewal's database or Redis call): the loop
    then renewed the lease for ever and the finished job never got its `done`. The flag ends
    the loop at its next step whatever happened to the cancel, and the job does not wait on it.
    """
    attempt.handled = True
    lease.cancel()
    await asyncio.wait({lease}, timeout=_LEASE_STOP_SECONDS)
    if lease.done() and not lease.cancelled() and lease.exception() is not None:
        log.warning("job.lease_renewal_failed", error=repr(lease.exception()))


async def _call_handler(ctx: JobContext, job: Job) -> Any:
    handler = handler_for(JobKind(job.kind))
    return await handler(ctx, job.input)


async def _settle(res: Resources, attempt: Attempt, task: asyncio.Task[Any]) -> Settled | None:
    job_id = attempt.job.id
    try:
        outcome = await task
    except asyncio.CancelledError:
        if attempt.lease_lost:
            log.warning("job.lease_lost", detail="another attempt owns the job now")
            return None
        if not res.cancels.was_cancelled(job_id):
            raise  # the worker itself is shutting down; the reaper hands the job on
        return Settled(JobStatus.cancelled, result=attempt.ctx.snapshot())
    except SwitchyardError as exc:
        log.info("job.failed", code=exc.code, retryable=exc.retryable)
        error = ErrorInfo(code=exc.code, message=exc.message, retryable=exc.retryable)
        return Settled(JobStatus.failed, result=attempt.ctx.snapshot(), error=error)
    except Exception:
        log.exception("job.crashed")
        error = ErrorInfo(code="internal_error", message="the job failed unexpectedly; see logs")
        return Settled(JobStatus.failed, result=attempt.ctx.snapshot(), error=error)
    result = outcome.result.model_dump(mode="json", by_alias=True)
    return Settled(JobStatus.succeeded, result=result, usage=outcome.usage)


async def _keep_lease(res: Resources, attempt: Attempt, task: asyncio.Task[Any]) -> None:
    settings = res.settings.jobs
    lease = timedelta(seconds=settings.lease_seconds)
    while not attempt.handled:
        await asyncio.sleep(settings.lease_renew_seconds)
        if attempt.handled:
            return
        async with res.sessions.begin() as session:
            ours = await JobRepository(session).renew_lease(
                attempt.job.id, attempt.job.attempt, lease
            )
        if not ours:
            attempt.lease_lost = True
            task.cancel()
            return
        if await res.cancels.flag_set(attempt.job.id):
            res.cancels.cancel(attempt.job.id)


async def finish(
    res: Resources,
    job_id: UUID,
    attempt: int,
    settled: Settled,
    first_token_at: datetime | None = None,
) -> None:
    """Write the outcome in one transaction, then publish it, `done` and archive the log.

    The write comes first and is conditional on our attempt: an attempt that stalled while the
    reaper handed the job on (or ended it) publishes nothing, so `done` stays last."""
    async with res.sessions.begin() as session:
        job = await JobRepository(session).finish(
            job_id,
            attempt,
            status=settled.status,
            result=storable(settled.result),
            error=settled.error.model_dump() if settled.error else None,
            usage=settled.usage.model_dump(),
            first_token_at=first_token_at,
        )
    if job is None:
        log.warning("job.finish_superseded", detail="the attempt lost its lease before finishing")
        return
    if settled.status is JobStatus.succeeded and settled.result is not None:
        await res.events.publish(ResultEvent(job_id=job_id, result=settled.result))
    if settled.error is not None:
        await res.events.publish(ErrorEvent(job_id=job_id, **settled.error.model_dump()))
    await res.events.publish(DoneEvent(job_id=job_id, status=settled.status, usage=settled.usage))
    await res.events.archive(job_id)
    await metrics.record_finished(res.redis, metrics.finished_job(job))
    log.info("job.finished", status=settled.status.value)
