"""The team task split (seeds/000): dummy-era endpoints made real over chat and execute jobs.

    POST /optimize       {code, language?} -> {optimized_code, explanation, ...}
    POST /debug          {code, error?, language?} -> {fixed_code, explanation, ...}
    POST /run            {code, stdin?} -> the execution's {output, stdout, stderr, ...}
    GET  /metrics        energy/CO2 JSON for `Accept: application/json`; a scraper (any other
                         Accept) gets the native Prometheus text, which shares the path
    GET  /agent/switch   {agent: "dummy" | "real"}: the current selection
    POST /agent/switch   {agent: "dummy" | "real"}: switch between dummy and real AI agents
    WS   /stream         send a request, receive 'tokenizing...', 'calling AI...', 'done'

`dummy` is the mock provider (mock/echo, mock/judge); `real` is the server's default models.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from starlette.datastructures import Headers

from api.auth import Principal
from api.deps import CurrentUser, SessionDep, State, stream_reader
from api.routes.compat.shared_paths import SharedPathRoute
from api.services import agents, validation, waiting
from api.services.chat import submit_chat
from api.services.executions import submit_execution
from api.services.jobs import JobService
from api.services.usage_report import usage_report
from api.state import AppState
from shared.errors import Invalid, SwitchyardError
from shared.models import Job
from shared.schemas.chat import ChatInput, ChatMessage
from shared.schemas.execute import ExecuteInput, ExecuteResult, Limits
from shared.schemas.job_state import JobKind

router = APIRouter()

OPTIMIZE_PROMPT = (
    "You optimize code. Answer with the improved code in one fenced code block, then at most "
    "three sentences on what you changed and why. Keep its behaviour identical."
)
DEBUG_PROMPT = (
    "You fix bugs. Answer with the corrected code in one fenced code block, then at most "
    "three sentences on what was wrong."
)
_FENCED = re.compile(r"```[\w+-]*\n(?P<code>.*?)```", re.DOTALL)
AGENTS: dict[str, dict[JobKind, str | None]] = {
    "dummy": {JobKind.chat: "mock/echo", JobKind.judge: "mock/judge"},
    "real": {JobKind.chat: None, JobKind.judge: None},
}


class CodeBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # unknown fields: ignored, as pydantic's default

    code: str = Field(min_length=1, max_length=512 * 1024)
    language: str = Field("python", max_length=40)
    error: str | None = Field(None, max_length=100_000, description="what went wrong (debug)")


@router.post("/optimize")
async def optimize(
    body: CodeBody, request: Request, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """Returns the optimized code."""
    ask = f"Optimize this {body.language} code:\n```{body.language}\n{body.code.rstrip()}\n```"
    answer = await _code_answer(state, session, principal, OPTIMIZE_PROMPT, ask, request)
    return {"optimized_code": answer["code"], **answer}


@router.post("/debug")
async def debug(
    body: CodeBody, request: Request, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """Returns the bug fix."""
    ask = f"Fix this {body.language} code:\n```{body.language}\n{body.code.rstrip()}\n```"
    if body.error:
        ask += f"\nIt fails with:\n```\n{body.error}\n```"
    answer = await _code_answer(state, session, principal, DEBUG_PROMPT, ask, request)
    return {"fixed_code": answer["code"], **answer}


async def _code_answer(
    state: AppState,
    session: Any,
    principal: Principal,
    system: str,
    ask: str,
    request: Request,
) -> dict[str, Any]:
    payload = ChatInput(
        messages=[
            ChatMessage(role="system", content=system),
            ChatMessage(role="user", content=ask),
        ]
    )
    job = await submit_chat(state, session, principal, payload, request_id=request.state.request_id)
    done = await waiting.finished(state, session, job.id)
    reply = str(waiting.result_of(done)["content"])
    fenced = _FENCED.search(reply)
    code = fenced.group("code") if fenced else reply.strip()
    return {"code": code, "explanation": reply, "model": done.model, "job_id": str(done.id)}


class RunBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # unknown fields: ignored, as pydantic's default

    code: str = Field(min_length=1)
    language: str = Field("python", pattern="^(?i:python|python3|py)$")
    stdin: str = Field("", max_length=1_000_000, validation_alias=AliasChoices("stdin", "input"))
    limits: Limits = Field(default_factory=Limits)


@router.post("/run")
async def run(
    body: RunBody, request: Request, principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """Code execution (Python, in the sandbox): its output when it ends."""
    payload = validation.build(ExecuteInput, code=body.code, stdin=body.stdin, limits=body.limits)
    job = await submit_execution(
        state, session, principal, payload, request_id=request.state.request_id
    )
    done = await waiting.finished(state, session, job.id)
    result = ExecuteResult.model_validate(waiting.result_of(done))
    return {
        "output": result.stdout,
        "status": result.verdict.status,
        **result.model_dump(mode="json", include={"stdout", "stderr", "exit_code", "time"}),
        "job_id": str(done.id),
    }


class _MetricsRoute(SharedPathRoute):
    """`GET /metrics` asking for JSON is the dashboard's; anything else is Prometheus's."""

    def claims(self, headers: Headers, body: bytes) -> bool:
        return "application/json" in headers.get("accept", "")


shared = APIRouter(route_class=_MetricsRoute)


@shared.get("/metrics", include_in_schema=False)
async def energy_metrics(
    principal: CurrentUser, state: State, session: SessionDep
) -> dict[str, Any]:
    """The energy/CO2 figures of the caller's token usage (an estimate, labelled as such)."""
    report = await usage_report(state, session, principal)
    tokens = sum(row["input_tokens"] + row["output_tokens"] for row in report["usage"])
    energy = report["energy"]
    return {
        "energy_kwh": energy["kwh"],
        "co2_g": energy["g_co2"],
        "tokens": tokens,
        "requests": sum(row["jobs"] for row in report["usage"]),
        "estimate": True,
        "note": energy["note"],
        "coefficients": energy["coefficients"],
    }


class AgentSwitch(BaseModel):
    model_config = ConfigDict(extra="ignore")  # unknown fields: ignored, as pydantic's default

    agent: str = Field(
        description="`dummy` (the mock provider) or `real` (the server's models)",
        validation_alias=AliasChoices("agent", "mode", "agent_type"),
    )


@router.get("/agent/switch")
async def current_agent(principal: CurrentUser, state: State) -> dict[str, Any]:
    """Read the agent selection."""
    return await _selection(state, principal)


@router.post("/agent/switch")
async def switch_agent(
    principal: CurrentUser,
    state: State,
    body: AgentSwitch | None = None,
    agent_query: Annotated[str | None, Query(alias="agent", max_length=40)] = None,
) -> dict[str, Any]:
    """Switch between the dummy and the real AI agent: `{"agent"}`, or `?agent=` (what a
    FastAPI handler taking `agent: str` reads)."""
    named = body.agent if body is not None else agent_query
    if named is None:
        raise Invalid('name the agent: {"agent": "dummy" | "real"}', field="agent")
    agent = "dummy" if named.lower() in ("dummy", "mock") else named.lower()
    if agent not in AGENTS:
        raise Invalid("agent is 'dummy' or 'real'", field="agent")
    await agents.choose(state.redis, principal, AGENTS[agent], state.settings.providers)
    return await _selection(state, principal)


async def _selection(state: AppState, principal: Principal) -> dict[str, Any]:
    models = await agents.defaults(state.redis, principal, state.settings.providers)
    chat = models[JobKind.chat.value]
    # `real` is the server's own choice, even where the server itself defaults to the mock.
    agent = "dummy" if chat["source"] == "user" and chat["model"].startswith("mock/") else "real"
    return {"agent": agent, "models": {kind: m["model"] for kind, m in models.items()}}


@router.websocket("/stream")
async def stream(websocket: WebSocket, state: State, job_id: str | None = None) -> None:
    """Live messages while the caller's work runs: 'tokenizing...' when a job is accepted,
    'calling AI...' when a worker starts it, 'done' when it ends ('error: ...' before 'done'
    if it failed); for every job the caller starts while connected (over the REST endpoints
    too), one after the other. A frame can also start the work: plain text or `{"prompt"}`,
    `{"code", "action": "optimize" | "debug"}`; or follow an earlier job: `{"job_id"}`, or
    `?job_id=` on the URL (e.g. the one `/run` answered)."""
    try:
        principal = await stream_reader(websocket, state, None)
    except SwitchyardError as exc:
        await websocket.close(code=1008, reason=exc.message)
        return
    await websocket.accept()
    await StatusStream(websocket, state, principal).run(job_id)


class StatusStream:
    POLL_SECONDS = 0.5
    _WATCHED = 50  # the caller's newest jobs looked at per poll

    def __init__(self, websocket: WebSocket, state: AppState, principal: Principal) -> None:
        self.websocket = websocket
        self.state = state
        self.principal = principal
        self.seen: set[UUID] = set()
        self.queue: asyncio.Queue[Job] = asyncio.Queue()

    async def run(self, job_id: str | None) -> None:
        self.seen = {job.id for job in await self._newest()}  # earlier work is not news
        tasks = [asyncio.create_task(self._watch()), asyncio.create_task(self._relay())]
        try:
            with contextlib.suppress(WebSocketDisconnect):
                if job_id:
                    await self._take(json.dumps({"job_id": job_id}))
                while True:
                    await self._take(await self.websocket.receive_text())
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _take(self, text: str) -> None:
        try:
            job, asked_by_id = await _work_of(self.state, self.principal, text)
        except SwitchyardError as exc:
            await self.websocket.send_text(f"error: {exc.message}")
            return
        if asked_by_id or job.id not in self.seen:
            self.seen.add(job.id)
            await self.queue.put(job)

    async def _newest(self) -> list[Job]:
        async with self.state.sessions() as session:
            return await JobService(self.state, session).jobs.list_owned(
                self.principal.user_id, kind=None, status=None, limit=self._WATCHED, before=None
            )

    async def _watch(self) -> None:
        """Jobs the caller started elsewhere (e.g. `POST /optimize`), oldest first."""
        while True:
            await asyncio.sleep(self.POLL_SECONDS)
            for job in reversed(await self._newest()):
                if job.id not in self.seen:
                    self.seen.add(job.id)
                    await self.queue.put(job)

    async def _relay(self) -> None:
        while True:
            job = await self.queue.get()
            await self.websocket.send_text("tokenizing...")
            calling = False
            async for event in self.state.follower.follow(job, None):
                data = json.loads(event.data)
                started = event.type != "status" or data["status"] == "running"
                if not calling and started and event.type in ("status", "token", "output"):
                    calling = True
                    await self.websocket.send_text("calling AI...")
                if event.type == "error":
                    await self.websocket.send_text(f"error: {data['message']}")
            await self.websocket.send_text("done")


async def _work_of(state: AppState, principal: Principal, text: str) -> tuple[Job, bool]:
    """The job a frame names (True) or starts (False)."""
    try:
        frame = json.loads(text)
    except json.JSONDecodeError:
        frame = {"prompt": text}
    if not isinstance(frame, dict):
        frame = {"prompt": str(frame)}
    async with state.sessions() as session:
        if frame.get("job_id"):
            job_id = _uuid(frame["job_id"])
            return await JobService(state, session).owned(principal, job_id), True
        return await submit_chat(state, session, principal, _chat_of(frame)), False


def _chat_of(frame: dict[str, Any]) -> ChatInput:
    action = frame.get("action")
    prompt = {"optimize": OPTIMIZE_PROMPT, "debug": DEBUG_PROMPT}.get(str(action))
    ask = frame.get("prompt") or frame.get("code") or frame.get("message")
    if not isinstance(ask, str) or not ask.strip():
        raise Invalid('send a prompt (text or {"prompt"}), {"code", "action"} or {"job_id"}')
    messages = [ChatMessage(role="user", content=ask)]
    if prompt:
        messages.insert(0, ChatMessage(role="system", content=prompt))
    return ChatInput(messages=messages)


def _uuid(value: object) -> UUID:
    try:
        return UUID(str(value))
    except ValueError as exc:
        raise Invalid("job_id must be a UUID", field="job_id") from exc
