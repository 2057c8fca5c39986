"""The coding assistant's HTTP API (its `WS /ws/chat` lives in `chat_socket`):

    POST /api/chat                 -> POST /api/chat (native unless the body carries
                                      `current_code` or `proactive`: then the reply, waited)
    POST /api/execute-endpoint     -> POST /api/executions with one request test, waited
    POST /api/execute-test-cases   -> POST /api/executions with the tests, waited
    POST /api/validate-python      -> POST /api/executions/validate
    GET  /tasks/{task_name}        -> GET  /api/tasks/{name}
    POST /api/load-test-cases      -> the tests of GET /api/tasks/{name}
    POST /api/llm-judge            -> POST /api/judgments, waited

`POST /api/chat` is registered ahead of the native route (see `api.main`) and hidden from the
schema: a body without the two assistant fields is handed to the native route untouched.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentUser, SessionDep, State
from api.routes import chat, executions
from api.routes.compat import _jobs
from api.services import agents
from api.services.jobs import JobService
from shared.errors import Invalid, NotFound
from shared.schemas.chat import ChatInput, ChatMessage, ChatResult, ModelName
from shared.schemas.execute import (
    ExecuteInput,
    ExecuteResult,
    Limits,
    RequestTest,
    TestCase,
    ValidateRequest,
    ValidateResult,
)
from shared.schemas.execute import Request as EndpointCall
from shared.schemas.job_state import JobKind
from shared.schemas.jobs import JobOut
from shared.schemas.judge import JudgeInput, Subject
from shared.tasks import Task, get_task

router = APIRouter()

PROACTIVE_PROMPT = (
    "Proactively point out the most useful improvement or likely bug in the user's current "
    "code, briefly, even if they did not ask about it."
)


class AssistantChat(ChatInput):
    """The native chat body plus the coding assistant's two fields."""

    proactive: bool = False
    current_code: str | None = Field(None, max_length=512 * 1024)

    def as_chat_input(self) -> ChatInput:
        """The native input: the code and the proactive ask become system messages."""
        preface = []
        if self.current_code:
            code = f"The user's current code:\n```python\n{self.current_code}\n```"
            preface.append(ChatMessage(role="system", content=code))
        if self.proactive:
            preface.append(ChatMessage(role="system", content=PROACTIVE_PROMPT))
        return _jobs.native_input(
            ChatInput,
            messages=preface + self.messages,
            model=self.model,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
        )


class AssistantReply(ChatResult):
    job_id: UUID


@router.post("/api/chat", status_code=202, include_in_schema=False)
async def assistant_chat(
    payload: AssistantChat,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
    wait: Annotated[bool, Query()] = False,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobOut | AssistantReply:
    native = payload.as_chat_input()
    if not {"current_code", "proactive"} & payload.model_fields_set:
        return await chat.create_chat(
            native, request, response, principal, state, session, wait, idempotency_key
        )
    job = await chat.create_chat(
        native, request, response, principal, state, session, False, idempotency_key
    )
    done = await _jobs.finished(state, session, job.id)
    response.status_code = 200
    return AssistantReply(**_jobs.result_of(done), job_id=done.id)


class EndpointCallBody(EndpointCall):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    limits: Limits = Field(default_factory=Limits)


class EndpointAnswer(BaseModel):
    status_code: int | None
    body: Any = None
    error: str | None = None
    stderr: str = ""
    time: float | None = None
    job_id: UUID


@router.post("/api/execute-endpoint", response_model=EndpointAnswer)
async def execute_endpoint(
    payload: EndpointCallBody,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> EndpointAnswer:
    """Call one `@endpoint` handler of the code and answer what it returned."""
    call = EndpointCall(method=payload.method, path=payload.path, body=payload.body)
    execute = _jobs.native_input(
        ExecuteInput, code=payload.code, limits=payload.limits, tests=[RequestTest(request=call)]
    )
    job_id, result = await _execute(execute, request, response, principal, state, session)
    if not result.tests:  # nothing ran: a syntax error
        error = (result.compile_error or {}).get("message") or result.verdict.status
        return EndpointAnswer(status_code=None, error=error, stderr=result.stderr, job_id=job_id)
    test = result.tests[0]
    actual = test.details.get("actual") or {}
    return EndpointAnswer(
        status_code=actual.get("status"),
        body=actual.get("body"),
        error=test.details.get("error"),
        stderr=test.details.get("stderr", ""),
        time=test.time,
        job_id=job_id,
    )


class TestCasesBody(BaseModel):
    __test__ = False
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    test_cases: list[TestCase] = Field(default_factory=list, max_length=100)
    task_name: str | None = None
    limits: Limits = Field(default_factory=Limits)


class TestCasesAnswer(ExecuteResult):
    __test__ = False

    all_passed: bool
    job_id: UUID


@router.post("/api/execute-test-cases", response_model=TestCasesAnswer)
async def execute_test_cases(
    payload: TestCasesBody,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> TestCasesAnswer:
    """Run the code against the given test cases (or the task's) and answer every verdict."""
    if not payload.test_cases and not payload.task_name:
        raise Invalid("give test_cases or a task_name", field="test_cases")
    execute = _jobs.native_input(
        ExecuteInput,
        code=payload.code,
        tests=payload.test_cases,
        task=None if payload.test_cases else payload.task_name,
        limits=payload.limits,
    )
    job_id, result = await _execute(execute, request, response, principal, state, session)
    all_passed = result.total > 0 and result.passed == result.total
    return TestCasesAnswer(**result.model_dump(), all_passed=all_passed, job_id=job_id)


async def _execute(
    payload: ExecuteInput,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> tuple[UUID, ExecuteResult]:
    job = await executions.create_execution(payload, request, response, principal, state, session)
    done = await _jobs.finished(state, session, job.id)
    return done.id, ExecuteResult.model_validate(_jobs.result_of(done))


@router.post("/api/validate-python", response_model=ValidateResult)
async def validate_python(body: ValidateRequest, principal: CurrentUser) -> ValidateResult:
    return await executions.validate(body, principal)


@router.get("/tasks/{task_name}", response_model=Task)
async def read_task(task_name: str, principal: CurrentUser) -> Task:
    return await executions.read_task(task_name, principal)


class LoadTestCasesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_name: str


class LoadedTestCases(BaseModel):
    task_name: str
    description: str
    starter_files: dict[str, str]
    test_cases: list[TestCase]


@router.post("/api/load-test-cases", response_model=LoadedTestCases)
async def load_test_cases(body: LoadTestCasesBody, principal: CurrentUser) -> LoadedTestCases:
    task = get_task(body.task_name)
    return LoadedTestCases(
        task_name=task.name,
        description=task.description,
        starter_files=task.starter_files,
        test_cases=task.tests,
    )


class LlmJudgeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=200_000)
    criteria: list[str] | None = Field(None, min_length=1, max_length=50)
    task_name: str | None = None
    reference: str | None = Field(None, max_length=200_000)
    model: ModelName | None = None
    threshold: float = Field(0.5, ge=0.0, le=1.0)


@router.post("/api/llm-judge")
async def llm_judge(
    body: LlmJudgeBody,
    request: Request,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> dict[str, Any]:
    """Judge the code against criteria (or a task's criteria) and answer the verdict."""
    payload = _judge_input(body)
    payload.model = await agents.resolve_model(
        state.redis, principal, JobKind.judge, payload.model, state.settings.providers
    )
    job = await JobService(state, session).submit(
        principal, JobKind.judge, payload, model=payload.model, request_id=request.state.request_id
    )
    done = await _jobs.finished(state, session, job.id)
    return {**_jobs.result_of(done), "job_id": str(done.id)}


def _judge_input(body: LlmJudgeBody) -> JudgeInput:
    if body.task_name and not body.criteria:
        try:
            task = get_task(body.task_name)
        except NotFound as exc:
            raise Invalid(exc.message, field="task_name") from exc
        if not task.judge_criteria:
            raise Invalid(f"task {task.name!r} has no judge criteria", field="task_name")
    if not body.criteria and not body.task_name:
        raise Invalid("give criteria or a task_name", field="criteria")
    return _jobs.native_input(
        JudgeInput,
        criteria=body.criteria,
        task=None if body.criteria else body.task_name,
        subject=Subject(text=body.code),
        reference=body.reference,
        model=body.model,
        threshold=body.threshold,
    )
