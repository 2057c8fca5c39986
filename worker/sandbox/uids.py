"""One host uid per job from a configured range, leased across every worker process on the host.

A job's processes, box folder and kernel objects belong to its own uid, so a concurrent job
cannot signal, trace or read them, and the per-uid process cap is the job's alone. A lease is a
`flock` on a file named after the uid: the kernel drops it when the holder closes it or dies,
so a crashed worker never leaks a uid. A worker that is not root cannot switch uids: its range
is its own uid, shared by its jobs (docs/sandbox.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from shared.errors import SandboxError
from shared.logging import get_logger

log = get_logger(__name__)


class UidPool:
    def __init__(self, first: int, count: int, lock_dir: str = "") -> None:
        if os.geteuid() != 0 and (first != os.geteuid() or count != 1):
            log.warning("sandbox.uid_range_unreachable", worker_uid=os.geteuid(), first=first)
            first, count = os.geteuid(), 1
        self.first, self.count = first, count
        self.lock_dir = Path(lock_dir or Path(tempfile.gettempdir()) / "switchyard-sandbox-uids")

    @property
    def uids(self) -> range:
        return range(self.first, self.first + self.count)

    @contextlib.contextmanager
    def lease(self) -> Iterator[int]:
        """A uid no other job on this host holds, for the duration of the block."""
        if self.count == 1:
            yield self.first  # a single uid is shared: nothing to lease
            return
        self._check_lock_dir()
        start = random.randrange(self.count)  # spread leases: fewer collisions to step over
        for offset in range(self.count):
            uid = self.first + (start + offset) % self.count
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
            fd = os.open(self.lock_dir / str(uid), flags, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield uid
            finally:
                os.close(fd)  # releases the lock
            return
        raise SandboxError(f"all {self.count} sandbox uids are in use on this host")

    def _check_lock_dir(self) -> None:
        """The lock folder is ours alone: a folder someone else planted (under a shared /tmp)
        could hold every lease or point a lock file elsewhere."""
        self.lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = self.lock_dir.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise SandboxError(f"{self.lock_dir} is not a folder of this worker's alone (0700)")
