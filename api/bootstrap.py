"""Start-up: the bootstrap user from BASIC_AUTH_USER / BASIC_AUTH_PW_HASH."""

from __future__ import annotations

from api.state import AppState
from shared.logging import get_logger
from shared.repositories.users import UserRepository

log = get_logger(__name__)


async def bootstrap_user(state: AppState) -> None:
    auth = state.settings.auth
    if not auth.basic_auth_user:
        return
    if not auth.basic_auth_pw_hash.startswith("$2"):
        log.error(
            "BASIC_AUTH_PW_HASH is not a bcrypt hash; bootstrap user not created",
            user=auth.basic_auth_user,
        )
        return
    async with state.sessions.begin() as session:
        await UserRepository(session).upsert(auth.basic_auth_user, auth.basic_auth_pw_hash)
    log.info("auth.bootstrap_user", user=auth.basic_auth_user)
