"""The older APIs' frontends need two stacks: the session's (Basic auth, DEV_MODE off) and a
second API process with DEV_MODE=true and CORS for a page origin, sharing the session's
database, Redis and workers (so no extra workers load the machine)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import websockets

from tests.support.processes import Stack, free_port


@pytest.fixture(scope="session")
def page_origin() -> str:
    """The origin a browser page is served from in the CORS tests (allowed on `dev_stack`)."""
    return f"http://localhost:{free_port()}"


@pytest.fixture(scope="session")
def dev_stack(
    stack: Stack, page_origin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    env = {**stack.env, "DEV_MODE": "true", "CORS_ORIGINS": page_origin}
    dev = Stack(workdir=tmp_path_factory.mktemp("dev-stack"), env=env)
    try:
        dev.start_api()
        dev.wait_ready(("llm", "sandbox"))
        yield dev
    finally:
        dev.stop()


@pytest.fixture
async def dev_client(dev_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no credentials at all, as the documents' frontends had none."""
    async with httpx.AsyncClient(base_url=dev_stack.base_url, timeout=60) as http:
        yield http


def ws_base(stack: Stack) -> str:
    return stack.base_url.replace("http://", "ws://", 1)


async def recv_json(socket: websockets.ClientConnection) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), 60))
