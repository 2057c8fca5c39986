"""The chat app's API, driven as its frontend did: WS /ws/chat events and its HTTP routes."""

from __future__ import annotations

import json

import httpx
import websockets

from tests.conftest import create_user
from tests.support.clients import basic_header
from tests.support.processes import Stack


def chat_socket_url(stack: Stack) -> str:
    return stack.base_url.replace("http://", "ws://", 1) + "/ws/chat"


async def _ask(socket: websockets.ClientConnection, **frame: object) -> tuple[dict, dict]:
    await socket.send(json.dumps({"type": "user_message", "model": "mock/echo", **frame}))
    return json.loads(await socket.recv()), json.loads(await socket.recv())


async def test_websocket_answers_messages_with_status_and_history(
    stack: Stack, user: tuple[str, str]
) -> None:
    async with websockets.connect(
        chat_socket_url(stack), additional_headers=basic_header(*user)
    ) as socket:
        response, status = await _ask(socket, content="hello moon")
        assert response["type"] == "ai_response" and response["content"] == "hello moon"
        chat_id = response["chat_id"]
        assert status["type"] == "backend_status" and status["status"] == "succeeded"
        assert status["chat_id"] == chat_id and status["model"] == "mock/echo"
        assert status["tokens"]["output"] == 2 and status["latency_ms"] > 0

        second, _ = await _ask(socket, content="and the sun", chat_id=chat_id)
        assert second["chat_id"] == chat_id and second["content"] == "and the sun"

        await socket.send(json.dumps({"type": "chat_history", "chat_id": chat_id}))
        history = json.loads(await socket.recv())
        assert history["type"] == "chat_history"
        assert [(m["role"], m["content"]) for m in history["messages"]] == [
            ("user", "hello moon"),
            ("assistant", "hello moon"),
            ("user", "and the sun"),
            ("assistant", "and the sun"),
        ]

        await socket.send(json.dumps({"type": "typing"}))
        assert json.loads(await socket.recv())["type"] == "error"


async def test_websocket_hides_another_users_chat(
    stack: Stack, user: tuple[str, str], sessions: object
) -> None:
    other = await create_user(sessions)
    async with websockets.connect(
        chat_socket_url(stack), additional_headers=basic_header(*user)
    ) as socket:
        response, _ = await _ask(socket, content="private")
    async with websockets.connect(
        chat_socket_url(stack), additional_headers=basic_header(*other)
    ) as socket:
        await socket.send(json.dumps({"type": "chat_history", "chat_id": response["chat_id"]}))
        refused = json.loads(await socket.recv())
        assert refused == {"type": "error", "message": "conversation not found"}


async def test_http_chat_keeps_a_chat_going(client: httpx.AsyncClient) -> None:
    first = await client.post("/chat", json={"message": "one small step", "model": "mock/echo"})
    assert first.status_code == 200, first.text
    reply = first.json()
    assert reply["response"] == "one small step"
    assert reply["tokens"] == {"input": 3, "output": 3, "total": 6}
    chat_id = reply["chat_id"]
    second = (await client.post("/chat", json={"message": "giant leap", "chat_id": chat_id})).json()
    assert second["chat_id"] == chat_id and second["response"] == "giant leap"

    chats = (await client.get("/chats")).json()
    assert [(c["id"], c["title"], c["message_count"]) for c in chats] == [
        (chat_id, "one small step", 4)
    ]
    chat = (await client.get(f"/chat/{chat_id}")).json()
    assert [m["content"] for m in chat["messages"]] == ["one small step"] * 2 + ["giant leap"] * 2
    assert chat["messages"][1]["id"] == reply["message_id"]


async def test_generate_and_stats(client: httpx.AsyncClient) -> None:
    body = {"prompt": "count the stars", "system": "Be brief.", "max_tokens": 2}
    generated = await client.post("/generate", json=body)
    assert generated.status_code == 200
    assert generated.json()["response"] == "count the "
    assert generated.json()["model"] == "mock/echo"  # the server's default
    stats = (await client.get("/stats")).json()
    assert stats == (await client.get("/api/stats")).json()
    assert "energy" in stats and stats["usage"]


async def test_another_users_chat_is_404(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    chat_id = (await client.post("/chat", json={"message": "mine"})).json()["chat_id"]
    assert (await other_client.get(f"/chat/{chat_id}")).status_code == 404
    theirs = await other_client.post("/chat", json={"message": "theirs", "chat_id": chat_id})
    assert theirs.status_code == 404
    assert (await other_client.get("/chats")).json() == []
    assert (await anonymous.post("/generate", json={"prompt": "x"})).status_code == 401
