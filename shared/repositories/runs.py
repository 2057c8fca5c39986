from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import RunPatch, RunTurn


class RunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def turns(self, job_id: UUID) -> list[RunTurn]:
        query = select(RunTurn).where(RunTurn.job_id == job_id).order_by(RunTurn.turn)
        return list((await self.session.scalars(query)).all())

    async def save_turn(self, **fields: Any) -> None:
        """Store a turn; a later attempt's version of the same turn replaces an earlier one,
        never the reverse (an attempt that stalled past its lease must not undo its successor)."""
        statement = insert(RunTurn).values(**fields)
        statement = statement.on_conflict_do_update(
            index_elements=[RunTurn.job_id, RunTurn.turn],
            set_={k: statement.excluded[k] for k in fields if k not in ("job_id", "turn")},
            where=RunTurn.attempt <= statement.excluded.attempt,
        )
        await self.session.execute(statement)

    async def drop_incomplete_turns(self, job_id: UUID) -> None:
        await self.session.execute(
            delete(RunTurn).where(RunTurn.job_id == job_id, RunTurn.complete.is_(False))
        )

    async def add_patch(self, job_id: UUID, bot: int, changes: dict[str, Any]) -> RunPatch:
        patch = RunPatch(job_id=job_id, bot=bot, changes=changes)
        self.session.add(patch)
        await self.session.flush()
        await self.session.refresh(patch)
        return patch

    async def take_pending_patches(self, job_id: UUID, turn: int) -> list[RunPatch]:
        """Mark the patches not yet applied as applying from `turn`, and return them."""
        statement = (
            update(RunPatch)
            .where(RunPatch.job_id == job_id, RunPatch.applied_at.is_(None))
            .values(applied_at=func.clock_timestamp(), applies_from_turn=turn)
            .returning(RunPatch)
        )
        patches = list((await self.session.scalars(statement)).all())
        return sorted(patches, key=lambda p: p.id)

    async def reopen_patches(self, job_id: UUID, from_turn: int) -> None:
        """Patches taken by an attempt that died before finishing their turn apply again."""
        await self.session.execute(
            update(RunPatch)
            .where(RunPatch.job_id == job_id, RunPatch.applies_from_turn >= from_turn)
            .values(applied_at=None, applies_from_turn=None)
        )

    async def applied_patches(self, job_id: UUID, before_turn: int) -> list[RunPatch]:
        query = (
            select(RunPatch)
            .where(RunPatch.job_id == job_id, RunPatch.applies_from_turn < before_turn)
            .order_by(RunPatch.id)
        )
        return list((await self.session.scalars(query)).all())

    async def patches(self, job_id: UUID) -> list[RunPatch]:
        query = select(RunPatch).where(RunPatch.job_id == job_id).order_by(RunPatch.id)
        return list((await self.session.scalars(query)).all())


def turn_fields(
    job_id: UUID,
    turn: int,
    bot: int,
    model: str,
    content: str,
    usage: dict[str, Any],
    complete: bool,
    attempt: int,
    started_at: datetime,
    finished_at: datetime,
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "turn": turn,
        "bot": bot,
        "model": model,
        "content": content,
        "usage": usage,
        "complete": complete,
        "attempt": attempt,
        "started_at": started_at,
        "finished_at": finished_at,
    }
