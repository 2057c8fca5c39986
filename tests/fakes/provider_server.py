"""A local server speaking the providers' real wire formats, for the official SDKs to call.

    python -m tests.fakes.provider_server --port 8765

- OpenAI chat completions (streaming SSE chunks with a final usage chunk and `[DONE]`, or one
  JSON body) and `/v1/models`, under `/v1` and, for OpenRouter, under `/openrouter/v1`;
- Anthropic messages streaming (`message_start`, `content_block_start`, `content_block_delta`
  with `text_delta` or `input_json_delta`, `content_block_stop`, `message_delta` with usage,
  `message_stop`) and `/v1/models` (told apart by the `anthropic-version` header).

Scripted over HTTP so tests in other processes can drive it: `POST /_fake/script` merges
settings (`reply`, `replies` (a queue, one per request), `usage`, `token_delay_ms`, `faults`
(one per request, in order: `{"status": 429, "retry_after": 1}`, `{"status": 500}`,
`{"drop_after": 3}`), `refuse`), `GET /_fake/requests` lists what was received (path,
headers, JSON body), `POST /_fake/reset` forgets both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_SCRIPT: dict[str, Any] = {
    "reply": "Hello from the fake provider.",
    "replies": [],
    "usage": {"input_tokens": 11, "output_tokens": 7},
    "token_delay_ms": 0,
    "faults": [],
    "refuse": None,
    "models": ["fake-small", "fake-large"],
}


class Fake:
    def __init__(self) -> None:
        self.script: dict[str, Any] = json.loads(json.dumps(DEFAULT_SCRIPT))
        self.requests: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def next_reply(self) -> str:
        if self.script["replies"]:
            return str(self.script["replies"].pop(0))
        return str(self.script["reply"])

    def next_fault(self) -> dict[str, Any] | None:
        return self.script["faults"].pop(0) if self.script["faults"] else None


FAKE = Fake()


def _pieces(text: str) -> list[str]:
    """Split like a tokenizer might: words with their trailing space, never inside UTF-8."""
    pieces, current = [], ""
    for char in text:
        current += char
        if char == " ":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces or [""]


async def _record(request: Request) -> dict[str, Any]:
    body = await request.json() if request.method == "POST" else None
    FAKE.requests.append({"path": request.url.path, "headers": dict(request.headers), "body": body})
    return body or {}


def _fault_response(fault: dict[str, Any] | None, anthropic: bool) -> Response | None:
    if fault is None or "status" not in fault:
        return None
    status = int(fault["status"])
    headers = {"retry-after": str(fault["retry_after"])} if "retry_after" in fault else {}
    if anthropic:
        kind = "rate_limit_error" if status == 429 else "api_error"
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": "scripted"}}
    else:
        body = {"error": {"message": "scripted fault", "type": "server_error", "code": None}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _paced(pieces: list[str], drop_after: int | None) -> AsyncIterator[tuple[int, str]]:
    delay = FAKE.script["token_delay_ms"] / 1000
    for index, piece in enumerate(pieces):
        if drop_after is not None and index == drop_after:
            raise ConnectionResetError("scripted drop mid-stream")
        if delay:
            await asyncio.sleep(delay)
        yield index, piece


# --- OpenAI (and OpenRouter) ---------------------------------------------------------------


async def openai_chat(request: Request) -> Response:
    body = await _record(request)
    fault = FAKE.next_fault()
    refused = _fault_response(fault, anthropic=False)
    if refused is not None:
        return refused
    reply, usage = FAKE.next_reply(), FAKE.script["usage"]
    usage_body = {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["input_tokens"] + usage["output_tokens"],
    }
    base = {"id": "chatcmpl-fake", "created": int(time.time()), "model": body.get("model")}
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": reply, "refusal": None}
        if FAKE.script["refuse"]:
            message = {"role": "assistant", "content": None, "refusal": FAKE.script["refuse"]}
        return JSONResponse(
            {
                **base,
                "object": "chat.completion",
                "usage": usage_body,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            }
        )
    drop_after = fault.get("drop_after") if fault else None
    return StreamingResponse(
        _openai_stream(base, reply, usage_body, drop_after), media_type="text/event-stream"
    )


async def _openai_stream(
    base: dict[str, Any], reply: str, usage: dict[str, int], drop_after: int | None
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choices = [{"index": 0, "delta": delta, "finish_reason": finish}]
        data = {**base, "object": "chat.completion.chunk", "choices": choices, **extra}
        return f"data: {json.dumps(data)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    if FAKE.script["refuse"]:
        yield chunk({"refusal": FAKE.script["refuse"]})
    else:
        async for _, piece in _paced(_pieces(reply), drop_after):
            yield chunk({"content": piece})
    yield chunk({}, "stop")
    final = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
    yield f"data: {json.dumps(final)}\n\n"
    yield "data: [DONE]\n\n"


# --- Anthropic -------------------------------------------------------------------------------


async def anthropic_messages(request: Request) -> Response:
    body = await _record(request)
    fault = FAKE.next_fault()
    refused = _fault_response(fault, anthropic=True)
    if refused is not None:
        return refused
    drop_after = fault.get("drop_after") if fault else None
    tool = body.get("tool_choice", {}).get("name") if body.get("tool_choice") else None
    return StreamingResponse(
        _anthropic_stream(body, FAKE.next_reply(), tool, drop_after), media_type="text/event-stream"
    )


async def _anthropic_stream(
    body: dict[str, Any], reply: str, tool: str | None, drop_after: int | None
) -> AsyncIterator[str]:
    usage = FAKE.script["usage"]

    def event(kind: str, data: dict[str, Any]) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    yield event(
        "message_start",
        {
            "message": {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": body.get("model"),
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1},
            }
        },
    )
    block = (
        {"type": "tool_use", "id": "toolu_fake", "name": tool, "input": {}}
        if tool
        else {"type": "text", "text": ""}
    )
    yield event("content_block_start", {"index": 0, "content_block": block})
    async for _, piece in _paced(_pieces(reply), drop_after):
        delta = (
            {"type": "input_json_delta", "partial_json": piece}
            if tool
            else {"type": "text_delta", "text": piece}
        )
        yield event("content_block_delta", {"index": 0, "delta": delta})
    yield event("content_block_stop", {"index": 0})
    stop = "refusal" if FAKE.script["refuse"] else ("tool_use" if tool else "end_turn")
    yield event(
        "message_delta",
        {
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
    )
    yield event("message_stop", {})


# --- models and control ----------------------------------------------------------------------


async def models(request: Request) -> Response:
    await _record(request)
    anthropic = "anthropic-version" in request.headers
    refused = _fault_response(FAKE.next_fault(), anthropic=anthropic)
    if refused is not None:
        return refused
    names = FAKE.script["models"]
    if anthropic:
        data = [
            {"id": n, "type": "model", "display_name": n, "created_at": "2025-01-01T00:00:00Z"}
            for n in names
        ]
        return JSONResponse(
            {
                "data": data,
                "has_more": False,
                "first_id": names[0] if names else None,
                "last_id": names[-1] if names else None,
            }
        )
    return JSONResponse(
        {
            "object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names],
        }
    )


async def set_script(request: Request) -> Response:
    FAKE.script.update(await request.json())
    return JSONResponse(FAKE.script)


async def get_requests(request: Request) -> Response:
    return JSONResponse(FAKE.requests)


async def reset(request: Request) -> Response:
    FAKE.reset()
    return JSONResponse({"ok": True})


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/chat/completions", openai_chat, methods=["POST"]),
            Route("/openrouter/v1/chat/completions", openai_chat, methods=["POST"]),
            Route("/v1/messages", anthropic_messages, methods=["POST"]),
            Route("/v1/models", models),
            Route("/openrouter/v1/models", models),
            Route("/_fake/script", set_script, methods=["POST"]),
            Route("/_fake/requests", get_requests),
            Route("/_fake/reset", reset, methods=["POST"]),
        ]
    )


app = create_app()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
