"""One error tree for Switchyard.

    SwitchyardError                 (500, not retryable)
    ├── BadRequest                  (400)
    ├── Unauthorized                (401)
    ├── Forbidden                   (403; e.g. a stream token used beyond reading its job)
    ├── NotFound                    (404)
    ├── Conflict                    (409)
    ├── Invalid                     (422)
    ├── RateLimited                 (429, carries retry_after)
    ├── ServiceUnavailable          (503, retryable)
    ├── ProviderError               (502; raised by provider adapters)
    │   ├── ProviderRetryable       (429/5xx/connection reset: retryable, may carry retry_after)
    │   └── ProviderRejected        (4xx the request itself caused: not retryable)
    ├── JudgeAnswerError            (502; the judge model's answer is unusable)
    │   ├── JudgeParseError         (the answer did not parse twice in a row: `parse_error`)
    │   └── JudgeRefusal            (the model refused to judge: `refusal`)
    ├── SandboxError                (500; the sandbox could not run the code at all)
    │   └── SandboxUnavailable      (no isolation on this host and unsafe mode is off)
    └── JobCancelled                (the job was cancelled while it ran)

Each error knows its HTTP status, a stable `code` for clients, and whether retrying the same
request could succeed. The API renders them with one handler; the worker turns them into
`error` events.
"""

from __future__ import annotations


class SwitchyardError(Exception):
    status_code = 500
    code = "internal_error"
    retryable = False

    def __init__(self, message: str = "", *, retryable: bool | None = None) -> None:
        super().__init__(message or self.code.replace("_", " "))
        self.message = message or self.code.replace("_", " ")
        if retryable is not None:
            self.retryable = retryable


class BadRequest(SwitchyardError):
    status_code = 400
    code = "bad_request"


class Unauthorized(SwitchyardError):
    status_code = 401
    code = "unauthorized"


class Forbidden(SwitchyardError):
    status_code = 403
    code = "forbidden"


class NotFound(SwitchyardError):
    status_code = 404
    code = "not_found"


class Conflict(SwitchyardError):
    status_code = 409
    code = "conflict"


class Invalid(SwitchyardError):
    status_code = 422
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RateLimited(SwitchyardError):
    status_code = 429
    code = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(SwitchyardError):
    status_code = 503
    code = "unavailable"
    retryable = True


class ProviderError(SwitchyardError):
    status_code = 502
    code = "provider_error"


class ProviderRetryable(ProviderError):
    code = "provider_unavailable"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderRejected(ProviderError):
    code = "provider_rejected"
    retryable = False


class JudgeAnswerError(SwitchyardError):
    status_code = 502
    code = "judge_error"


class JudgeParseError(JudgeAnswerError):
    code = "parse_error"


class JudgeRefusal(JudgeAnswerError):
    code = "refusal"


class SandboxError(SwitchyardError):
    code = "sandbox_error"


class SandboxUnavailable(SandboxError):
    status_code = 503
    code = "sandbox_unavailable"


class JobCancelled(SwitchyardError):
    status_code = 409
    code = "cancelled"
