"""Celery tasks: thin shims that hand a job id to the lifecycle on this process's loop."""

from __future__ import annotations

from uuid import UUID

from shared.queue import REAP_TASK, REFRESH_MODELS_TASK, TASKS
from shared.schemas.job_state import JobKind
from worker.app import app
from worker.catalogue import refresh_catalogue
from worker.lifecycle import run_job
from worker.reaper import reap
from worker.runtime import get_runtime


def _run(job_id: str) -> None:
    runtime = get_runtime()
    runtime.call(run_job(runtime.resources, UUID(job_id)))


def _register(kind: JobKind) -> None:
    app.task(name=TASKS[kind], ignore_result=True)(_run)


for _kind in JobKind:
    _register(_kind)


@app.task(name=REAP_TASK, ignore_result=True)
def reap_expired_leases() -> dict[str, int]:
    runtime = get_runtime()
    return runtime.call(reap(runtime.resources, app))


@app.task(name=REFRESH_MODELS_TASK, ignore_result=True)
def refresh_models() -> int:
    runtime = get_runtime()
    return len(runtime.call(refresh_catalogue(runtime.resources)).models)
