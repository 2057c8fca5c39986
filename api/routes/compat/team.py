"""The team task split's API: presets over chat, executions, agents and job events.

    POST /optimize      -> POST /api/chat with the optimize preset, waited
    POST /debug         -> POST /api/chat with the debug preset, waited
    POST /run           -> POST /api/executions (202; follow it on WS /stream)
    POST /agent/switch  -> PUT /api/agents ("mock", "real", or a `provider/model`)
    WS   /stream        -> job events as status messages

Its `/metrics` is the Prometheus endpoint here; its energy figures are in `/api/stats`.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentUser, SessionDep, State, stream_reader
from api.routes import chat, executions
from api.routes.compat import _jobs
from api.services import agents
from api.services.jobs import JobService
from shared.errors import Invalid, SwitchyardError
from shared.schemas.chat import MODEL_NAME_PATTERN, ChatInput, ChatMessage, ModelName
from shared.schemas.execute import ExecuteInput
from shared.schemas.job_state import JobKind
from shared.schemas.jobs import JobOut

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


class CodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=512 * 1024)
    language: str = Field("python", max_length=40)
    error: str | None = Field(None, max_length=100_000, description="what went wrong (debug)")
    model: ModelName | None = None


class CodeAnswer(BaseModel):
    code: str = Field(description="the first fenced block of the reply, else the whole reply")
    explanation: str = Field(description="the model's whole reply")
    model: str | None
    job_id: UUID


@router.post("/optimize", response_model=CodeAnswer)
async def optimize(
    body: CodeBody,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> CodeAnswer:
    ask = f"Optimize this {body.language} code:\n```{body.language}\n{body.code}\n```"
    return await _preset(OPTIMIZE_PROMPT, ask, body, request, response, principal, state, session)


@router.post("/debug", response_model=CodeAnswer)
async def debug(
    body: CodeBody,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> CodeAnswer:
    ask = f"Fix this {body.language} code:\n```{body.language}\n{body.code}\n```"
    if body.error:
        ask += f"\nIt fails with:\n```\n{body.error}\n```"
    return await _preset(DEBUG_PROMPT, ask, body, request, response, principal, state, session)


async def _preset(
    system: str,
    ask: str,
    body: CodeBody,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> CodeAnswer:
    payload = ChatInput(
        messages=[
            ChatMessage(role="system", content=system),
            ChatMessage(role="user", content=ask),
        ],
        model=body.model,
    )
    job = await chat.create_chat(payload, request, response, principal, state, session)
    done = await _jobs.finished(state, session, job.id)
    response.status_code = 200
    reply = str(_jobs.result_of(done)["content"])
    fenced = _FENCED.search(reply)
    code = fenced.group("code") if fenced else reply.strip()
    return CodeAnswer(code=code, explanation=reply, model=done.model, job_id=done.id)


class RunAccepted(JobOut):
    job_id: UUID
    stream_url: str = "/stream"


@router.post("/run", response_model=RunAccepted, status_code=202)
async def run(
    payload: ExecuteInput,
    request: Request,
    response: Response,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> RunAccepted:
    job = await executions.create_execution(payload, request, response, principal, state, session)
    return RunAccepted(**job.model_dump(), job_id=job.id)


class AgentSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: str = Field(
        description="`mock` (mock/echo, mock/judge), `real` (the server's defaults) "
        "or a `provider/model` for chat"
    )


@router.post("/agent/switch")
async def switch_agent(body: AgentSwitch, principal: CurrentUser, state: State) -> dict[str, Any]:
    if body.agent == "mock":
        choices: dict[JobKind, str | None] = {
            JobKind.chat: "mock/echo",
            JobKind.judge: "mock/judge",
        }
    elif body.agent == "real":
        choices = {JobKind.chat: None, JobKind.judge: None}
    elif re.match(MODEL_NAME_PATTERN, body.agent):
        choices = {JobKind.chat: body.agent}
    else:
        raise Invalid("agent is 'mock', 'real' or a provider/model name", field="agent")
    providers = state.settings.providers
    await agents.choose(state.redis, principal, choices, providers)
    return {"agent": body.agent, "agents": await agents.defaults(state.redis, principal, providers)}


@router.websocket("/stream")
async def stream(websocket: WebSocket, state: State, job_id: str | None = None) -> None:
    """Status messages of the jobs the client names: `?job_id=` and/or `{"job_id": ...}`
    frames. Each job's messages end with one whose `event` is `done`."""
    try:
        principal = await stream_reader(websocket, state, None)
    except SwitchyardError as exc:
        await websocket.close(code=1008, reason=exc.message)
        return
    await websocket.accept()
    with contextlib.suppress(WebSocketDisconnect):
        if job_id:
            await _relay_status(websocket, state, principal, job_id)
        while True:
            with contextlib.suppress(json.JSONDecodeError):
                frame = json.loads(await websocket.receive_text())
                named = frame.get("job_id") if isinstance(frame, dict) else None
                await _relay_status(websocket, state, principal, str(named or ""))


async def _relay_status(websocket: WebSocket, state: State, principal: Any, job_id: str) -> None:
    try:
        async with state.sessions() as session:
            job = await JobService(state, session).owned(principal, UUID(job_id))
    except (ValueError, SwitchyardError):
        await websocket.send_json(
            {"job_id": job_id, "event": "error", "status": None, "message": "job not found"}
        )
        return
    status = str(job.status)
    async for event in state.follower.follow(job, None):
        data = json.loads(event.data)
        status = data.get("status", status)
        frame = {"job_id": job_id, "event": event.type, "status": status}
        frame["message"] = _message(event.type, data)
        if event.type == "result":
            frame["result"] = data["result"]
        await websocket.send_json(frame)


def _message(kind: str, data: dict[str, Any]) -> str:
    """One line a person can read."""
    if kind == "status":
        return f"{data['status']} (attempt {data['attempt']})"
    if kind == "output":
        return f"{data['stream']}: {data['data']}"
    if kind == "test_result":
        return f"test {data['index']}: {data['verdict']['status']}"
    if kind == "token":
        return str(data["delta"])
    if kind == "error":
        return f"error: {data['message']}"
    if kind == "done":
        return f"finished: {data['status']}"
    return kind
