"""seeds/004, the chat app, played as its frontend: the WebSocket events (`user_message` ->
`ai_response` + `backend_status`, `chat_history`) and the REST endpoints.

Each assertion quotes the document line it rests on."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.compat.conftest import recv_json, ws_base
from tests.support.clients import basic_header
from tests.support.processes import Stack


async def _say(socket: websockets.ClientConnection, text: str) -> tuple[dict, dict]:
    # "User sends a message (`user_message` event)"; `user_message = data.get("message")`
    await socket.send(json.dumps({"event": "user_message", "message": text}))
    return await recv_json(socket), await recv_json(socket)


async def test_a_message_is_answered_with_a_response_then_the_status(
    stack: Stack, user: tuple[str, str], client: httpx.AsyncClient
) -> None:
    url = ws_base(stack) + "/ws/chat"
    async with websockets.connect(url, additional_headers=basic_header(*user)) as socket:
        # "| `chat_history` | ← Frontend | Updated chat logs |": asked for on connect, before
        # any message, the logs are empty (not an error)
        await socket.send(json.dumps({"event": "chat_history"}))
        empty = await recv_json(socket)
        assert (empty["event"], empty["messages"]) == ("chat_history", [])
        response, status = await _say(socket, "hello moon")
        # `await websocket.send_json({"event": "ai_response", "message": ai_response})`
        assert response["event"] == "ai_response" and response["message"] == "hello moon"
        # `{"event": "backend_status", "tokens_used": 10, "latency": "150ms"}`
        assert status["event"] == "backend_status"
        assert isinstance(status["tokens_used"], int) and status["tokens_used"] > 0
        assert status["latency"].endswith("ms") and int(status["latency"][:-2]) >= 0

        # the server code reads only `message`: a frame without `event` is a user message
        await socket.send(json.dumps({"message": "and the sun"}))
        second = await recv_json(socket)
        assert second == {**second, "event": "ai_response", "message": "and the sun"}
        assert (await recv_json(socket))["event"] == "backend_status"

        # "| `chat_history` | ← Frontend | Updated chat logs |"
        await socket.send(json.dumps({"event": "chat_history"}))
        history = await recv_json(socket)
        assert history["event"] == "chat_history"
        assert [(m["role"], m["content"]) for m in history["messages"]] == [
            ("user", "hello moon"),
            ("assistant", "hello moon"),
            ("user", "and the sun"),
            ("assistant", "and the sun"),
        ]
        await socket.send(json.dumps({"event": "typing"}))
        assert (await recv_json(socket))["event"] == "error"
    # "Storing and retrieving chat history from a database": the socket's chat is a chat
    chats = (await client.get("/chats")).json()
    assert [c["id"] for c in chats] == [history["chat_id"]]


async def test_the_socket_needs_basic_auth_unless_dev_mode(stack: Stack, dev_stack: Stack) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(ws_base(stack) + "/ws/chat"):
            pass
    assert refused.value.response.status_code == 403
    async with websockets.connect(ws_base(dev_stack) + "/ws/chat") as socket:
        response, status = await _say(socket, "dev hello")
        assert response["message"] == "dev hello" and status["event"] == "backend_status"


async def test_a_failed_reply_is_an_error_event(stack: Stack, user: tuple[str, str]) -> None:
    url = ws_base(stack) + "/ws/chat"
    async with websockets.connect(url, additional_headers=basic_header(*user)) as socket:
        await socket.send(json.dumps({"event": "user_message", "message": ""}))
        assert (await recv_json(socket))["event"] == "error"
        await socket.send(json.dumps({"event": "user_message", "message": "still here"}))
        assert (await recv_json(socket))["message"] == "still here"


async def test_chat_management(client: httpx.AsyncClient, other_client: httpx.AsyncClient) -> None:
    # "`POST /chat` → Create a new chat session."
    created = await client.post("/chat", json={"title": "moons"})
    assert created.status_code == 200, created.text
    chat = created.json()
    assert chat["title"] == "moons" and chat["messages"] == []
    # "`POST /generate` → Process a user message through LLM (for non-WebSocket clients)."
    generated = (
        await client.post("/generate", json={"message": "tides", "chat_id": chat["id"]})
    ).json()
    assert generated["response"] == "tides" and generated["tokens_used"] > 0
    assert generated["latency"].endswith("ms")
    # "`GET /chat/{id}` → Load specific chat session."
    loaded = (await client.get(f"/chat/{chat['id']}")).json()
    assert [(m["role"], m["content"]) for m in loaded["messages"]] == [
        ("user", "tides"),
        ("assistant", "tides"),
    ]
    # "`GET /chats` → Fetch chat history."
    assert [c["id"] for c in (await client.get("/chats")).json()] == [chat["id"]]
    assert (await other_client.get(f"/chat/{chat['id']}")).status_code == 404
    # a session needs no body
    assert (await client.post("/chat")).status_code == 200


async def test_generate_and_stats(client: httpx.AsyncClient) -> None:
    one_shot = (await client.post("/generate", json={"message": "a b c"})).json()
    assert one_shot["response"] == one_shot["message"] == "a b c"
    # a frontend with no chat open yet sends its id empty: a one-shot reply too
    no_chat = await client.post("/generate", json={"message": "d e", "chat_id": ""})
    assert no_chat.status_code == 200 and no_chat.json()["response"] == "d e"
    assert (await client.post("/generate", json={"message": ""})).status_code == 422
    # "`GET /stats` → Retrieve system statistics (token usage, latency, etc.)."
    stats = (await client.get("/stats")).json()
    assert stats["tokens_used"] >= one_shot["tokens_used"] > 0
    assert stats["latency"].endswith("ms") and stats["requests"] >= 1


async def test_rest_needs_basic_auth_unless_dev_mode(
    anonymous: httpx.AsyncClient, dev_client: httpx.AsyncClient
) -> None:
    assert (await anonymous.get("/chats")).status_code == 401
    assert (await dev_client.post("/generate", json={"message": "dev"})).json()["response"] == "dev"
