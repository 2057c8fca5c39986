"""Sandbox tests run the execute handler in this process, as the sandbox worker would, with a
context that collects the events it emits. bubblewrap and the kernel are real."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from shared.schemas.execute import ExecuteInput
from shared.settings import SandboxSettings, Settings
from worker.context import JobContext
from worker.handlers import execute
from worker.sandbox.runner import Sandbox

SECRET = "planted-secret-" + uuid.uuid4().hex
# A uid range of this session's own, so another test run's sandboxes (the default range) on the
# same host never count as ours; sandboxed code cannot change its uid, so none of ours can hide.
SANDBOX_UID_COUNT = 16
SANDBOX_UID = 300_000 + (os.getpid() % 4000) * SANDBOX_UID_COUNT
SANDBOX_UIDS = range(SANDBOX_UID, SANDBOX_UID + SANDBOX_UID_COUNT)


@dataclass
class Run:
    result: dict[str, Any]
    events: list[Any] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.result["verdict"]["status"]

    @property
    def text(self) -> str:
        """Everything a client could see of this run."""
        return json.dumps(self.result) + "".join(e.model_dump_json() for e in self.events)

    def assert_storable(self) -> None:
        """Postgres stores results and events as JSONB: no NUL, valid UTF-8."""
        for item in [self.result, *(e.model_dump(mode="json") for e in self.events)]:
            text = json.dumps(item, ensure_ascii=False)
            assert "\\u0000" not in text
            text.encode()  # raises on a lone surrogate


def sandbox_processes() -> list[str]:
    """Live processes on this host that belong to this session's sandboxes (bwrap included:
    it is started as the sandbox uid).

    Zombies do not count here (they hold no resources and run nothing); bwrap's init is reaped
    by the worker, its subreaper while a sandbox runs (test_sealed.py checks it leaves none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            owner = entry.stat().st_uid
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            zombie = "\nState:\tZ" in (entry / "status").read_text()
        except OSError:
            continue
        if zombie:
            continue
        if owner in SANDBOX_UIDS:
            found.append(f"{entry.name}: {command}")
    return found


def left_behind(before: list[str]) -> list[str]:
    """Sandbox processes alive now that were not alive before (pid and command line)."""
    return sorted(set(sandbox_processes()) - set(before))


async def eventually(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll `condition` (the kernel's process table has no event to wait on)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


@pytest.fixture(scope="session")
def planted_secret() -> str:
    """A secret in this (worker) process's environment that no sandbox may see."""
    os.environ["SWITCHYARD_PLANTED_SECRET"] = SECRET
    return SECRET


@pytest.fixture
def execute_code(planted_secret: str):  # type: ignore[no-untyped-def]
    sandbox = Sandbox(SandboxSettings(uid=SANDBOX_UID, uid_count=SANDBOX_UID_COUNT))
    before = sandbox_processes()

    async def run(code: str, **fields: Any) -> Run:
        events: list[Any] = []

        async def emit(event: Any) -> str:
            events.append(event)
            return str(len(events))

        resources = SimpleNamespace(sandbox=sandbox, settings=Settings())
        ctx = JobContext(
            job_id=uuid.uuid4(), owner_id=uuid.uuid4(), attempt=1, resources=resources, _emit=emit
        )  # type: ignore[arg-type]
        outcome = await execute.handle(ctx, ExecuteInput(code=code, **fields))
        run = Run(outcome.result.model_dump(mode="json"), events)
        assert planted_secret not in run.text  # whatever the code did, in every test
        run.assert_storable()
        return run

    yield run
    # The pid namespace is torn down as the sandbox ends; give the kernel a moment for that.
    deadline = time.monotonic() + 2
    while left_behind(before) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert left_behind(before) == []
