"""A deterministic local provider: needs no key, and is what a newcomer sees first.

Models:
- `mock/echo`       streams the last user message back word by word (`MOCK_TOKEN_DELAY_MS`
                    between tokens, default 20 ms);
- `mock/echo-slow`  the same at 200 ms per token;
- `mock/fail`       streams a few tokens, then fails with a retryable provider error;
- `mock/judge`      answers a judge request (see `worker.judging`) deterministically: a
                    criterion scores 1 when the subject's text contains every double-quoted
                    phrase of the criterion (case-insensitive), 0 when it misses one, and 0.5
                    when the criterion quotes nothing; in label mode it picks the first label
                    when the overall score is at least 0.5, else the last.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

from shared.errors import ProviderRejected, ProviderRetryable
from shared.providers import MOCK_MODELS as MODELS
from shared.schemas.chat import ChatMessage
from shared.schemas.job_state import Usage
from worker.providers.base import Chunk, GenerationConfig, ModelInfo

_FAIL_AFTER_TOKENS = 3
_WORDS = re.compile(r"\S+\s*")


def _last_user_text(messages: list[ChatMessage]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.text()
    return ""


_QUOTED = re.compile(r'"([^"]+)"')
_REQUEST = re.compile(r"```json\n(?P<body>.*?)\n```", re.DOTALL)


def _judge(prompt: str) -> str:
    match = _REQUEST.search(prompt)
    if match is None:
        raise ProviderRejected("mock/judge needs a judge request (a ```json block)")
    request = json.loads(match.group("body"))
    subject = request.get("subject", "").lower()
    verdicts, total, weights = [], 0.0, 0.0
    for criterion in request["criteria"]:
        phrases = _QUOTED.findall(criterion["name"] + " " + criterion.get("description", ""))
        if not phrases:
            score, reason = 0.5, "no quoted phrase to look for"
        else:
            missing = [p for p in phrases if p.lower() not in subject]
            score = 0.0 if missing else 1.0
            reason = f"missing {missing}" if missing else f"contains {phrases}"
        verdicts.append({"name": criterion["name"], "score": score, "reason": reason})
        total += score * criterion.get("weight", 1.0)
        weights += criterion.get("weight", 1.0)
    answer: dict[str, object] = {"criteria": verdicts, "reason": "mock judge: quoted phrases"}
    if request.get("labels"):
        labels = request["labels"]
        answer["label"] = labels[0] if weights and total / weights >= 0.5 else labels[-1]
    return json.dumps(answer)


def _count_tokens(text: str) -> int:
    return len(text.split())


class MockProvider:
    name = "mock"

    def __init__(self, token_delay_ms: float = 20.0) -> None:
        self.token_delay = token_delay_ms / 1000.0

    async def stream(
        self, messages: list[ChatMessage], config: GenerationConfig
    ) -> AsyncIterator[Chunk]:
        if config.model not in MODELS:
            raise ProviderRejected(f"mock has no model {config.model!r}; try one of {MODELS}")
        delay = 0.2 if config.model == "echo-slow" else self.token_delay
        if config.model == "judge":
            text = _judge(_last_user_text(messages))
        else:
            text = _last_user_text(messages)
        words = _WORDS.findall(text) or ["(empty)"]
        if config.max_tokens is not None:
            words = words[: config.max_tokens]
        for index, word in enumerate(words):
            if config.model == "fail" and index == _FAIL_AFTER_TOKENS:
                raise ProviderRetryable("mock/fail: simulated upstream failure mid-stream")
            if delay:
                await asyncio.sleep(delay)
            yield Chunk(delta=word)
        if config.model == "fail":
            raise ProviderRetryable("mock/fail: simulated upstream failure mid-stream")
        prompt_tokens = sum(_count_tokens(m.text()) for m in messages)
        cut = config.max_tokens is not None and len(words) == config.max_tokens
        finish = "length" if cut else "stop"
        yield Chunk(
            usage=Usage(input_tokens=prompt_tokens, output_tokens=len(words)),
            finish_reason=finish,
        )

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(id=f"mock/{m}", provider="mock", name=m) for m in MODELS]

    async def aclose(self) -> None:
        return None
