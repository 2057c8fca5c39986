"""The sandbox as the execute handler sees it: a box holding the code, and runs inside it."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import marshal
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import SandboxUnavailable
from shared.logging import get_logger
from shared.schemas.execute import Verdict
from shared.settings import SandboxSettings
from worker.sandbox import probe, verdicts
from worker.sandbox.bwrap import (
    OutputCallback,
    ProcessOutcome,
    command,
    find_python,
    run_process,
)
from worker.sandbox.limits import SandboxLimits
from worker.sandbox.pipes import RESULT_FD_PLACEHOLDER
from worker.sandbox.uids import UidPool

log = get_logger(__name__)
HARNESS = Path(__file__).with_name("harness.py")


@dataclass
class Box:
    """A host folder bound read-only at /box: the code, the harness, specs and stdin files.
    Isolated, it and its files belong to the job's own uid, mode 0700/0400: no other job (nor
    any other unprivileged user of the host) can list or read them."""

    path: Path
    isolated: bool
    uid: int | None = None  # the job's uid (None: unsafe mode, the worker's own)
    harness: str = ""  # what the interpreter runs, as seen from where it runs
    _files: int = 0

    def inside(self, name: str) -> str:
        return f"/box/{name}" if self.isolated else str(self.path / name)

    def add(self, content: str | bytes, suffix: str) -> str:
        self._files += 1
        name = f"f{self._files}{suffix}"
        self.write(name, content.encode() if isinstance(content, str) else content)
        return self.inside(name)

    def write(self, name: str, data: bytes) -> None:
        target = self.path / name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o400)
        with open(fd, "wb") as handle:
            handle.write(data)
        self.own(target)

    def own(self, target: Path) -> None:
        if self.uid is not None and self.uid != os.geteuid():
            os.chown(target, self.uid, self.uid)


def compiled_harness(python: str, filename: str) -> bytes | None:
    """The harness as a .pyc, when `python` is this interpreter's version (so its magic number
    and bytecode match): that saves compiling it (~1 ms) on every execution. None otherwise."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if sys.implementation.name != "cpython" or Path(python).name != version:
        return None
    code = compile(HARNESS.read_bytes(), filename, "exec", dont_inherit=True)
    # A .pyc run as a script: magic, then 12 header bytes the interpreter skips, then the code.
    return importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)


def classify(outcome: ProcessOutcome, limits: SandboxLimits) -> Verdict:
    if outcome.output_exceeded:
        return verdicts.OUTPUT_LIMIT
    if outcome.timed_out:
        return verdicts.TIME_LIMIT
    if outcome.signal is not None:
        if outcome.signal == 9 and outcome.cpu_time >= limits.cpu_time_limit:
            return verdicts.TIME_LIMIT  # the hard RLIMIT_CPU kills with SIGKILL
        return verdicts.for_signal(outcome.signal)
    if outcome.exit_code == verdicts.MEMORY_ERROR_EXIT:
        return verdicts.MEMORY_LIMIT
    if outcome.exit_code == verdicts.FILE_SIZE_EXIT:
        return verdicts.RUNTIME_SIGXFSZ
    if outcome.exit_code != 0:
        return verdicts.RUNTIME_NZEC
    return verdicts.ACCEPTED


def probe_at_start(settings: SandboxSettings) -> probe.ProbeResult:
    """The self-test a sandbox worker runs before it takes a job; its pool inherits the result."""
    result = asyncio.run(probe.run(Sandbox(settings)))
    probe.remember(result)
    return result


class Sandbox:
    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.uids = UidPool(settings.uid, settings.uid_count, settings.uid_lock_dir)
        started = probe.at_start()  # the worker's probe at start, when it ran one
        self.probed: probe.ProbeResult | None = started
        self._harness: dict[bool, bytes | None] = {}  # compiled once per interpreter choice

    @property
    def _isolated(self) -> bool | None:
        return None if self.probed is None else self.probed.isolated

    @property
    def python(self) -> str:
        if self._isolated is False:
            return sys.executable
        return find_python(self.settings.python)

    async def ensure_available(self) -> None:
        """Refuse to run code where the sandbox cannot isolate, unless unsafe mode is on."""
        if self.probed is None:
            self.probed = await probe.run(self)
        if not self.probed.isolated and not self.settings.allow_unsafe:
            raise SandboxUnavailable(
                f"this worker cannot isolate code ({self.probed.detail}); execution is "
                "refused. Set SANDBOX_ALLOW_UNSAFE=true only on a development machine."
            )
        if not self.probed.isolated:
            log.warning("sandbox.UNSAFE", detail="running code WITHOUT isolation")

    @contextlib.contextmanager
    def box(self, code: str, isolated: bool | None = None) -> Iterator[Box]:
        """A box for `code`, under a uid leased for as long as the box lives."""
        isolated = self._isolated is not False if isolated is None else isolated
        with contextlib.ExitStack() as stack:
            uid = stack.enter_context(self.uids.lease()) if isolated else None
            path = Path(tempfile.mkdtemp(prefix="switchyard-box-"))  # 0700
            stack.callback(shutil.rmtree, path, ignore_errors=True)
            box = Box(path, isolated=isolated, uid=uid)
            box.own(path)
            compiled = self._compiled_harness(box)
            box.write("code.py", code.encode())
            box.write("harness.py", HARNESS.read_bytes())  # the source, for tracebacks' lines
            if compiled is not None:
                box.write("harness.pyc", compiled)
            box.harness = box.inside("harness.pyc" if compiled else "harness.py")
            yield box

    def _compiled_harness(self, box: Box) -> bytes | None:
        if box.isolated not in self._harness:
            filename = box.inside("harness.py")
            self._harness[box.isolated] = compiled_harness(self.python, filename)
        return self._harness[box.isolated]

    async def run(
        self,
        box: Box,
        mode: str,
        spec: dict[str, Any],
        limits: SandboxLimits,
        on_output: OutputCallback | None = None,
        stdin: str = "",
    ) -> ProcessOutcome:
        full = {
            **spec,
            "limits": limits.as_dict(),
            "code_path": box.inside("code.py"),
            "stdin_path": box.add(stdin, ".in") if stdin else "/dev/null",
        }
        # marshal, not JSON: the harness would pay ~5 ms a start importing json (and re).
        spec_path = box.add(marshal.dumps(full, 4), ".spec")
        harness = [self.python, "-I", "-S", box.harness, mode, spec_path]
        if mode != "run":  # a plain run reports nothing: it gets no result pipe at all
            harness.append(RESULT_FD_PLACEHOLDER)
        if not box.isolated:
            return await run_process(harness, limits, None, on_output)
        assert box.uid is not None
        argv = command(box.path, harness, limits, self.settings, box.uid)
        return await run_process(argv, limits, box.uid, on_output)
