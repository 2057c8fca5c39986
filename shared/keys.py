"""Every Redis key and channel name Switchyard uses, in one place."""

from __future__ import annotations

from uuid import UUID

CONTROL_CHANNEL = "switchyard:control"  # worker control messages: "cancel <job_id>"
MODELS_CACHE = "switchyard:models"
MODELS_REFRESH_LOCK = "switchyard:models:refresh"


def events_stream(job_id: UUID | str) -> str:
    return f"job:{job_id}:events"


def events_channel(job_id: UUID | str) -> str:
    return f"job:{job_id}"


def cancel_flag(job_id: UUID | str) -> str:
    return f"job:{job_id}:cancel"


def discard_flag(job_id: UUID | str) -> str:
    """Set with a cancel when the reply should be discarded, not kept (rollback)."""
    return f"job:{job_id}:discard"


def workers(queue: str) -> str:
    """Sorted set of worker hostnames consuming `queue`, scored by their last heartbeat."""
    return f"switchyard:workers:{queue}"


def sandbox_probes() -> str:
    """Hash of sandbox worker hostname -> its isolation probe at start, refreshed per heartbeat."""
    return "switchyard:sandbox:probes"


def rate_limit(scope: str, subject: str) -> str:
    return f"switchyard:ratelimit:{scope}:{subject}"


def auth_failures(user: str, window: int) -> str:
    return f"switchyard:authfail:{user}:{window}"


def active_jobs(owner_id: UUID | str) -> str:
    return f"switchyard:active:{owner_id}"


def agents(owner_id: UUID | str) -> str:
    """Hash of a user's default model per job kind (`/api/agents`)."""
    return f"switchyard:agents:{owner_id}"
