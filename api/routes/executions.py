from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from api.deps import CurrentUser, SessionDep, State
from api.routes.jobs import accepted
from api.services.executions import submit_execution
from shared.schemas.execute import ExecuteInput, ValidateRequest, ValidateResult
from shared.schemas.jobs import JobOut
from shared.syntax import check_syntax
from shared.tasks import Task, TaskSummary, get_task, load_tasks

router = APIRouter(prefix="/api", tags=["execute"])


@router.post("/executions", response_model=JobOut, status_code=202)
async def create_execution(
    payload: ExecuteInput,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut:
    """Run `code` in the sandbox: once with `stdin`, or against `tests` (or a task's tests).
    Output streams as `output` events, each test's verdict as a `test_result` event."""
    job = await submit_execution(
        state,
        session,
        principal,
        payload,
        idempotency_key=idempotency_key,
        request_id=request.state.request_id,
    )
    return accepted(response, job)


@router.post("/executions/validate", response_model=ValidateResult)
async def validate(body: ValidateRequest, principal: CurrentUser) -> ValidateResult:
    """A syntax check of Python code, answered at once; nothing runs."""
    return check_syntax(body.code)


@router.get("/tasks", response_model=list[TaskSummary], tags=["tasks"])
async def list_tasks(principal: CurrentUser) -> list[TaskSummary]:
    return [
        TaskSummary(name=t.name, title=t.title, tests=len(t.tests), judged=bool(t.judge_criteria))
        for t in load_tasks().values()
    ]


@router.get("/tasks/{name}", response_model=Task, tags=["tasks"])
async def read_task(name: str, principal: CurrentUser) -> Task:
    return get_task(name)
