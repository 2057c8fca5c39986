"""Test cases of each kind give the right verdicts, streamed one event per test."""

from __future__ import annotations

import asyncio
import contextlib
import time

from tests.support.solutions import FIZZBUZZ, TODO_API, TWO_SUM
from tests.worker.sandbox.conftest import eventually, sandbox_processes


def _kinds(run) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [(e.index, e.verdict["status"]) for e in run.events if e.type == "test_result"]


async def test_stdin_tests_pass_and_fail(execute_code) -> None:  # type: ignore[no-untyped-def]
    tests = [
        {"stdin": "3\n", "expected_output": "1\n2\nFizz\n"},
        {"stdin": "5\n", "expected_output": "1 2 Fizz 4 Buzz", "compare": "whitespace"},
        {"stdin": "5\n", "expected_output": "1 2 Fizz 4 Buzz", "compare": "exact"},
        {"stdin": "x\n", "expected_output": ""},
    ]
    run = await execute_code(FIZZBUZZ, tests=tests)
    assert _kinds(run) == [
        (0, "Accepted"),
        (1, "Accepted"),
        (2, "Wrong Answer"),
        (3, "Runtime Error (NZEC)"),
    ]
    result = run.result
    assert (result["passed"], result["total"]) == (2, 4)
    assert result["verdict"] == {"id": 4, "status": "Wrong Answer"}
    assert (
        result["tests"][3]["details"]["stderr"]
        .rstrip()
        .endswith("ValueError: invalid literal for int() with base 10: 'x'")
    )
    assert all(t["time"] is not None and t["memory"] > 0 for t in result["tests"])


async def test_function_tests_pass_and_fail(execute_code) -> None:  # type: ignore[no-untyped-def]
    tests = [
        {"call": {"function": "two_sum", "args": [[2, 7, 11, 15], 9]}, "expected": [0, 1]},
        {
            "call": {"function": "two_sum", "kwargs": {"nums": [3, 3], "target": 6}},
            "expected": [0, 1],
        },
        {"call": {"function": "two_sum", "args": [[1, 2], 3]}, "expected": [1, 0]},
        {"call": {"function": "missing", "args": []}, "expected": None},
        {"call": {"function": "two_sum", "args": [None, 1]}, "expected": None},
    ]
    run = await execute_code(TWO_SUM, tests=tests)
    assert _kinds(run) == [
        (0, "Accepted"),
        (1, "Accepted"),
        (2, "Wrong Answer"),
        (3, "Runtime Error (NZEC)"),
        (4, "Runtime Error (NZEC)"),
    ]
    details = run.result["tests"]
    assert details[2]["details"]["actual"] == [0, 1] and details[2]["details"]["expected"] == [1, 0]
    assert "no function named 'missing'" in details[3]["details"]["error"]
    assert "TypeError" in details[4]["details"]["error"]


async def test_endpoint_tests_pass_and_fail(execute_code) -> None:  # type: ignore[no-untyped-def]
    tests = [
        {"request": {"method": "GET", "path": "/health"}, "expected_body": {"ok": True}},
        {
            "request": {"method": "POST", "path": "/todos", "body": {"title": "t"}},
            "expected_status": 201,
            "expected_body": {"id": 1, "title": "t", "done": False},
        },
        {"request": {"method": "GET", "path": "/todos"}, "expected_body": [{"id": 1}]},
        {"request": {"method": "DELETE", "path": "/todos"}, "expected_status": 204},
    ]
    run = await execute_code(TODO_API, tests=tests)
    assert _kinds(run) == [
        (0, "Accepted"),
        (1, "Accepted"),
        (2, "Wrong Answer"),
        (3, "Wrong Answer"),
    ]
    assert run.result["tests"][3]["details"]["actual"]["status"] == 404


async def test_a_cheating_program_cannot_forge_a_pass(execute_code) -> None:  # type: ignore[no-untyped-def]
    # It can write on the result pipe too, but the expected value never enters the sandbox,
    # and a second line beside the harness's own is a forged report: the program's failure.
    cheat = (
        "import os, json\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try: os.write(int(fd), (json.dumps({'value': 'forged'}) + '\\n').encode())\n"
        "    except OSError: pass\n"
        "def answer():\n    return 1\n"
    )
    run = await execute_code(cheat, tests=[{"call": {"function": "answer"}, "expected": 2}])
    assert _kinds(run) == [(0, "Runtime Error (Other)")]
    assert "report was malformed" in run.result["tests"][0]["details"]["error"]


async def test_answers_postgres_cannot_store_are_judged_then_replaced(execute_code) -> None:  # type: ignore[no-untyped-def]
    code = "def f():\n    return {'k\\0': 'c\\ud800d'}\n"
    run = await execute_code(code, tests=[{"call": {"function": "f"}, "expected": {"k": "cd"}}])
    assert _kinds(run) == [(0, "Wrong Answer")]
    assert run.result["tests"][0]["details"]["actual"] == {"k\ufffd": "c\ufffdd"}


async def test_a_task_runs_its_own_tests(execute_code) -> None:  # type: ignore[no-untyped-def]
    run = await execute_code(TODO_API, task="todo-api")  # each test is a fresh process
    assert (run.result["passed"], run.result["total"]) == (3, 3)
    run = await execute_code(TWO_SUM, task="two-sum")
    assert (run.result["passed"], run.result["total"]) == (3, 3)
    assert run.result["verdict"]["status"] == "Accepted"


async def test_per_test_time_limits(execute_code) -> None:  # type: ignore[no-untyped-def]
    slow = "import time\ndef wait(s):\n    time.sleep(s)\n    return s\n"
    tests = [
        {"call": {"function": "wait", "args": [0.1]}, "expected": 0.1, "time_limit": 1},
        {"call": {"function": "wait", "args": [3]}, "expected": 3, "time_limit": 0.5},
    ]
    run = await execute_code(slow, tests=tests)
    assert _kinds(run) == [(0, "Accepted"), (1, "Time Limit Exceeded")]


async def test_a_syntax_error_is_a_compilation_error(execute_code) -> None:  # type: ignore[no-untyped-def]
    run = await execute_code("def f(:\n    pass\n", tests=[{"stdin": "", "expected_output": ""}])
    assert run.result["verdict"] == {"id": 6, "status": "Compilation Error"}
    assert run.result["compile_error"]["line"] == 1
    assert run.events == []


async def test_output_streams_while_the_program_runs(execute_code) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys, time\nfor i in range(3):\n    print('line', i, flush=True)\n"
        "    print('warn', i, file=sys.stderr, flush=True)\n    time.sleep(0.05)\nprint('héllo ✓')"
    )
    run = await execute_code(code)
    streamed = {"stdout": "", "stderr": ""}
    for event in run.events:
        streamed[event.stream] += event.data
    assert streamed["stdout"] == run.result["stdout"] == "line 0\nline 1\nline 2\nhéllo ✓\n"
    assert streamed["stderr"] == "warn 0\nwarn 1\nwarn 2\n"
    assert len([e for e in run.events if e.stream == "stdout"]) >= 3
    assert run.result["verdict"]["status"] == "Accepted" and run.result["exit_code"] == 0


async def test_cancelling_kills_the_program_within_a_second(execute_code) -> None:  # type: ignore[no-untyped-def]
    task = asyncio.ensure_future(
        execute_code("import time\nprint('started', flush=True)\ntime.sleep(30)")
    )
    assert await eventually(lambda: bool(sandbox_processes()), 5)
    await asyncio.sleep(0.2)
    cancelled_at = time.monotonic()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await eventually(lambda: not sandbox_processes(), 1)
    assert time.monotonic() - cancelled_at < 1
