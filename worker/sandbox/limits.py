"""Execution limits with Judge0's names and units, clamped to the server's maxima."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from shared.errors import Invalid
from shared.schemas.execute import Limits
from shared.settings import SandboxSettings


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    cpu_time_limit: float = 5.0  # seconds of CPU, per process
    wall_time_limit: float = 10.0  # seconds; the whole process tree is killed after it
    memory_limit: int = 128_000  # KB of address space
    max_processes_and_or_threads: int = 60
    max_file_size: int = 1_024  # KB per file written
    max_output_size: int = 1_024  # KB of stdout + stderr
    enable_network: bool = False

    @classmethod
    def resolve(cls, asked: Limits, settings: SandboxSettings) -> SandboxLimits:
        """The limits asked for (or the defaults), clamped to the server-side maxima."""
        if asked.enable_network and not settings.enable_network:
            raise Invalid("network access is disabled on this server", field="limits")
        defaults = cls()
        maxima = {
            "cpu_time_limit": settings.max_cpu_time_limit,
            "wall_time_limit": settings.max_wall_time_limit,
            "memory_limit": settings.max_memory_limit,
            "max_processes_and_or_threads": settings.max_processes_and_or_threads,
            "max_file_size": settings.max_file_size,
            "max_output_size": settings.max_output_size,
        }
        values: dict[str, Any] = {}
        for name, maximum in maxima.items():
            given = getattr(asked, name)
            values[name] = min(given if given is not None else getattr(defaults, name), maximum)
        return cls(**values, enable_network=asked.enable_network)

    def for_test(self, time_limit: float | None) -> SandboxLimits:
        if time_limit is None:
            return self
        seconds = min(time_limit, self.wall_time_limit)
        return replace(
            self, wall_time_limit=seconds, cpu_time_limit=min(self.cpu_time_limit, seconds)
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
