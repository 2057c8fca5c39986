from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Job
from shared.schemas.job_state import JobKind, JobStatus


@dataclass(frozen=True, slots=True)
class NewJob:
    kind: JobKind
    owner_id: UUID
    input: dict[str, Any]
    model: str | None = None
    conversation_id: UUID | None = None
    idempotency_key: str | None = None
    request_id: str | None = None


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, new: NewJob) -> tuple[Job, bool]:
        """Insert a queued job; with an idempotency key already used, return that job instead.

        Returns (job, created).
        """
        values = {
            "kind": new.kind.value,
            "owner_id": new.owner_id,
            "input": new.input,
            "model": new.model,
            "conversation_id": new.conversation_id,
            "idempotency_key": new.idempotency_key,
            "request_id": new.request_id,
            "status": JobStatus.queued.value,
            "usage": {},
            "attempt": 0,
        }
        statement = (
            insert(Job)
            .values(values)
            .on_conflict_do_nothing(constraint="uq_jobs_owner_idempotency_key")
            .returning(Job)
        )
        job = await self.session.scalar(statement)
        if job is not None:
            return job, True
        existing = await self.session.scalar(
            select(Job).where(
                Job.owner_id == new.owner_id, Job.idempotency_key == new.idempotency_key
            )
        )
        assert existing is not None  # the conflict proves it exists
        return existing, False

    async def get(self, job_id: UUID) -> Job | None:
        return await self.session.get(Job, job_id, populate_existing=True)

    async def get_owned(self, job_id: UUID, owner_id: UUID) -> Job | None:
        return await self.session.scalar(
            select(Job).where(Job.id == job_id, Job.owner_id == owner_id)
        )

    async def list_owned(
        self,
        owner_id: UUID,
        *,
        kind: JobKind | None,
        status: JobStatus | None,
        limit: int,
        before: datetime | None,
    ) -> list[Job]:
        query = select(Job).where(Job.owner_id == owner_id)
        if kind is not None:
            query = query.where(Job.kind == kind.value)
        if status is not None:
            query = query.where(Job.status == status.value)
        if before is not None:
            query = query.where(Job.created_at < before)
        query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
        return list((await self.session.scalars(query)).all())

    async def claim(
        self, job_id: UUID, worker: str, lease: timedelta, max_attempts: int
    ) -> Job | None:
        """Atomically take a queued job, or a running one whose lease expired (its worker died)
        while it has attempts left; past the cap only the reaper may end it."""
        now = func.now()
        statement = (
            update(Job)
            .where(
                Job.id == job_id,
                or_(
                    Job.status == JobStatus.queued.value,
                    and_(
                        Job.status == JobStatus.running.value,
                        Job.lease_until < now,
                        Job.attempt < max_attempts,
                    ),
                ),
            )
            .values(
                status=JobStatus.running.value,
                attempt=Job.attempt + 1,
                lease_until=now + lease,
                started_at=func.coalesce(Job.started_at, now),
                worker=worker,
            )
            .returning(Job)
        )
        return await self.session.scalar(statement)

    async def renew_lease(self, job_id: UUID, attempt: int, lease: timedelta) -> bool:
        """Extend the lease of our own attempt; False means it is no longer ours."""
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.attempt == attempt, Job.status == JobStatus.running.value)
            .values(lease_until=func.now() + lease)
            .returning(Job.id)
        )
        return await self.session.scalar(statement) is not None

    async def finish(
        self,
        job_id: UUID,
        attempt: int,
        *,
        status: JobStatus,
        result: dict[str, Any] | None,
        error: dict[str, Any] | None,
        usage: dict[str, Any],
        first_token_at: datetime | None = None,
    ) -> Job | None:
        """Write the outcome of our attempt in one statement; None if the attempt was superseded."""
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.attempt == attempt, Job.status == JobStatus.running.value)
            .values(
                status=status.value,
                result=result,
                error=error,
                usage=usage,
                lease_until=None,
                finished_at=func.now(),
                first_token_at=func.coalesce(Job.first_token_at, first_token_at),
            )
            .returning(Job)
        )
        return await self.session.scalar(statement)

    async def cancel_queued(self, job_id: UUID) -> Job | None:
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued.value)
            .values(
                status=JobStatus.cancelled.value,
                cancel_requested_at=func.coalesce(Job.cancel_requested_at, func.now()),
                finished_at=func.now(),
            )
            .returning(Job)
        )
        return await self.session.scalar(statement)

    async def mark_cancel_requested(self, job_id: UUID) -> Job | None:
        statement = (
            update(Job)
            .where(Job.id == job_id)
            .values(cancel_requested_at=func.coalesce(Job.cancel_requested_at, func.now()))
            .returning(Job)
        )
        return await self.session.scalar(statement)

    async def fail_unstarted(self, job_id: UUID, error: dict[str, Any]) -> Job | None:
        """Fail a job that never reached a worker (e.g. the broker refused it)."""
        statement = (
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued.value)
            .values(status=JobStatus.failed.value, error=error, finished_at=func.now())
            .returning(Job)
        )
        return await self.session.scalar(statement)

    async def requeue_expired(self, max_attempts: int) -> list[Job]:
        """Running jobs whose lease expired and that may try again go back to queued."""
        statement = (
            update(Job)
            .where(
                Job.status == JobStatus.running.value,
                Job.lease_until < func.now(),
                Job.attempt < max_attempts,
                Job.cancel_requested_at.is_(None),
            )
            .values(status=JobStatus.queued.value, lease_until=None, worker=None)
            .returning(Job)
        )
        return list((await self.session.scalars(statement)).all())

    async def expire_again(self, job_id: UUID) -> None:
        """Hand a requeued job whose message could not be sent back to the reaper's next sweep:
        running with an expired lease, as if its worker had just died."""
        await self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued.value)
            .values(status=JobStatus.running.value, lease_until=func.now())
        )

    async def fail_expired(self, max_attempts: int) -> list[Job]:
        """Running jobs whose lease expired with no attempt left (or a pending cancel) end."""
        exhausted = Job.attempt >= max_attempts
        cancelled = Job.cancel_requested_at.is_not(None)
        statement = (
            update(Job)
            .where(
                Job.status == JobStatus.running.value,
                Job.lease_until < func.now(),
                or_(exhausted, cancelled),
            )
            .values(
                status=case((cancelled, JobStatus.cancelled.value), else_=JobStatus.failed.value),
                error=case(
                    (cancelled, None),
                    else_=func.jsonb_build_object(
                        "code",
                        "worker_lost",
                        "message",
                        func.format(
                            "the worker running this job stopped responding %s times; "
                            "giving up after %s attempts",
                            Job.attempt,
                            max_attempts,
                        ),
                        "retryable",
                        True,
                    ),
                ),
                lease_until=None,
                finished_at=func.now(),
            )
            .returning(Job)
        )
        return list((await self.session.scalars(statement)).all())
