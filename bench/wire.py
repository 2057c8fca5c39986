"""A lean HTTP/1.1 client on bare asyncio streams, for the benchmarks' many concurrent streams.

httpx costs ~50 µs of CPU per SSE frame in the benchmark's own process; at 500 streams that
would be the benchmark measuring itself. This client does only what the benchmarks need: one
connection per stream, a JSON POST, and a chunked `text/event-stream` body split into frames,
each stamped with `time.perf_counter()` when it arrived. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    _frames: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 20)
        return cls(reader, writer)

    def close(self) -> None:
        self.writer.close()

    def _send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        lines = [f"{method} {path} HTTP/1.1", f"host: {HOST}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines.append(f"content-length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    async def _head(self) -> Response:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        return Response(int(status_line.split(" ")[1]), headers)

    async def request(
        self, method: str, path: str, headers: dict[str, str], payload: Any = None
    ) -> Response:
        """A request whose answer has a content-length (JSON), on this kept-alive connection."""
        body = json.dumps(payload).encode() if payload is not None else b""
        if body:
            headers = {**headers, "content-type": "application/json"}
        self._send(method, path, headers, body)
        response = await self._head()
        length = int(response.headers.get("content-length", "0"))
        response.body = await self.reader.readexactly(length) if length else b""
        return response

    async def stream(
        self, method: str, path: str, headers: dict[str, str], payload: Any = None
    ) -> AsyncIterator[tuple[float, dict[str, str]]]:
        """SSE frames (their fields) with their arrival time, until the body ends."""
        body = json.dumps(payload).encode() if payload is not None else b""
        if body:
            headers = {**headers, "content-type": "application/json"}
        self._send(method, path, {**headers, "accept": "text/event-stream"}, body)
        response = await self._head()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: HTTP {response.status}")
        buffer = b""
        async for data in self._chunks():
            buffer = (buffer + data).replace(b"\r\n", b"\n")
            *complete, buffer = buffer.split(b"\n\n")
            now = time.perf_counter()
            for raw in complete:
                fields = _fields(raw)
                if fields:
                    yield now, fields

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return
            data = await self.reader.readexactly(size + 2)
            yield data[:-2]


def _fields(raw: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in raw.decode().split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value
    return fields
