"""Jobs as the older, synchronous endpoints saw them: submit, wait for `done`, read the result.

The native routes create the job (validation, default model, rate limit, enqueue after
commit); these helpers only wait for it, as `POST /api/chat?wait=true` does, and turn a job
that did not succeed into the error a synchronous endpoint would have answered.
"""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from api.routes.chat import wait_for_done
from api.state import AppState
from shared import errors
from shared.models import Job
from shared.repositories.jobs import JobRepository
from shared.schemas.job_state import ErrorInfo, JobStatus

Input = TypeVar("Input", bound=BaseModel)


def native_input(schema: type[Input], /, **fields: Any) -> Input:
    """The native job input built from an older body: a 422 (not a 500) when it does not fit."""
    try:
        return schema.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise errors.Invalid(f"{field}: {first['msg']}", field=field) from exc


async def finished(state: AppState, session: AsyncSession, job_id: UUID) -> Job:
    """Wait for the job's `done` (no database connection held meanwhile) and reload it."""
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


async def reload(session: AsyncSession, job_id: UUID) -> Job:
    session.expire_all()
    job = await JobRepository(session).get(job_id)
    if job is None:
        raise errors.NotFound("job not found")
    return job


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
