from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_name(self, name: str) -> User | None:
        return await self.session.scalar(select(User).where(User.name == name))

    async def upsert(self, name: str, password_hash: str) -> User:
        statement = (
            insert(User)
            .values(name=name, password_hash=password_hash)
            .on_conflict_do_update(
                index_elements=[User.name], set_={"password_hash": password_hash}
            )
            .returning(User)
        )
        user = await self.session.scalar(statement)
        assert user is not None
        return user

    async def create(self, name: str, password_hash: str) -> User | None:
        """Insert a new user; None when the name is taken."""
        statement = (
            insert(User)
            .values(name=name, password_hash=password_hash)
            .on_conflict_do_nothing(index_elements=[User.name])
            .returning(User)
        )
        return await self.session.scalar(statement)
