"""Python syntax checking without running anything (API validate, worker compile step)."""

from __future__ import annotations

from shared.schemas.execute import MAX_CODE_BYTES, SyntaxProblem, ValidateResult


def check_syntax(code: str) -> ValidateResult:
    if len(code.encode()) > MAX_CODE_BYTES:
        return ValidateResult(
            valid=False,
            errors=[SyntaxProblem(message=f"code is larger than {MAX_CODE_BYTES // 1024} KiB")],
        )
    try:
        compile(code, "<submission>", "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and TabError are SyntaxErrors
        problem = SyntaxProblem(
            message=exc.msg,
            line=exc.lineno,
            column=exc.offset,
            text=(exc.text or "").rstrip("\n") or None,
        )
        return ValidateResult(valid=False, errors=[problem])
    except (ValueError, MemoryError, RecursionError) as exc:  # e.g. NUL bytes, deep nesting
        return ValidateResult(valid=False, errors=[SyntaxProblem(message=str(exc))])
    return ValidateResult(valid=True)
