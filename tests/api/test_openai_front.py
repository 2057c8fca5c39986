"""The official `openai` client pointed at Switchyard's /v1 gets streamed and whole replies."""

from __future__ import annotations

import openai
import pytest

from api.routes.completions import _ReplyText
from tests.support.processes import Stack


@pytest.fixture
async def sdk(stack: Stack, user: tuple[str, str]):  # type: ignore[no-untyped-def]
    client = openai.AsyncOpenAI(
        base_url=f"{stack.base_url}/v1", api_key=f"{user[0]}:{user[1]}", max_retries=0
    )
    yield client
    await client.close()


async def test_streaming_completion(sdk: openai.AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="mock/echo",
        messages=[{"role": "user", "content": "stream me please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    deltas, finish, usage = [], None, None
    async for chunk in stream:
        if chunk.choices:
            deltas.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert "".join(deltas) == "stream me please"
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == 3


async def test_whole_completion(sdk: openai.AsyncOpenAI) -> None:
    completion = await sdk.chat.completions.create(
        model="mock/echo",
        messages=[{"role": "system", "content": "sys"}, {"role": "user", "content": "all at once"}],
        max_tokens=10,
    )
    assert completion.choices[0].message.content == "all at once"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.prompt_tokens == 4


async def test_failures_surface_as_sdk_errors(sdk: openai.AsyncOpenAI, stack: Stack) -> None:
    with pytest.raises(openai.APIStatusError) as failed:
        await sdk.chat.completions.create(
            model="mock/fail", messages=[{"role": "user", "content": "a b c d e"}]
        )
    assert failed.value.status_code == 503
    with pytest.raises(openai.UnprocessableEntityError):
        await sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}]
        )
    bad = openai.AsyncOpenAI(base_url=f"{stack.base_url}/v1", api_key="nobody:wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await bad.chat.completions.create(
            model="mock/echo", messages=[{"role": "user", "content": "x"}]
        )
    await bad.close()


async def test_models_list(sdk: openai.AsyncOpenAI) -> None:
    ids = [model.id async for model in sdk.models.list()]
    assert "mock/echo" in ids


def test_a_retried_attempt_never_repeats_text_to_an_openai_client() -> None:
    """After a worker died mid-reply, the retry is followed silently until it has said what the
    client already has; a retry that says something else ends the stream instead."""
    same = _ReplyText()
    assert [same.add(d) for d in ("hello ", "wor")] == ["hello ", "wor"]
    same.new_attempt()
    assert [same.add(d) for d in ("hello ", "world", "!")] == ["", "ld", "!"]

    twice = _ReplyText()  # a second retry while the first was still catching up
    assert twice.add("one two ") == "one two "
    twice.new_attempt()
    assert twice.add("one ") == ""
    twice.new_attempt()
    # the space before "three" was sent already
    assert [twice.add(d) for d in ("one", " two", " three")] == ["", "", "three"]

    diverged = _ReplyText()
    assert diverged.add("hello ") == "hello "
    diverged.new_attempt()
    assert diverged.add("goodbye") is None
