"""Judge jobs with the mock judge (no key): deterministic verdicts, samples, bad input."""

from __future__ import annotations

import base64
import json

import httpx

from tests.support.clients import read_sse
from tests.support.processes import Stack

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def _judge(client: httpx.AsyncClient, body: dict) -> dict:
    response = await client.post("/api/judgments", json=body)
    assert response.status_code == 202, response.text
    job = response.json()
    frames = await read_sse(client, job["events_url"])
    assert frames[-1].event == "done"
    return (await client.get(f"/api/jobs/{job['id']}")).json()


async def test_mock_judge_scores_quoted_phrases(client: httpx.AsyncClient) -> None:
    job = await _judge(
        client,
        {
            "criteria": ['mentions "tides"', 'names "the moon" and "gravity"', "is polite"],
            "subject": {"text": "The Moon's gravity pulls the TIDES."},
        },
    )
    assert job["status"] == "succeeded" and job["model"] == "mock/judge"
    result = job["result"]
    assert [(c["name"], c["score"], c["pass"]) for c in result["criteria"]] == [
        ('mentions "tides"', 1.0, True),
        ('names "the moon" and "gravity"', 1.0, True),
        ("is polite", 0.5, True),
    ]
    assert result["score"] == round(2.5 / 3, 6) and result["pass"] is True
    assert result["samples"][0]["score"] == result["score"] and result["spread"] == 0


async def test_rubric_weights_and_threshold(client: httpx.AsyncClient) -> None:
    job = await _judge(
        client,
        {
            "rubric": [
                {"name": 'says "hello"', "weight": 3},
                {"name": 'says "goodbye"', "description": "at the end", "weight": 1},
            ],
            "subject": {"text": "hello there"},
            "threshold": 0.8,
            "samples": 3,
        },
    )
    result = job["result"]
    assert result["score"] == 0.75 and result["pass"] is False
    assert [c["pass"] for c in result["criteria"]] == [True, False]
    assert len(result["samples"]) == 3 and result["mean"] == 0.75 and result["spread"] == 0


async def test_label_mode(client: httpx.AsyncClient) -> None:
    job = await _judge(
        client,
        {
            "criteria": ['contains "def "'],
            "subject": {"text": "x = 1"},
            "mode": "label",
            "labels": ["python-function", "no-function"],
        },
    )
    assert job["result"]["label"] == "no-function" and job["result"]["score"] == 0


async def test_image_upload_as_multipart(client: httpx.AsyncClient) -> None:
    payload = {"criteria": ['shows "submit"'], "subject": {"text": "a page with a Submit button"}}
    response = await client.post(
        "/api/judgments",
        data={"payload": json.dumps(payload)},
        files={"image": ("page.png", PNG, "image/png")},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["input"]["subject"]["image"]["url"].startswith("data:image/png;base64,")
    await read_sse(client, job["events_url"])
    assert (await client.get(f"/api/jobs/{job['id']}")).json()["result"]["score"] == 1.0


async def test_image_urls_are_refused_never_fetched(client: httpx.AsyncClient) -> None:
    body = {"criteria": ["x"], "subject": {"image": {"url": "http://127.0.0.1:9/cat.png"}}}
    response = await client.post("/api/judgments", json=body)
    assert response.status_code == 422 and "data URL" in response.text


async def test_bad_judgments_are_422(client: httpx.AsyncClient) -> None:
    cases = [
        {"subject": {"text": "x"}},
        {"criteria": ["a"], "rubric": [{"name": "b"}], "subject": {"text": "x"}},
        {"criteria": ["a"], "subject": {}},
        {"criteria": ["a"], "subject": {"text": "x"}, "mode": "label"},
        {"criteria": ["a"], "subject": {"text": "x"}, "samples": 0},
        {"criteria": [""], "subject": {"text": "x"}},
        {"criteria": ["x" * 201], "subject": {"text": "x"}},
    ]
    for body in cases:
        response = await client.post("/api/judgments", json=body)
        assert response.status_code == 422, (body, response.text)
    for payload in ("[1, 2]", '"text"', '{"criteria": ["a"], "subject": "text"}'):
        response = await client.post(
            "/api/judgments",
            data={"payload": payload},
            files={"image": ("a.png", PNG, "image/png")},
        )
        assert response.status_code == 422, (payload, response.text)
    garbage = await client.post(
        "/api/judgments", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 422


async def test_with_no_key_configured_the_mock_judge_is_the_default(
    stack: Stack, user: tuple[str, str]
) -> None:
    """A Switchyard with no provider key at all (its own API and LLM worker) judges with
    `mock/judge`, and refuses a model whose provider has no key."""
    keyless = {
        **stack.env,
        "OPENAI_API_KEY": "",
        "ANTHROPIC_API_KEY": "",
        "OPENROUTER_API_KEY": "",
        "DEFAULT_MODEL": "",
    }
    bare = Stack(workdir=stack.workdir, env=keyless)
    bare.start_api()
    bare.start_worker("llm", concurrency=4)
    try:
        bare.wait_ready(("llm",))
        async with httpx.AsyncClient(base_url=bare.base_url, auth=user, timeout=30) as http:
            body = {
                "criteria": ['says "hello"', 'says "goodbye"'],
                "subject": {"text": "Hello there"},
            }
            job = await _judge(http, body)
            refused = await http.post("/api/judgments", json={**body, "model": "openai/gpt-4o"})
    finally:
        bare.stop()
    assert job["model"] == "mock/judge" and job["status"] == "succeeded"
    assert [c["pass"] for c in job["result"]["criteria"]] == [True, False]
    assert job["result"]["score"] == 0.5 and job["result"]["pass"] is True
    assert refused.status_code == 422 and "openai" in refused.text
