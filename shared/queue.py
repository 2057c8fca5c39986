"""Celery configuration, task names and queue routing: what the API and the workers agree on.

The API enqueues by name (`send_task(TASKS[kind], args=[job_id])`) and never imports worker
code. The Celery app the workers run lives in `worker/app.py`.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from shared.schemas.job_state import JobKind
from shared.settings import Settings

LLM_QUEUE = "llm"
SANDBOX_QUEUE = "sandbox"
QUEUES = (LLM_QUEUE, SANDBOX_QUEUE)

TASKS: dict[JobKind, str] = {
    JobKind.chat: "switchyard.jobs.chat",
    JobKind.run: "switchyard.jobs.run",
    JobKind.judge: "switchyard.jobs.judge",
    JobKind.execute: "switchyard.jobs.execute",
}
QUEUE_OF: dict[JobKind, str] = {
    JobKind.chat: LLM_QUEUE,
    JobKind.run: LLM_QUEUE,
    JobKind.judge: LLM_QUEUE,
    JobKind.execute: SANDBOX_QUEUE,
}
REAP_TASK = "switchyard.maintenance.reap"
REFRESH_MODELS_TASK = "switchyard.maintenance.refresh_models"

# Longest a job may hold a message before the broker redelivers it. Above any job's duration;
# a dead worker's job is recovered sooner by the reaper (lease expiry), not by this.
VISIBILITY_TIMEOUT_SECONDS = 6 * 3600


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.store.celery_broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": LLM_QUEUE,
        "task_routes": {
            **{name: {"queue": QUEUE_OF[kind]} for kind, name in TASKS.items()},
            REAP_TASK: {"queue": LLM_QUEUE},
            REFRESH_MODELS_TASK: {"queue": LLM_QUEUE},
        },
        # No `task-sent` event per job: it is one more Redis publish on the API's submit path
        # (~10 % of its CPU per job). Flower shows each task from `task-received` on.
        "task_send_sent_event": False,
        "worker_send_task_events": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            "reap-expired-leases": {
                "task": REAP_TASK,
                "schedule": settings.jobs.reaper_interval_seconds,
                "options": {"expires": settings.jobs.reaper_interval_seconds},
            },
            "refresh-models": {
                "task": REFRESH_MODELS_TASK,
                "schedule": 3600.0,
                "options": {"expires": 600},
            },
        },
    }


def create_celery(name: str, settings: Settings) -> Celery:
    app = Celery(name)
    app.conf.update(celery_config(settings))
    return app
