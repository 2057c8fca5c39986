"""A local upstream that streams a fixed reply over the real OpenAI chat-completions wire format,
at a fixed pace, for the OpenAI SDK (in the worker, and in the direct baseline) to call.

    python -m bench.upstream --port 8931

The model name sets the reply: `n<tokens>-g<gap ms>` (e.g. `n100-g20`) streams the tokens
`w0 `, `w1 `, … `w99 `, the first one gap after the request and then one every gap, on an
absolute schedule so the pace does not drift. Every chunk is pre-encoded, so the upstream costs
little CPU per token and its own gaps stay close to the nominal pace. It is a bare asyncio
HTTP/1.1 server (keep-alive, chunked responses) to stay out of the way of what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
from functools import lru_cache

_MODEL = re.compile(r"^n(?P<tokens>\d{1,6})-g(?P<gap>\d+(?:\.\d+)?)$")
_BASE = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0}


def token_text(index: int) -> str:
    return f"w{index} "


def expected_reply(tokens: int) -> str:
    return "".join(token_text(i) for i in range(tokens))


def model_name(tokens: int, gap_ms: float) -> str:
    return f"n{tokens}-g{gap_ms:g}"


def _sse(payload: dict[str, object]) -> bytes:
    data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


@lru_cache(maxsize=16)
def _chunks(model: str, tokens: int) -> tuple[bytes, list[bytes], bytes]:
    """(opening chunk, one chunk per token, closing chunks), each HTTP-chunk framed."""
    base = {**_BASE, "model": model}

    def chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    opening = chunk({"role": "assistant", "content": ""})
    body = [chunk({"content": token_text(i)}) for i in range(tokens)]
    usage = {"prompt_tokens": 8, "completion_tokens": tokens, "total_tokens": tokens + 8}
    closing = (
        chunk({}, "stop")
        + _sse({**base, "choices": [], "usage": usage})
        + b"%x\r\n%s\r\n" % (len(b"data: [DONE]\n\n"), b"data: [DONE]\n\n")
        + b"0\r\n\r\n"
    )
    return opening, body, closing


def _head(status: str, content_type: str, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{extra}"
        "connection: keep-alive\r\n\r\n"
    ).encode()


async def _stream(writer: asyncio.StreamWriter, model: str) -> None:
    match = _MODEL.match(model)
    if match is None:
        body = json.dumps({"error": {"message": f"bad bench model {model!r}"}}).encode()
        writer.write(
            _head("400 Bad Request", "application/json", f"content-length: {len(body)}\r\n") + body
        )
        return
    tokens, gap = int(match["tokens"]), float(match["gap"]) / 1000
    opening, body, closing = _chunks(model, tokens)
    loop = asyncio.get_running_loop()
    start = loop.time()
    writer.write(_head("200 OK", "text/event-stream", "transfer-encoding: chunked\r\n") + opening)
    for index, chunk in enumerate(body):
        delay = start + gap * (index + 1) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        writer.write(chunk)
        await writer.drain()
    writer.write(closing)


async def _models(writer: asyncio.StreamWriter) -> None:
    body = json.dumps({"object": "list", "data": []}).encode()
    writer.write(_head("200 OK", "application/json", f"content-length: {len(body)}\r\n") + body)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = dict(
                (name.strip().lower(), value.strip())
                for name, _, value in (line.partition(":") for line in header_lines if line)
            )
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            path = request_line.split(" ")[1]
            if path.endswith("/chat/completions"):
                await _stream(writer, json.loads(body).get("model", ""))
            else:
                await _models(writer)
            await writer.drain()
    writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
