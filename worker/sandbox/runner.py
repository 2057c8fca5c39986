"""The sandbox as the execute handler sees it: a box holding the code, and runs inside it."""

from __future__ import annotations

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
from worker.sandbox import verdicts
from worker.sandbox.bwrap import (
    RESULT_FD_PLACEHOLDER,
    OutputCallback,
    ProcessOutcome,
    command,
    find_python,
    run_process,
)
from worker.sandbox.limits import SandboxLimits

log = get_logger(__name__)
HARNESS = Path(__file__).with_name("harness.py")


@dataclass
class Box:
    """A host folder bound read-only at /box: the code, the harness, specs and stdin files."""

    path: Path
    isolated: bool
    harness: str = ""  # what the interpreter runs, as seen from where it runs
    _files: int = 0

    def inside(self, name: str) -> str:
        return f"/box/{name}" if self.isolated else str(self.path / name)

    def add(self, content: str | bytes, suffix: str) -> str:
        self._files += 1
        name = f"f{self._files}{suffix}"
        data = content.encode() if isinstance(content, str) else content
        (self.path / name).write_bytes(data)
        os.chmod(self.path / name, 0o644)
        return self.inside(name)


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


class Sandbox:
    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self._isolated: bool | None = None
        self._harness: dict[bool, bytes | None] = {}  # compiled once per interpreter choice

    @property
    def python(self) -> str:
        if self._isolated is False:
            return sys.executable
        return find_python(self.settings.python)

    async def ensure_available(self) -> None:
        """Refuse to run code where bubblewrap cannot isolate, unless unsafe mode is on."""
        if self._isolated is None:
            self._isolated = await self._probe()
        if not self._isolated and not self.settings.allow_unsafe:
            raise SandboxUnavailable(
                "this worker cannot isolate code (bubblewrap is missing or user namespaces are "
                "blocked); execution is refused. Set SANDBOX_ALLOW_UNSAFE=true only on a "
                "development machine."
            )
        if not self._isolated:
            log.warning("sandbox.UNSAFE", detail="running code WITHOUT isolation")

    async def _probe(self) -> bool:
        if shutil.which("bwrap") is None:
            return False
        if os.geteuid() not in (0, self.settings.uid):
            # Only root may switch uids: a worker running as uid N needs SANDBOX_UID=N.
            log.warning("sandbox.uid_unreachable", worker_uid=os.geteuid(), uid=self.settings.uid)
        try:
            with self.box("pass") as box:
                outcome = await self.run(box, "run", {}, SandboxLimits(wall_time_limit=10))
        except (OSError, FileNotFoundError) as exc:
            log.warning("sandbox.probe_failed", error=str(exc))
            return False
        if outcome.exit_code != 0:
            log.warning("sandbox.probe_failed", stderr=outcome.stderr[-500:])
        return outcome.exit_code == 0

    @contextlib.contextmanager
    def box(self, code: str) -> Iterator[Box]:
        path = Path(tempfile.mkdtemp(prefix="switchyard-box-"))
        try:
            os.chmod(path, 0o755)
            box = Box(path, isolated=self._isolated is not False)
            files = {"code.py": code.encode(), "harness.py": HARNESS.read_bytes()}
            compiled = self._compiled_harness(box)
            if compiled is not None:
                files["harness.pyc"] = compiled  # the source stays for tracebacks' lines
            for name, data in files.items():
                (path / name).write_bytes(data)
                os.chmod(path / name, 0o644)
            box.harness = box.inside("harness.pyc" if compiled else "harness.py")
            yield box
        finally:
            shutil.rmtree(path, ignore_errors=True)

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
        harness = [self.python, "-I", "-S", box.harness, mode, spec_path, RESULT_FD_PLACEHOLDER]
        argv = command(box.path, harness, limits, self.settings) if box.isolated else harness
        uid = self.settings.uid if box.isolated else None
        return await run_process(argv, limits, uid, on_output)
