"""Execute jobs through the API and a real sandbox worker process."""

from __future__ import annotations

import json
import time

import httpx

from tests.support.clients import Frame, read_sse
from tests.support.env import ENV
from tests.support.solutions import TWO_SUM


async def _execute(client: httpx.AsyncClient, body: dict) -> tuple[dict, list[Frame]]:
    response = await client.post("/api/executions", json=body)
    assert response.status_code == 202, response.text
    job = response.json()
    frames = await read_sse(client, job["events_url"])
    return (await client.get(f"/api/jobs/{job['id']}")).json(), frames


async def test_a_program_runs_and_its_output_streams(client: httpx.AsyncClient) -> None:
    job, frames = await _execute(client, {"code": "print('hi', input())", "stdin": "there"})
    assert job["status"] == "succeeded"
    assert job["result"]["verdict"] == {"id": 3, "status": "Accepted"}
    assert job["result"]["stdout"] == "hi there\n"
    assert [f.data["data"] for f in frames if f.event == "output"] == ["hi there\n"]


async def test_task_tests_stream_one_verdict_each(client: httpx.AsyncClient) -> None:
    job, frames = await _execute(client, {"code": TWO_SUM, "task": "two-sum"})
    results = [f.data for f in frames if f.event == "test_result"]
    assert [(r["index"], r["verdict"]["status"]) for r in results] == [
        (0, "Accepted"),
        (1, "Accepted"),
        (2, "Accepted"),
    ]
    assert (job["result"]["passed"], job["result"]["total"]) == (3, 3)


async def test_failing_code_fails_its_tests(client: httpx.AsyncClient) -> None:
    body = {"code": "def two_sum(nums, target):\n    return [0, 0]\n", "task": "two-sum"}
    job, _ = await _execute(client, body)
    assert job["status"] == "succeeded"  # the job ran; the code failed
    assert job["result"]["verdict"]["status"] == "Wrong Answer"
    assert job["result"]["passed"] == 0


async def test_a_syntax_error_is_a_compilation_error(client: httpx.AsyncClient) -> None:
    job, _ = await _execute(client, {"code": "print('unclosed'"})
    assert job["result"]["verdict"] == {"id": 6, "status": "Compilation Error"}
    validated = (
        await client.post("/api/executions/validate", json={"code": "x = 1\nif x\n    pass\n"})
    ).json()
    assert validated["valid"] is False
    assert (validated["errors"][0]["line"], validated["errors"][0]["column"]) == (2, 5)
    ok = (await client.post("/api/executions/validate", json={"code": "x = 1\n"})).json()
    assert ok == {"valid": True, "errors": []}


async def test_cancel_ends_an_execution_within_a_second(client: httpx.AsyncClient) -> None:
    body = {"code": "import time\nprint('started', flush=True)\ntime.sleep(30)"}
    job = (await client.post("/api/executions", json=body)).json()
    cancelled: list[float] = []

    async def cancel_when_started(frame: Frame) -> None:
        if frame.event == "output" and not cancelled:
            cancelled.append(time.monotonic())
            await client.post(f"/api/jobs/{job['id']}/cancel")

    frames = await read_sse(client, job["events_url"], on_frame=cancel_when_started)
    assert frames[-1].data["status"] == "cancelled"
    assert frames[-1].at - cancelled[0] < 1.0


async def test_the_worker_environment_never_reaches_a_result(client: httpx.AsyncClient) -> None:
    # The sandbox worker process was started with this environment (database URL, SECRET_KEY).
    code = (
        "import os\nprint(dict(os.environ))\nfor pid in os.listdir('/proc'):\n"
        "    try: print(pid, open(f'/proc/{pid}/environ').read())\n"
        "    except OSError as e: print(pid, e)\n"
    )
    job, frames = await _execute(client, {"code": code})
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["verdict"]["status"] == "Accepted"
    seen = json.dumps(job) + "".join(json.dumps(f.data) for f in frames)
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert ENV[name] not in seen and name not in seen


async def test_text_postgres_cannot_store_comes_back_replaced(client: httpx.AsyncClient) -> None:
    # NUL (which Postgres refuses) and a lone surrogate (which UTF-8 cannot encode), in output
    # and in an answer: the job still succeeds, with U+FFFD in their place.
    code = "print('a\\0b')\ndef f():\n    return {'k\\0': 'c\\ud800d'}\n"
    job, frames = await _execute(client, {"code": code})
    assert job["status"] == "succeeded", job["error"]
    assert [f.data["data"] for f in frames if f.event == "output"] == ["a\ufffdb\n"]
    assert job["result"]["stdout"] == "a\ufffdb\n"
    tests = [{"call": {"function": "f"}, "expected": {"k": "cd"}}]
    job, _ = await _execute(client, {"code": code, "tests": tests})
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["tests"][0]["verdict"]["status"] == "Wrong Answer"
    assert job["result"]["tests"][0]["details"]["actual"] == {"k\ufffd": "c\ufffdd"}


async def test_tasks_are_listed_and_served(client: httpx.AsyncClient) -> None:
    listed = (await client.get("/api/tasks")).json()
    assert {t["name"] for t in listed} >= {"fizzbuzz", "two-sum", "todo-api"}
    task = (await client.get("/api/tasks/todo-api")).json()
    assert task["tests"][0]["request"]["path"] == "/health"
    assert (await client.get("/api/tasks/nope")).status_code == 404


async def test_bad_executions_are_422(client: httpx.AsyncClient) -> None:
    cases = [
        ({"code": ""}, "code"),
        ({"code": "x", "limits": {"enable_network": True}}, "enable_network"),
        ({"code": "x", "task": "no-such-task"}, "task"),
        ({"code": "x", "limits": {"cpu_time_limit": -1}}, "cpu_time_limit"),
        ({"code": "x" * (600 * 1024)}, "code"),
    ]
    for body, field in cases:
        response = await client.post("/api/executions", json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in response.text


async def test_task_criteria_can_be_judged(client: httpx.AsyncClient) -> None:
    body = {"task": "fizzbuzz", "subject": {"text": "It prints Fizz and Buzz."}}
    job = (await client.post("/api/judgments", json=body)).json()
    await read_sse(client, job["events_url"])
    result = (await client.get(f"/api/jobs/{job['id']}")).json()["result"]
    assert [c["score"] for c in result["criteria"]] == [1.0, 1.0]
    no_criteria = await client.post(
        "/api/judgments", json={"task": "nope", "subject": {"text": "x"}}
    )
    assert no_criteria.status_code == 422
