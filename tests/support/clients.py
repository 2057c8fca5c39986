"""Clients that read a job's events the way a user's client does: SSE and WebSocket."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Frame:
    id: str
    event: str
    data: dict[str, Any]
    at: float = field(default=0.0, compare=False)  # time.monotonic() when it arrived


async def read_sse(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    limit: int | None = None,
    timeout: float = 30,  # noqa: ASYNC109 - an httpx read timeout, not a deadline
    on_frame: Callable[[Frame], Any] | None = None,
) -> list[Frame]:
    """Read SSE frames until the server ends the stream (or `limit` frames were read)."""
    frames: list[Frame] = []
    async with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200, (response.status_code, await response.aread())
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line == "":
                if "data" in fields:
                    frame = Frame(
                        fields.get("id", ""),
                        fields.get("event", "message"),
                        json.loads(fields["data"]),
                        time.monotonic(),
                    )
                    frames.append(frame)
                    if on_frame is not None:
                        await on_frame(frame)
                    if limit is not None and len(frames) >= limit:
                        break
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
    return frames


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/api/ws"


def basic_header(name: str, password: str) -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
