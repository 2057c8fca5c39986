"""Execute: user code in the sandbox — the program itself, or a battery of test cases.

A syntax error is a Compilation Error verdict and nothing runs. Without tests, the program
runs once with `stdin`, its output streamed as `output` events. With tests (given, or a task's),
each runs in its own sandboxed process with its own time limit, and its verdict streams as a
`test_result` event. Cancelled, the running process tree is killed before the job ends.
"""

from __future__ import annotations

from typing import Literal

from shared.schemas.events import OutputEvent, TestResultEvent
from shared.schemas.execute import ExecuteInput, ExecuteResult, TestCase, TestVerdict
from shared.syntax import check_syntax
from shared.tasks import get_task
from worker.context import JobContext, Outcome
from worker.sandbox import verdicts
from worker.sandbox.limits import SandboxLimits
from worker.sandbox.runner import Box, Sandbox, classify
from worker.sandbox.testcases import run_test


async def handle(ctx: JobContext, payload: ExecuteInput) -> Outcome:
    sandbox: Sandbox = ctx.resources.sandbox
    syntax = check_syntax(payload.code)
    if not syntax.valid:
        error = syntax.errors[0]
        result = ExecuteResult(
            verdict=verdicts.COMPILATION_ERROR,
            stderr=error.message,
            compile_error=error.model_dump(),
        )
        return Outcome(result=result)
    await sandbox.ensure_available()
    limits = SandboxLimits.resolve(payload.limits, ctx.resources.settings.sandbox)
    tests: list[TestCase] = list(payload.tests)
    if payload.task and not tests:
        tests = list(get_task(payload.task).tests)
    with sandbox.box(payload.code) as box:
        if not tests:
            return Outcome(result=await _run_program(ctx, sandbox, box, payload, limits))
        verdict_list: list[TestVerdict] = []
        for index, test in enumerate(tests):
            verdict = await run_test(sandbox, box, index, test, limits)
            verdict_list.append(verdict)
            await ctx.emit(
                TestResultEvent(
                    job_id=ctx.job_id,
                    index=index,
                    verdict=verdict.verdict.model_dump(),
                    time=verdict.time,
                    memory=verdict.memory,
                    details={"kind": verdict.kind, "passed": verdict.passed, **verdict.details},
                )
            )
    return Outcome(result=_summary(verdict_list))


async def _run_program(
    ctx: JobContext, sandbox: Sandbox, box: Box, payload: ExecuteInput, limits: SandboxLimits
) -> ExecuteResult:
    async def stream(name: str, text: str) -> None:
        channel: Literal["stdout", "stderr"] = "stderr" if name == "stderr" else "stdout"
        await ctx.emit(OutputEvent(job_id=ctx.job_id, stream=channel, data=text))

    outcome = await sandbox.run(box, "run", {}, limits, on_output=stream, stdin=payload.stdin)
    return ExecuteResult(
        verdict=classify(outcome, limits),
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        exit_code=outcome.exit_code,
        signal=outcome.signal,
        time=outcome.cpu_time,  # the host's accounting, never the sandbox's word
        wall_time=outcome.wall_time,
        memory=outcome.memory_kb,
    )


def _summary(tests: list[TestVerdict]) -> ExecuteResult:
    failed = next((t for t in tests if not t.passed), None)
    return ExecuteResult(
        verdict=failed.verdict if failed else verdicts.ACCEPTED,
        time=max((t.time or 0.0) for t in tests),
        memory=max((t.memory or 0) for t in tests),
        tests=tests,
        passed=sum(t.passed for t in tests),
        total=len(tests),
    )
