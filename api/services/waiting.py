"""Waiting for a job to end, and reading how it ended: what a synchronous answer needs.

`POST /api/chat?wait=true` and every older endpoint that answered at once wait here: follow
the job's log until `done` (no database connection held meanwhile), reload the row, and turn
a job that did not succeed into the error its status and code name.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.state import AppState
from shared import errors
from shared.models import Job
from shared.repositories.jobs import JobRepository
from shared.schemas.job_state import ErrorInfo, JobStatus


async def wait_for_done(state: AppState, job: Job, seconds: float) -> bool:
    """Follow the job's log until `done`; False if it did not end within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            async for _ in state.follower.follow(job, None):
                pass
    except TimeoutError:
        return False
    return True


async def reload(session: AsyncSession, job_id: UUID) -> Job:
    session.expire_all()
    job = await JobRepository(session).get(job_id)
    if job is None:
        raise errors.NotFound("job not found")
    return job


async def finished(state: AppState, session: AsyncSession, job_id: UUID) -> Job:
    """The job once it has ended; 503 naming the job when it runs past the wait."""
    job = await reload(session, job_id)
    await session.close()
    seconds = state.settings.jobs.chat_wait_timeout_seconds
    if not await wait_for_done(state, job, seconds):
        raise errors.ServiceUnavailable(
            f"job {job_id} did not finish within {seconds:g} s; "
            f"follow it at /api/jobs/{job_id}/events",
            retryable=False,
        )
    return await reload(session, job_id)


def result_of(job: Job) -> dict[str, Any]:
    """The result of a job that succeeded; otherwise raise its error."""
    if job.status == JobStatus.succeeded and job.result is not None:
        return job.result
    raise job_error(job)


def job_error(job: Job) -> errors.SwitchyardError:
    """The job's stored error as the exception (status, code) the API renders."""
    if job.status == JobStatus.cancelled:
        return errors.JobCancelled("the job was cancelled")
    info = ErrorInfo.model_validate(job.error or {"code": "internal_error", "message": ""})
    error = errors.SwitchyardError(info.message or "the job failed", retryable=info.retryable)
    error.code = info.code
    error.status_code = _STATUS_OF.get(info.code, 502)
    return error


def latency_ms(job: Job) -> int | None:
    if job.finished_at is None:
        return None
    return round((job.finished_at - job.created_at).total_seconds() * 1000)


def _error_classes(base: type[errors.SwitchyardError]) -> list[type[errors.SwitchyardError]]:
    found = [base]
    for sub in base.__subclasses__():
        found += _error_classes(sub)
    return found


_STATUS_OF = {cls.code: cls.status_code for cls in _error_classes(errors.SwitchyardError)}
