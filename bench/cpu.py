"""CPU time of whole process groups (a process and every thread and child it started), read
from /proc, so a round's cost can be put per token: Switchyard's API and workers, the peer
gateway's workers, and the stores (Redis, Postgres) they lean on."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid_dir: Path) -> tuple[str, list[str]] | None:
    try:
        raw = (pid_dir / "stat").read_text()
    except OSError:
        return None  # gone meanwhile
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    return name, raw[raw.rindex(")") + 2 :].split()


def _seconds(fields: list[str]) -> float:
    # utime, stime, and the children it reaped (cutime, cstime): fields 14-17 of proc(5).
    return sum(int(value) for value in fields[11:15]) / _TICK


def group_seconds(groups: Iterable[int]) -> float:
    """CPU seconds used so far by every live process in these process groups."""
    wanted = set(groups)
    total = 0.0
    for pid_dir in Path("/proc").glob("[0-9]*"):
        stat = _stat(pid_dir)
        if stat is not None and int(stat[1][2]) in wanted:
            total += _seconds(stat[1])
    return total


def named_seconds(names: Iterable[str]) -> float:
    """CPU seconds used so far by every live process with one of these command names."""
    wanted = set(names)
    total = 0.0
    for pid_dir in Path("/proc").glob("[0-9]*"):
        stat = _stat(pid_dir)
        if stat is not None and stat[0] in wanted:
            total += _seconds(stat[1])
    return total


STORES = ("redis-server", "postgres")
