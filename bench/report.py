"""Figures: percentiles, medians over rounds, and the one table every benchmark adds rows to."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Row:
    benchmark: str
    metric: str
    baseline: str
    candidate: str
    result: str
    target: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "NO", None: ""}[self.met]


HEADERS = ("benchmark", "metric", "baseline", "switchyard", "result", "target", "met")


def render(rows: Sequence[Row]) -> str:
    """A Markdown table, readable in a terminal and pasteable into docs/benchmarks.md."""
    cells = [HEADERS] + [
        (r.benchmark, r.metric, r.baseline, r.candidate, r.result, r.target, r.verdict)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), separator, *(line(r) for r in cells[1:])])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
