"""Who may see what: Basic auth, ownership (404, never the data), stream tokens, bad input."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.support.clients import basic_header, read_sse, ws_url
from tests.support.processes import Stack

BODY = {"messages": [{"role": "user", "content": "secret plans"}], "model": "mock/echo"}


@pytest.fixture
async def job(client: httpx.AsyncClient) -> dict:
    return (await client.post("/api/chat?wait=true", json=BODY)).json()


async def test_other_users_get_404_on_every_job_endpoint(
    other_client: httpx.AsyncClient, job: dict
) -> None:
    base = f"/api/jobs/{job['id']}"
    for method, path in [
        ("GET", base),
        ("POST", f"{base}/cancel"),
        ("GET", f"{base}/events"),
        ("POST", f"{base}/token"),
    ]:
        response = await other_client.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert "secret" not in response.text
    listed = (await other_client.get("/api/jobs")).json()["items"]
    assert job["id"] not in [j["id"] for j in listed]


async def test_other_users_cannot_subscribe_over_websocket(
    stack: Stack,
    job: dict,
    sessions,  # type: ignore[no-untyped-def]
) -> None:
    from tests.conftest import create_user

    other = await create_user(sessions)
    async with websockets.connect(
        ws_url(stack.base_url), additional_headers=basic_header(*other)
    ) as socket:
        await socket.send(json.dumps({"op": "subscribe", "job_id": job["id"]}))
        frame = json.loads(await socket.recv())
        assert frame["type"] == "error" and frame["code"] == "not_found"
        await socket.send(json.dumps({"op": "cancel", "job_id": job["id"]}))
        assert json.loads(await socket.recv())["code"] == "not_found"


async def test_unauthenticated_requests_get_401(anonymous: httpx.AsyncClient, job: dict) -> None:
    for method, path in [
        ("GET", "/api/jobs"),
        ("GET", f"/api/jobs/{job['id']}"),
        ("POST", "/api/chat"),
        ("GET", f"/api/jobs/{job['id']}/events"),
        ("POST", f"/api/jobs/{job['id']}/cancel"),
    ]:
        response = await anonymous.request(method, path, json=BODY)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"].startswith("Basic")


async def test_wrong_and_overlong_passwords_get_401_not_500(
    anonymous: httpx.AsyncClient, user: tuple[str, str]
) -> None:
    name = user[0]
    assert (await anonymous.get("/api/jobs", auth=(name, "wrong"))).status_code == 401
    assert (await anonymous.get("/api/jobs", auth=(name, "x" * 73))).status_code == 401
    assert (await anonymous.get("/api/jobs", auth=("nobody-at-all", "x"))).status_code == 401
    garbled = {"Authorization": "Basic %%%"}
    assert (await anonymous.get("/api/jobs", headers=garbled)).status_code == 401


async def test_websocket_without_credentials_is_refused(stack: Stack) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(ws_url(stack.base_url)):
            pass
    assert refused.value.response.status_code == 403


async def test_stream_token_opens_one_job_only(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, stack: Stack, job: dict
) -> None:
    issued = (await client.post(f"/api/jobs/{job['id']}/token")).json()
    frames = await read_sse(anonymous, issued["events_url"])
    assert frames[-1].event == "done"

    other_job = (await client.post("/api/chat?wait=true", json=BODY)).json()
    response = await anonymous.get(
        f"/api/jobs/{other_job['id']}/events", params={"token": issued["token"]}
    )
    assert response.status_code == 404
    forged = issued["token"][:-2] + ("AA" if not issued["token"].endswith("AA") else "BB")
    response = await anonymous.get(f"/api/jobs/{job['id']}/events", params={"token": forged})
    assert response.status_code == 401
    for garbage in ("a.é", "é", "...", ""):
        response = await anonymous.get(f"/api/jobs/{job['id']}/events", params={"token": garbage})
        assert response.status_code == 401, garbage

    url = ws_url(stack.base_url) + f"?token={issued['token']}"
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"op": "subscribe", "job_id": other_job["id"]}))
        assert json.loads(await socket.recv())["code"] == "not_found"
        await socket.send(json.dumps({"op": "subscribe", "job_id": job["id"]}))
        assert json.loads(await socket.recv())["type"] == "subscribed"
        conversation = (await client.post("/api/conversations", json={"title": "t"})).json()
        await socket.send(
            json.dumps({"op": "message", "conversation_id": conversation["id"], "content": "hi"})
        )
        while (frame := json.loads(await socket.recv()))["type"] == "event":
            pass
        assert frame["type"] == "error" and frame["code"] == "forbidden", frame


async def test_bad_bodies_get_422_naming_the_field(client: httpx.AsyncClient) -> None:
    cases = [
        ({"model": "mock/echo"}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": 9}, "temperature"),
        ({"messages": [{"role": "user", "content": "x"}], "model": "no-slash"}, "model"),
        ({"messages": [{"role": "system", "content": "only system"}]}, "messages"),
    ]
    for body, field in cases:
        response = await client.post("/api/chat", json=body)
        assert response.status_code == 422, body
        assert field in json.dumps(response.json()["detail"]), (body, response.json())
    response = await client.post(
        "/api/chat", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


async def test_unknown_provider_or_model_is_a_422(client: httpx.AsyncClient) -> None:
    for model, words in [("nope/x", "unknown provider"), ("mock/unknown", "mock has no model")]:
        body = {"messages": [{"role": "user", "content": "x"}], "model": model}
        response = await client.post("/api/chat", json=body)
        assert response.status_code == 422
        assert words in response.json()["detail"] and response.json()["field"] == "model"


def test_a_provider_without_a_key_is_absent() -> None:
    from shared.errors import Invalid
    from shared.providers import check_model
    from shared.settings import ProviderSettings

    bare = ProviderSettings(openai_api_key="", anthropic_api_key="", openrouter_api_key="")
    with pytest.raises(Invalid, match="not configured"):
        check_model("openai/gpt-4o-mini", bare)
    assert check_model("mock/echo", bare) == "mock/echo"


async def test_unknown_job_is_404_and_malformed_id_422(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert (await client.get("/api/jobs/not-a-uuid")).status_code == 422


async def test_dev_mode_lifts_auth_and_says_so(stack: Stack) -> None:
    dev = Stack(workdir=stack.workdir, env={**stack.env, "DEV_MODE": "true"})
    api = dev.start_api()
    try:
        dev.wait_ready(("llm",))
        async with httpx.AsyncClient(base_url=dev.base_url, timeout=30) as http:
            job = (await http.post("/api/chat?wait=true", json=BODY)).json()
            assert job["status"] == "succeeded"
            assert (await http.get(f"/api/jobs/{job['id']}")).status_code == 200
    finally:
        dev.stop()
    assert "DEV_MODE IS ON" in api.tail(200)


async def test_nul_characters_are_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    """Postgres cannot store U+0000 in text or JSONB: such input is refused, never a 500."""
    chat = {"messages": [{"role": "user", "content": "a\u0000b"}], "model": "mock/echo"}
    execution = {"code": "print(1)", "stdin": "\u0000"}
    conversation = {"title": "nul\u0000title"}
    for path, body in (
        ("/api/chat", chat),
        ("/api/executions", execution),
        ("/api/conversations", conversation),
    ):
        response = await client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert "NUL" in response.json()["detail"]
