"""Structured (JSON) logging with a request id carried from the API to the worker.

Never log API keys, user code, or more than the first 50 characters of a prompt: use
`prompt_preview` for prompts.
"""

from __future__ import annotations

import logging
import sys

import structlog

from shared.settings import ObservabilitySettings

_PROMPT_PREVIEW_CHARS = 50


def configure_logging(settings: ObservabilitySettings, *, process: str) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared_processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(settings.log_level.upper())
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(process=process)
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr, format="%(message)s")


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


def prompt_preview(text: str) -> str:
    if len(text) <= _PROMPT_PREVIEW_CHARS:
        return text
    return text[:_PROMPT_PREVIEW_CHARS] + "…"
