"""Execute jobs: user Python code run in the sandbox, optionally against test cases."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_CODE_BYTES = 512 * 1024


class Limits(BaseModel):
    """Judge0's names and units; the server clamps each to its own maximum."""

    model_config = ConfigDict(extra="forbid")

    cpu_time_limit: float | None = Field(None, gt=0, description="seconds of CPU")
    wall_time_limit: float | None = Field(None, gt=0, description="seconds of wall clock")
    memory_limit: int | None = Field(None, gt=0, description="KB of address space")
    max_processes_and_or_threads: int | None = Field(None, gt=0)
    max_file_size: int | None = Field(None, gt=0, description="KB per written file")
    max_output_size: int | None = Field(None, gt=0, description="KB of stdout+stderr")
    enable_network: bool = Field(False, description="refused unless the server allows it")


class StdinTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stdin: str = Field("", max_length=1_000_000)
    expected_output: str = Field(max_length=1_000_000)
    compare: Literal["exact", "whitespace"] = "whitespace"
    time_limit: float | None = Field(None, gt=0, description="wall seconds for this test")


class Call(BaseModel):
    model_config = ConfigDict(extra="forbid")

    function: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)


class CallTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call: Call
    expected: Any = None
    time_limit: float | None = Field(None, gt=0)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str = Field(pattern=r"^/", max_length=2_000)
    body: Any = None


class RequestTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request: Request
    expected_status: int = 200
    expected_body: Any = None
    time_limit: float | None = Field(None, gt=0)


TestCase = Annotated[StdinTest | CallTest | RequestTest, Field(union_mode="left_to_right")]


class ExecuteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    stdin: str = Field("", max_length=1_000_000)
    limits: Limits = Field(default_factory=Limits)
    task: str | None = Field(None, description="run this coding task's tests")
    tests: list[TestCase] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _bounded(self) -> ExecuteInput:
        if len(self.code.encode()) > MAX_CODE_BYTES:
            raise ValueError(f"code is larger than {MAX_CODE_BYTES // 1024} KiB")
        return self


class Verdict(BaseModel):
    id: int = Field(description="Judge0 status id")
    status: str = Field(description="Judge0 status description")


class TestVerdict(BaseModel):
    __test__ = False

    index: int
    kind: Literal["stdin", "call", "request"]
    verdict: Verdict
    passed: bool
    time: float | None = None
    memory: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ExecuteResult(BaseModel):
    verdict: Verdict
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    signal: int | None = None
    time: float | None = Field(None, description="CPU seconds")
    wall_time: float | None = None
    memory: int | None = Field(None, description="peak resident KB")
    compile_error: dict[str, Any] | None = None
    tests: list[TestVerdict] = Field(default_factory=list)
    passed: int = 0
    total: int = 0


class ValidateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=0, max_length=MAX_CODE_BYTES)


class SyntaxProblem(BaseModel):
    message: str
    line: int | None = None
    column: int | None = None
    text: str | None = None


class ValidateResult(BaseModel):
    valid: bool
    errors: list[SyntaxProblem] = Field(default_factory=list)
