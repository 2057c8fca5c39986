"""The Celery app the workers, beat and Flower run:

    celery -A worker.app worker -Q llm --pool threads --concurrency 32
    celery -A worker.app worker -Q sandbox --concurrency 2
    celery -A worker.app beat
    celery -A worker.app flower

Building the app only reads configuration; connections open when a worker starts.
"""

from __future__ import annotations

from typing import Any

from celery import signals

from shared.logging import configure_logging
from shared.queue import SANDBOX_QUEUE, create_celery
from shared.settings import get_settings
from worker import heartbeat
from worker.runtime import close_runtime
from worker.sandbox.runner import probe_at_start

app = create_celery("switchyard", get_settings())
app.conf.include = ["worker.tasks"]


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    configure_logging(get_settings().observability, process="worker")


@signals.worker_init.connect
def _probe_sandbox(sender: Any = None, **_: Any) -> None:
    """A sandbox worker tests its isolation before its pool starts (the pool inherits the
    result), not on its first job: the heartbeat publishes it for `/ready`."""
    queues = sender.app.amqp.queues.consume_from if sender else {}
    if SANDBOX_QUEUE in (queues or {}):
        probe_at_start(get_settings().sandbox)


@signals.worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    queues = [queue.name for queue in sender.task_consumer.queues] if sender else []
    heartbeat.start(get_settings(), sender.hostname if sender else "worker", queues)


@signals.worker_shutdown.connect
def _stop(**_: Any) -> None:
    heartbeat.stop()
    close_runtime()


@signals.worker_process_shutdown.connect
def _stop_child(**_: Any) -> None:
    close_runtime()
