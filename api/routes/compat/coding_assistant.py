"""The coding assistant (seeds/002), over chat, execute and judge jobs.

    GET  /                          health check
    WS   /ws/chat                   {messages, model, max_tokens, proactive, current_code}
                                    -> {"type": "chunk", "content"}... {"type": "complete",
                                    "content"} | {"type": "error", "content"}  (`chat_socket`)
    POST /api/chat                  the same body -> the whole reply (non-streaming); shares
                                    the native path, claimed by `current_code`/`proactive`
    POST /api/execute-endpoint      call one `@endpoint` handler of the code
    POST /api/execute-test-cases    run the code against test cases (or a task's)
    POST /api/validate-python       syntax check
    GET  /tasks/{task_name}         a task with its files and tests
    POST /api/load-test-cases       a task's test cases
    POST /api/llm-judge             judge a screenshot against test criteria
    POST /api/start-python-server, POST /api/stop-python-server, GET /api/list-python-servers
                                    deprecated in the document: 410, the sandbox runs the code

Synchronous answers wait for the job (`api.services.waiting`) and name its `job_id`.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from starlette.datastructures import Headers

from api.auth import Principal
from api.deps import CurrentUser, SessionDep, State
from api.routes.compat.shared_paths import SharedPathRoute
from api.services import validation, waiting
from api.services.chat import submit_chat
from api.services.executions import submit_execution
from api.services.judgments import judged_task, submit_judgment
from api.services.model_names import native_model
from api.state import AppState
from shared.errors import Invalid, SwitchyardError
from shared.models import Job
from shared.schemas.chat import ChatInput, ChatMessage
from shared.schemas.execute import ExecuteInput, ExecuteResult, Limits, RequestTest, TestCase
from shared.schemas.execute import Request as EndpointCall
from shared.schemas.job_state import JobKind
from shared.schemas.judge import JudgeInput
from shared.syntax import check_syntax
from shared.tasks import Task, get_task

router = APIRouter()

PROACTIVE_ASK = "Review my current code."
PROACTIVE_PROMPT = (
    "Proactively point out the most useful improvement or likely bug in the user's current "
    "code, briefly, even if they did not ask about it."
)


@router.get("/")
async def root() -> dict[str, str]:
    """Health check."""
    return {"status": "ok", "message": "Switchyard is running"}


class AssistantMessage(BaseModel):
    """A message as the frontend keeps it: extra keys (an `id`, a `timestamp`) are dropped."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=200_000)


class AssistantChat(BaseModel):
    """The document's client frame (and REST body)."""

    # Unknown fields are ignored, as the document's pydantic models ignored them.
    model_config = ConfigDict(extra="ignore")

    messages: list[AssistantMessage] = Field(default_factory=list, max_length=500)
    model: str | None = Field(None, max_length=200)
    max_tokens: int | None = Field(None, ge=1, le=200_000)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    proactive: bool = False
    current_code: str | None = Field(None, max_length=512 * 1024)


async def assistant_job_input(
    state: AppState, principal: Principal, body: AssistantChat
) -> ChatInput:
    """The native chat input: the current code and the proactive ask lead as system messages."""
    preface = []
    if body.current_code:
        code = f"The user's current code:\n```python\n{body.current_code}\n```"
        preface.append(ChatMessage(role="system", content=code))
    if body.proactive:
        preface.append(ChatMessage(role="system", content=PROACTIVE_PROMPT))
    asked = [ChatMessage(role=m.role, content=m.content) for m in body.messages]
    if not asked and not (body.proactive and body.current_code):
        raise Invalid("messages: give at least one message", field="messages")
    if not asked:  # a proactive look at the code, before the user has said anything
        asked = [ChatMessage(role="user", content=PROACTIVE_ASK)]
    return validation.build(
        ChatInput,
        messages=preface + asked,
        model=await native_model(state, principal, body.model),
        max_tokens=body.max_tokens,
        temperature=body.temperature,
    )


class _AssistantChatRoute(SharedPathRoute):
    """`POST /api/chat` with `current_code` or `proactive` is the assistant's; any other body is
    the native chat's (which refuses a bare model name such as `gpt-4`: that stays so)."""

    def claims(self, headers: Headers, body: bytes) -> bool:
        try:
            fields = json.loads(body)
        except ValueError:
            return False
        return isinstance(fields, dict) and bool({"current_code", "proactive"} & fields.keys())


shared = APIRouter(route_class=_AssistantChatRoute)


@shared.post("/api/chat", include_in_schema=False)
async def assistant_chat(
    body: AssistantChat, request: Request, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """REST API chat endpoint (non-streaming): the whole reply, as the socket's `complete`."""
    payload = await assistant_job_input(state, principal, body)
    job = await submit_chat(state, session, principal, payload, request_id=request.state.request_id)
    done = await waiting.finished(state, session, job.id)
    result = waiting.result_of(done)
    return {
        "type": "complete",
        "content": result["content"],
        "response": result["content"],
        "model": done.model,
        "usage": result.get("usage"),
        "job_id": str(done.id),
    }


class EndpointCallBody(BaseModel):
    """One call of an `@endpoint` handler: the code, and the request to make."""

    model_config = ConfigDict(extra="ignore")  # unknown fields: ignored, as pydantic's default

    code: str = Field(min_length=1)
    method: str = "GET"
    path: str = Field(
        "/", max_length=2_000, validation_alias=AliasChoices("path", "endpoint", "url", "route")
    )
    body: Any = Field(None, validation_alias=AliasChoices("body", "data", "json"))
    limits: Limits = Field(default_factory=Limits)


@router.post("/api/execute-endpoint")
async def execute_endpoint(
    payload: EndpointCallBody,
    request: Request,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> dict[str, Any]:
    """Execute Python code with @endpoint decorators: the handler's status and body."""
    call = validation.build(
        EndpointCall, method=payload.method.upper(), path=payload.path, body=payload.body
    )
    execute = validation.build(
        ExecuteInput, code=payload.code, limits=payload.limits, tests=[RequestTest(request=call)]
    )
    job_id, result = await _execute(state, session, principal, execute, request)
    if not result.tests:  # nothing ran: a syntax error
        error = (result.compile_error or {}).get("message") or result.verdict.status
        return _endpoint_answer(job_id, result, status_code=None, error=error)
    test = result.tests[0]
    actual = test.details.get("actual") or {}
    return _endpoint_answer(
        job_id,
        result,
        status_code=actual.get("status"),
        body=actual.get("body"),
        error=test.details.get("error"),
        stderr=test.details.get("stderr", ""),
        time=test.time,
    )


def _endpoint_answer(job_id: UUID, result: ExecuteResult, **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {"success": fields.get("error") is None, "body": None}
    answer.update(error=None, stderr=result.stderr, stdout=result.stdout, time=None)
    return {**answer, **fields, "job_id": str(job_id)}


class TestCasesBody(BaseModel):
    __test__ = False
    model_config = ConfigDict(extra="ignore")  # unknown fields: ignored, as pydantic's default

    code: str = Field(min_length=1)
    test_cases: list[TestCase] = Field(default_factory=list, max_length=100)
    task_name: str | None = None
    limits: Limits = Field(default_factory=Limits)


@router.post("/api/execute-test-cases")
async def execute_test_cases(
    payload: TestCasesBody,
    request: Request,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> dict[str, Any]:
    """Execute test cases against backend code: every verdict, and whether all passed."""
    if not payload.test_cases and not payload.task_name:
        raise Invalid("give test_cases or a task_name", field="test_cases")
    execute = validation.build(
        ExecuteInput,
        code=payload.code,
        tests=payload.test_cases,
        task=None if payload.test_cases else payload.task_name,
        limits=payload.limits,
    )
    job_id, result = await _execute(state, session, principal, execute, request)
    all_passed = result.total > 0 and result.passed == result.total
    return {**result.model_dump(mode="json"), "all_passed": all_passed, "job_id": str(job_id)}


async def _execute(
    state: AppState, session: Any, principal: Principal, payload: ExecuteInput, request: Request
) -> tuple[UUID, ExecuteResult]:
    job = await submit_execution(
        state, session, principal, payload, request_id=request.state.request_id
    )
    done = await waiting.finished(state, session, job.id)
    return done.id, ExecuteResult.model_validate(waiting.result_of(done))


class CodeBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # unknown fields: ignored, as pydantic's default

    code: str = Field(max_length=512 * 1024)


@router.post("/api/validate-python")
async def validate_python(body: CodeBody, principal: CurrentUser) -> dict[str, Any]:
    """Validate Python code syntax: `valid`, every problem in `errors`, and the first one's
    message as `error` (None when valid), the single-error shape a syntax check answers."""
    result = check_syntax(body.code)
    error = result.errors[0].message if result.errors else None
    return {**result.model_dump(mode="json"), "error": error}


@router.get("/tasks/{task_name}", response_model=Task)
async def read_task(task_name: str, principal: CurrentUser) -> Task:
    """Get task data with files and tests."""
    return get_task(task_name)


class LoadTestCasesBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # unknown fields: ignored, as pydantic's default

    task_name: str = Field(validation_alias=AliasChoices("task_name", "task"))


@router.post("/api/load-test-cases")
async def load_test_cases(body: LoadTestCasesBody, principal: CurrentUser) -> dict[str, Any]:
    """Load test cases from task data."""
    task = get_task(body.task_name)
    return {
        "task_name": task.name,
        "description": task.description,
        "starter_files": task.starter_files,
        "test_cases": [case.model_dump(mode="json") for case in task.tests],
    }


class LlmJudgeBody(BaseModel):
    """A screenshot (a data URL, or bare base64 PNG) and the criteria to judge it by."""

    model_config = ConfigDict(extra="ignore")  # unknown fields: ignored, as pydantic's default

    screenshot: str | None = Field(
        None, max_length=15 * 1024 * 1024, validation_alias=AliasChoices("screenshot", "image")
    )
    test_criteria: list[str] | None = Field(
        None,
        min_length=1,
        max_length=50,
        validation_alias=AliasChoices("test_criteria", "criteria"),
    )
    task_name: str | None = None
    code: str | None = Field(None, max_length=200_000)
    model: str | None = Field(None, max_length=200)
    threshold: float = Field(0.5, ge=0.0, le=1.0)

    @field_validator("test_criteria", mode="before")
    @classmethod
    def _one_criterion(cls, value: object) -> object:
        """The criteria may come as one text: one criterion."""
        return [value] if isinstance(value, str) else value


@router.post("/api/llm-judge")
async def llm_judge(
    body: LlmJudgeBody, request: Request, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """Use a vision model to judge a screenshot against test criteria."""
    payload = await _judge_input(state, principal, body)
    job = await submit_judgment(
        state, session, principal, payload, request_id=request.state.request_id
    )
    done = await waiting.finished(state, session, job.id)
    verdict = waiting.result_of(done)
    return {**verdict, "passed": verdict["pass"], "job_id": str(done.id)}


async def _judge_input(state: AppState, principal: Principal, body: LlmJudgeBody) -> JudgeInput:
    if not body.test_criteria and not body.task_name:
        raise Invalid("give test_criteria or a task_name", field="test_criteria")
    if body.task_name and not body.test_criteria:
        judged_task(body.task_name, field="task_name")
    if not body.screenshot and not body.code:
        raise Invalid("give the screenshot to judge", field="screenshot")
    image = body.screenshot
    if image and not image.startswith("data:"):
        image = f"data:image/png;base64,{image}"
    return validation.build(
        JudgeInput,
        criteria=body.test_criteria,
        task=None if body.test_criteria else body.task_name,
        subject={"text": body.code, "image": image},
        model=await native_model(state, principal, body.model, kind=JobKind.judge),
        threshold=body.threshold,
    )


_RETIRED = (
    "deprecated: Python servers are no longer started; POST /api/execute-endpoint runs "
    "@endpoint handlers in the sandbox"
)


@router.post("/api/start-python-server", status_code=410)
@router.post("/api/stop-python-server", status_code=410)
@router.get("/api/list-python-servers", status_code=410)
async def python_servers(principal: CurrentUser) -> JSONResponse:
    """Python Server Management (deprecated in the document)."""
    return JSONResponse({"detail": _RETIRED, "code": "gone", "servers": []}, status_code=410)


class AssistantSocket:
    """`WS /ws/chat` as the assistant speaks it: each frame is a chat job whose tokens come
    back as `chunk` frames, then the whole reply as `complete` (or an `error`)."""

    def __init__(self, websocket: WebSocket, state: AppState, principal: Principal) -> None:
        self.websocket = websocket
        self.state = state
        self.principal = principal

    async def handle(self, frame: dict[str, Any]) -> None:
        try:
            body = validation.parse(AssistantChat, frame)
            payload = await assistant_job_input(self.state, self.principal, body)
            async with self.state.sessions() as session:
                job = await submit_chat(self.state, session, self.principal, payload)
            await self._relay(job)
        except SwitchyardError as exc:
            await self.error(exc.message)

    async def _relay(self, job: Job) -> None:
        async for event in self.state.follower.follow(job, None):
            if event.type == "token":
                delta = json.loads(event.data)["delta"]
                await self.websocket.send_json({"type": "chunk", "content": delta})
        async with self.state.sessions() as session:
            done = await waiting.reload(session, job.id)
        await self.websocket.send_json(
            {"type": "complete", "content": waiting.result_of(done)["content"]}
        )

    async def error(self, message: str) -> None:
        await self.websocket.send_json({"type": "error", "content": message})
