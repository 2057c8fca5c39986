"""The descriptors one sandboxed run opens besides stdout and stderr, and the result pipe's
reading."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from worker.sandbox import seccomp

RESULT_CAP_BYTES = 1 << 20
# Replaced by the numbers of descriptors each run opens: the result pipe's write end (call and
# request modes only), the pipe bwrap reads the seccomp filter from, the one it names its init on.
RESULT_FD_PLACEHOLDER = "{result_fd}"
SECCOMP_FD_PLACEHOLDER = "{seccomp_fd}"
INFO_FD_PLACEHOLDER = "{info_fd}"
_READ_SIZE = 65536


@dataclass
class RunPipes:
    """The descriptors one run opens, and what `argv` says of each."""

    argv: list[str]
    passed: list[int] = field(default_factory=list)  # to the child; closed here once it runs
    result: int | None = None  # read ends, ours
    info: int | None = None

    @classmethod
    def open(cls, argv: list[str]) -> RunPipes:
        pipes = cls(argv)
        try:
            if RESULT_FD_PLACEHOLDER in argv:
                pipes.result = pipes._pipe(RESULT_FD_PLACEHOLDER)
            if INFO_FD_PLACEHOLDER in argv:
                pipes.info = pipes._pipe(INFO_FD_PLACEHOLDER)
            if SECCOMP_FD_PLACEHOLDER in argv:
                filter_fd = seccomp.descriptor()
                pipes.passed.append(filter_fd)
                pipes._replace(SECCOMP_FD_PLACEHOLDER, filter_fd)
        except BaseException:
            pipes.close_passed()
            for fd in (pipes.result, pipes.info):
                if fd is not None:
                    os.close(fd)
            raise
        return pipes

    def _pipe(self, placeholder: str) -> int:
        read_end, write_end = os.pipe()
        self.passed.append(write_end)
        self._replace(placeholder, write_end)
        return read_end

    def _replace(self, placeholder: str, fd: int) -> None:
        self.argv = [str(fd) if arg == placeholder else arg for arg in self.argv]

    def close_passed(self) -> None:
        for fd in self.passed:
            os.close(fd)
        self.passed = []


async def collect(pipe: asyncio.StreamReader) -> bytes:
    """What the result pipe carried, up to one byte past the cap (so an oversized report shows);
    the rest is drained and dropped, so a writer never blocks on a full pipe."""
    kept = bytearray()
    while chunk := await pipe.read(_READ_SIZE):
        kept += chunk[: max(RESULT_CAP_BYTES + 1 - len(kept), 0)]
    return bytes(kept)
