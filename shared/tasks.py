"""Coding tasks: definitions kept as JSON files in the project's `tasks/` folder, served by the
API and run by the sandbox worker."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.errors import NotFound
from shared.schemas.execute import TestCase

TASKS_DIR = Path(__file__).resolve().parents[1] / "tasks"
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    title: str
    description: str
    starter_files: dict[str, str] = Field(default_factory=dict)
    tests: list[TestCase] = Field(min_length=1)
    judge_criteria: list[str] = Field(default_factory=list)


class TaskSummary(BaseModel):
    name: str
    title: str
    tests: int
    judged: bool


@functools.cache
def load_tasks(folder: Path = TASKS_DIR) -> dict[str, Task]:
    tasks: dict[str, Task] = {}
    adapter = TypeAdapter(Task)
    for path in sorted(folder.glob("*.json")):
        try:
            task = adapter.validate_python(json.loads(path.read_text()))
        except (ValueError, ValidationError) as exc:
            raise RuntimeError(f"task file {path.name} is invalid: {exc}") from exc
        if task.name != path.stem:
            raise RuntimeError(f"task file {path.name} names itself {task.name!r}")
        tasks[task.name] = task
    return tasks


def get_task(name: str) -> Task:
    task = load_tasks().get(name)
    if task is None:
        raise NotFound(f"no task named {name!r}")
    return task
