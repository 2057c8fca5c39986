"""Test cases run one sandboxed process each and are judged on the host: stdin -> expected
output, a function call -> expected value, an HTTP-like request to an `@endpoint` handler ->
expected status and body. Expected values never enter the sandbox."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from shared.schemas.execute import CallTest, RequestTest, StdinTest, TestCase, TestVerdict, Verdict
from shared.storable import storable
from worker.sandbox import verdicts
from worker.sandbox.bwrap import ProcessOutcome
from worker.sandbox.limits import SandboxLimits
from worker.sandbox.runner import Box, Sandbox, classify

DETAIL_CHARS = 10_000
Kind = Literal["stdin", "call", "request"]


@dataclass
class Reported:
    """What the harness wrote on the result pipe: the call's outcome, and its own usage."""

    outcome: dict[str, Any] | None
    cpu: float | None
    maxrss: int | None


def read_report(raw: bytes) -> Reported:
    reported = Reported(None, None, None)
    for line in raw.decode(errors="replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and isinstance(item.get("usage"), dict):
            reported.cpu = item["usage"].get("cpu")
            reported.maxrss = item["usage"].get("maxrss")
        elif isinstance(item, dict):
            reported.outcome = item
    return reported


def normalized(value: Any) -> Any:
    """JSON round trip, so tuples equal lists and keys are strings on both sides."""
    return json.loads(json.dumps(value, default=repr))


def same_output(actual: str, expected: str, compare: str) -> bool:
    if compare == "exact":
        return actual == expected
    return actual.split() == expected.split()


async def run_test(
    sandbox: Sandbox, box: Box, index: int, test: TestCase, limits: SandboxLimits
) -> TestVerdict:
    limits = limits.for_test(test.time_limit)
    if isinstance(test, StdinTest):
        outcome = await sandbox.run(box, "run", {}, limits, stdin=test.stdin)
        return _stdin_verdict(index, test, outcome, limits)
    if isinstance(test, CallTest):
        spec = {"function": test.call.function, "args": test.call.args, "kwargs": test.call.kwargs}
        outcome = await sandbox.run(box, "call", spec, limits)
        return _value_verdict(index, "call", outcome, limits, {"value": normalized(test.expected)})
    assert isinstance(test, RequestTest)
    spec = {"method": test.request.method, "path": test.request.path, "body": test.request.body}
    outcome = await sandbox.run(box, "request", spec, limits)
    expected = {"status": test.expected_status, "body": normalized(test.expected_body)}
    return _value_verdict(index, "request", outcome, limits, expected)


def _measured(outcome: ProcessOutcome, reported: Reported) -> tuple[float, int]:
    cpu = reported.cpu if reported.cpu is not None else outcome.cpu_time
    return round(max(cpu, outcome.cpu_time), 4), max(reported.maxrss or 0, outcome.memory_kb)


def _stdin_verdict(
    index: int, test: StdinTest, outcome: ProcessOutcome, limits: SandboxLimits
) -> TestVerdict:
    verdict = classify(outcome, limits)
    if verdict == verdicts.ACCEPTED and not same_output(
        outcome.stdout, test.expected_output, test.compare
    ):
        verdict = verdicts.WRONG_ANSWER
    time, memory = _measured(outcome, read_report(outcome.result))
    details = {
        "stdout": outcome.stdout[:DETAIL_CHARS],
        "stderr": outcome.stderr[-DETAIL_CHARS:],
        "expected_output": test.expected_output,
        "exit_code": outcome.exit_code,
        "signal": outcome.signal,
    }
    return _verdict(index, "stdin", verdict, time, memory, details)


def _value_verdict(
    index: int, kind: Kind, outcome: ProcessOutcome, limits: SandboxLimits, expected: dict[str, Any]
) -> TestVerdict:
    verdict = classify(outcome, limits)
    reported = read_report(outcome.result)
    answer = reported.outcome or {}
    details: dict[str, Any] = {
        "expected": expected.get("value", expected),
        "stderr": outcome.stderr[-DETAIL_CHARS:],
    }
    if "error" in answer:
        details["error"] = str(answer["error"])[:DETAIL_CHARS]
        if verdict == verdicts.ACCEPTED:
            verdict = verdicts.RUNTIME_NZEC
    elif verdict == verdicts.ACCEPTED:
        actual = {key: answer.get(key) for key in expected}
        details["actual"] = actual.get("value", actual)
        if reported.outcome is None:
            verdict = verdicts.RUNTIME_OTHER
            details["error"] = "the program ended without an answer"
        elif normalized(actual) != expected:
            verdict = verdicts.WRONG_ANSWER
    time, memory = _measured(outcome, reported)
    return _verdict(index, kind, verdict, time, memory, details)


def _verdict(
    index: int,
    kind: Literal["stdin", "call", "request"],
    verdict: Verdict,
    time: float,
    memory: int,
    details: dict[str, Any],
) -> TestVerdict:
    return TestVerdict(
        index=index,
        kind=kind,
        verdict=verdict,
        passed=verdict == verdicts.ACCEPTED,
        time=time,
        memory=memory,
        details=storable(details),  # judged on the raw values above, stored clean
    )
