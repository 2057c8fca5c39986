"""Database engine and session factory, built explicitly by each process at start-up."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.settings import StoreSettings

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(settings: StoreSettings, *, pool_size: int | None = None) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=pool_size or settings.db_pool_size,
        pool_pre_ping=True,
    )


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
