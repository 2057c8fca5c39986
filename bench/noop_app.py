"""The bare-Celery baseline of the submission benchmark: Switchyard's own Celery configuration
and broker, and a task that only counts itself in Redis.

    celery -A bench.noop_app worker -Q bench-noop --pool threads ...
"""

from __future__ import annotations

import redis

from shared.queue import create_celery
from shared.settings import get_settings

QUEUE = "bench-noop"
COUNTER = "bench:noop:done"

app = create_celery("switchyard-bench-noop", get_settings())
app.conf.task_routes = {"bench.noop": {"queue": QUEUE}}
app.conf.beat_schedule = {}
_redis: redis.Redis | None = None


@app.task(name="bench.noop", ignore_result=True)
def noop(index: int) -> None:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(get_settings().store.redis_url)
    _redis.incr(COUNTER)
