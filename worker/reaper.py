"""The reaper: no job stays `running` after its worker died.

A running job whose lease expired goes back to the queue (a new attempt resumes it), up to
`MAX_ATTEMPTS`; past that it fails with a clear error, and a job whose cancel was pending ends
cancelled. Either way its log gets its `done`.
"""

from __future__ import annotations

import asyncio

from celery import Celery

from shared import metrics
from shared.logging import get_logger
from shared.models import Job
from shared.queue import QUEUE_OF, TASKS
from shared.repositories.jobs import JobRepository
from shared.schemas.events import DoneEvent, ErrorEvent, StatusEvent
from shared.schemas.job_state import ErrorInfo, JobKind, JobStatus, Usage
from worker.runtime import Resources

log = get_logger(__name__)


async def reap(res: Resources, celery: Celery) -> dict[str, int]:
    max_attempts = res.settings.jobs.max_attempts
    async with res.sessions.begin() as session:
        repo = JobRepository(session)
        requeued = await repo.requeue_expired(max_attempts)
        ended = await repo.fail_expired(max_attempts)
    for job in requeued:
        await _resend(res, celery, job)
    for job in ended:
        await _announce_end(res, job)
    return {"requeued": len(requeued), "ended": len(ended)}


async def _resend(res: Resources, celery: Celery, job: Job) -> None:
    log.warning("reaper.requeued", job_id=str(job.id), attempt=job.attempt)
    status = StatusEvent(job_id=job.id, status=JobStatus.queued, attempt=job.attempt)
    await res.events.publish(status)
    kind = JobKind(job.kind)
    try:
        await asyncio.to_thread(
            celery.send_task, TASKS[kind], args=[str(job.id)], queue=QUEUE_OF[kind]
        )
    except Exception:
        # A queued job nobody will be sent stays queued forever: the next sweep tries again.
        log.exception("reaper.resend_failed", job_id=str(job.id))
        async with res.sessions.begin() as session:
            await JobRepository(session).expire_again(job.id)


async def _announce_end(res: Resources, job: Job) -> None:
    log.warning("reaper.ended", job_id=str(job.id), status=job.status)
    if job.error:
        await res.events.publish(
            ErrorEvent(job_id=job.id, **ErrorInfo.model_validate(job.error).model_dump())
        )
    usage = Usage.model_validate(job.usage or {})
    await res.events.publish(DoneEvent(job_id=job.id, status=JobStatus(job.status), usage=usage))
    await res.events.archive(job.id)
    await metrics.record_finished(res.redis, metrics.finished_job(job))
