"""An OpenAI-compatible front: `POST /v1/chat/completions` and `GET /v1/models`.

Requests run through the queue like any chat job, so any OpenAI client can use Switchyard as
its endpoint (`base_url=http://host:8000/v1`, `api_key="user:password"`).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from api.deps import CurrentUser, SessionDep, State
from api.services.jobs import JobService
from api.services.models import catalogue
from api.services.waiting import wait_for_done
from api.state import AppState
from shared.models import Job
from shared.providers import check_model
from shared.repositories.jobs import JobRepository
from shared.schemas.job_state import JobKind
from shared.schemas.openai_compat import CompletionRequest, openai_error

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


@router.post("/chat/completions")
async def chat_completions(
    body: CompletionRequest,
    request: Request,
    principal: CurrentUser,
    state: State,
    session: SessionDep,
) -> Any:
    try:
        payload = body.as_chat_input()
    except ValidationError as exc:
        return JSONResponse(openai_error(str(exc), "invalid_request_error"), status_code=422)
    check_model(body.model, state.settings.providers)
    job = await JobService(state, session).submit(
        principal, JobKind.chat, payload, model=body.model, request_id=request.state.request_id
    )
    await session.close()
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _chunks(state, job, body.model, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )
    return await _completion(state, job, body.model)


async def _completion(state: AppState, job: Job, model: str) -> JSONResponse:
    job_id = job.id
    await wait_for_done(state, job, state.settings.jobs.chat_wait_timeout_seconds)
    async with state.sessions() as session:
        finished = await JobRepository(session).get(job_id)
    if finished is None or finished.status != "succeeded" or not finished.result:
        error = (finished.error or {}) if finished else {}
        status = 503 if error.get("retryable") else 502
        message = error.get("message", f"the job ended {finished.status if finished else '?'}")
        return JSONResponse(
            openai_error(message, "api_error", error.get("code")), status_code=status
        )
    result = finished.result
    usage = result.get("usage", {})
    return JSONResponse(
        {
            "id": f"chatcmpl-{job_id}",
            "object": "chat.completion",
            "created": int(finished.created_at.timestamp()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result["content"]},
                    "finish_reason": result.get("finish_reason") or "stop",
                    "logprobs": None,
                }
            ],
            "usage": _usage(usage),
        }
    )


def _usage(usage: dict[str, Any]) -> dict[str, int]:
    prompt, completion = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


_DIVERGED = (
    "the worker was lost mid-reply and the retried reply differs from what was already sent; "
    "send the request again"
)


class _ReplyText:
    """What an OpenAI client has been sent, across attempts of the job.

    A client cannot take back text, so a new attempt (the reaper's retry after a worker died)
    is followed silently until it has said what was already sent: if it says the same, only its
    new text goes out; if it diverges, the stream ends with an error (`add` answers None).
    """

    def __init__(self) -> None:
        self._sent: list[str] = []
        self._replay: str | None = None  # what the client has, while a new attempt catches up
        self._at = 0  # how much of it the new attempt has said again

    def new_attempt(self) -> None:
        said = self._replay if self._replay is not None else "".join(self._sent)
        self._replay, self._at = (said, 0) if said else (None, 0)

    def add(self, delta: str) -> str | None:
        """The part of `delta` to send: all of it normally (no per-token work on the whole
        text), none while a retry repeats what was sent, None once it says something else."""
        if self._replay is None:
            self._sent.append(delta)
            return delta
        said, at = self._replay, self._at
        overlap = said[at : at + len(delta)]
        if not delta.startswith(overlap):
            return None
        self._at = at + len(delta)
        if self._at <= len(said):
            return ""
        fresh = delta[len(overlap) :]
        self._sent, self._replay = [said, fresh], None
        return fresh


async def _chunks(state: AppState, job: Job, model: str, include_usage: bool) -> AsyncIterator[str]:
    base = {
        "id": f"chatcmpl-{job.id}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return f"data: {json.dumps({**base, 'choices': [choice], **extra})}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    finish, usage, error = "stop", {}, None
    text = _ReplyText()
    async for event in state.follower.follow(job, None):
        data = json.loads(event.data)
        if event.type == "status" and data["status"] == "running":
            text.new_attempt()
        elif event.type == "token":
            fresh = text.add(data["delta"])
            if fresh is None:
                error = {"message": _DIVERGED, "code": "worker_lost"}
                break
            if fresh:
                yield chunk({"content": fresh})
        elif event.type == "result":
            finish = data["result"].get("finish_reason") or "stop"
        elif event.type == "error":
            error = data
        elif event.type == "done":
            usage = data.get("usage", {})
    if error is not None:
        yield f"data: {json.dumps(openai_error(error['message'], 'api_error', error['code']))}\n\n"
    else:
        yield chunk({}, finish)
        if include_usage:
            yield f"data: {json.dumps({**base, 'choices': [], 'usage': _usage(usage)})}\n\n"
    yield "data: [DONE]\n\n"


@router.get("/models")
async def openai_models(principal: CurrentUser, state: State) -> dict[str, Any]:
    listed = await catalogue(state, refresh=False)
    created = int(listed.fetched_at.timestamp())
    return {
        "object": "list",
        "data": [
            {"id": m.id, "object": "model", "created": created, "owned_by": m.provider}
            for m in listed.models
        ],
    }
