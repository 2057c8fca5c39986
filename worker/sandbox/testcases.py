"""Test cases run one sandboxed process each and are judged on the host: stdin -> expected
output, a function call -> expected value, an HTTP-like request to an `@endpoint` handler ->
expected status and body. Expected values never enter the sandbox."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from shared.schemas.execute import CallTest, RequestTest, StdinTest, TestCase, TestVerdict, Verdict
from shared.storable import storable
from worker.sandbox import verdicts
from worker.sandbox.bwrap import ProcessOutcome
from worker.sandbox.limits import SandboxLimits
from worker.sandbox.pipes import RESULT_CAP_BYTES
from worker.sandbox.runner import Box, Sandbox, classify

DETAIL_CHARS = 10_000
Kind = Literal["stdin", "call", "request"]


REPORT_KEYS = frozenset({"value", "error", "status", "body"})
MAX_DEPTH = 200  # of a reported value: deeper is refused, as the API refuses deep input


@dataclass
class Reported:
    """The harness's answer for a call or request, as the host believes it: the program runs in
    the harness's process and can write on the result pipe too, so the line is the program's
    own output, parsed as untrusted input."""

    outcome: dict[str, Any] | None = None
    malformed: str | None = None  # why the report cannot be used, when it cannot


def read_report(raw: bytes) -> Reported:
    """One JSON object line, at most RESULT_CAP_BYTES, of the harness's keys and types, finite
    numbers only (NaN, Infinity and overflowing floats become their text), not too deep."""
    if not raw:
        return Reported()
    if len(raw) > RESULT_CAP_BYTES:
        return Reported(malformed=f"the report is larger than {RESULT_CAP_BYTES} bytes")
    lines = raw.rstrip(b"\n").split(b"\n")
    if len(lines) != 1:
        return Reported(malformed=f"{len(lines)} report lines where the harness writes one")
    try:
        item = json.loads(lines[0], parse_float=_finite, parse_constant=str)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return Reported(malformed=f"the report is not JSON ({type(exc).__name__})")
    if not isinstance(item, dict) or not set(item) <= REPORT_KEYS:
        return Reported(malformed="the report is not the harness's object")
    if not isinstance(item.get("error", ""), str) or type(item.get("status", 0)) is not int:
        return Reported(malformed="the report's fields have the wrong types")
    if _depth(item) > MAX_DEPTH:
        return Reported(malformed=f"the reported value is nested deeper than {MAX_DEPTH}")
    return Reported(outcome=storable(item))


def _finite(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else text


def _depth(value: Any) -> int:
    deepest, level = 0, [value]
    while level:
        deepest += 1
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if deepest > MAX_DEPTH:
            break
    return deepest


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


def _stdin_verdict(
    index: int, test: StdinTest, outcome: ProcessOutcome, limits: SandboxLimits
) -> TestVerdict:
    verdict = classify(outcome, limits)
    if verdict == verdicts.ACCEPTED and not same_output(
        outcome.stdout, test.expected_output, test.compare
    ):
        verdict = verdicts.WRONG_ANSWER
    details = {
        "stdout": outcome.stdout[:DETAIL_CHARS],
        "stderr": outcome.stderr[-DETAIL_CHARS:],
        "expected_output": test.expected_output,
        "exit_code": outcome.exit_code,
        "signal": outcome.signal,
    }
    return _verdict(index, "stdin", verdict, outcome, details)


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
    if reported.malformed is not None:
        details["error"] = f"the program's report was malformed: {reported.malformed}"
        if verdict == verdicts.ACCEPTED:
            verdict = verdicts.RUNTIME_OTHER
    elif "error" in answer:
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
    return _verdict(index, kind, verdict, outcome, details)


def _verdict(
    index: int,
    kind: Literal["stdin", "call", "request"],
    verdict: Verdict,
    outcome: ProcessOutcome,
    details: dict[str, Any],
) -> TestVerdict:
    """The test's verdict, with the time and memory the host accounted (never the sandbox's)."""
    return TestVerdict(
        index=index,
        kind=kind,
        verdict=verdict,
        passed=verdict == verdicts.ACCEPTED,
        time=outcome.cpu_time,
        memory=outcome.memory_kb,
        details=storable(details),  # judged on the raw values above, stored clean
    )
