"""What a judge model is asked, and how its answer becomes a verdict.

The request travels as a JSON block in the user message (so any model, and the mock judge,
reads the same thing); the answer is forced into `answer_schema` by the provider (a JSON-schema
response format on OpenAI-compatible providers, a forced tool call on Anthropic).
"""

from __future__ import annotations

import json
import re
import statistics
from typing import Any

from shared.errors import JudgeParseError
from shared.schemas.chat import ChatMessage, ImagePart, TextPart
from shared.schemas.job_state import Usage
from shared.schemas.judge import CriterionVerdict, JudgeInput, JudgeResult, JudgeSample, RubricItem

SYSTEM_PROMPT = (
    "You are a strict, fair judge. Score the subject against each criterion from 0 (not met) "
    "to 1 (fully met), with a one-sentence reason each, then give an overall reason. Judge only "
    "what the subject shows; when a reference answer is given, compare against it. Answer with "
    "JSON that follows the given schema and nothing else."
)
REQUEST_BLOCK = re.compile(r"```json\n(?P<body>.*?)\n```", re.DOTALL)


def answer_schema(items: list[RubricItem], labels: list[str] | None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "criteria": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "enum": [item.name for item in items]},
                    "score": {"type": "number", "minimum": 0, "maximum": 1},
                    "reason": {"type": "string"},
                },
                "required": ["name", "score", "reason"],
                "additionalProperties": False,
            },
        },
        "reason": {"type": "string"},
    }
    required = ["criteria", "reason"]
    if labels:
        properties["label"] = {"type": "string", "enum": labels}
        required.append("label")
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def build_messages(payload: JudgeInput, items: list[RubricItem]) -> list[ChatMessage]:
    request: dict[str, Any] = {
        "criteria": [
            {"name": i.name, "description": i.description, "weight": i.weight} for i in items
        ],
        "subject": payload.subject.text or "",
        "has_image": payload.subject.image is not None,
    }
    if payload.reference:
        request["reference"] = payload.reference
    if payload.labels:
        request["labels"] = payload.labels
    text = (
        "Judge the subject below (and the attached image, if any).\n\n```json\n"
        + json.dumps(request, ensure_ascii=False, indent=1)
        + "\n```"
    )
    parts: list[TextPart | ImagePart] = [TextPart(text=text)]
    if payload.subject.image is not None:
        parts.append(ImagePart(image_url=payload.subject.image))
    return [
        ChatMessage(role="system", content=SYSTEM_PROMPT),
        ChatMessage(role="user", content=parts),
    ]


def parse_answer(text: str, items: list[RubricItem], payload: JudgeInput) -> JudgeSample:
    """The model's JSON answer as a sample; `JudgeParseError` when it does not fit."""
    try:
        answer = json.loads(_strip_fences(text))
        by_name = {c["name"]: c for c in answer["criteria"]}
        verdicts = []
        for item in items:
            given = by_name[item.name]
            score = float(given["score"])
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"score {score} outside 0..1")
            verdicts.append(
                CriterionVerdict(
                    name=item.name,
                    score=score,
                    weight=item.weight,
                    pass_=score >= payload.threshold,
                    reason=str(given.get("reason", "")),
                )
            )
        label = answer.get("label") if payload.labels else None
        if payload.labels and label not in payload.labels:
            raise ValueError(f"label {label!r} is not one of {payload.labels}")
        reason = str(answer["reason"])
    except (ValueError, KeyError, TypeError) as exc:
        raise JudgeParseError(f"the judge's answer does not fit the schema: {exc}") from exc
    score = _weighted_mean(verdicts)
    return JudgeSample(
        score=score, pass_=score >= payload.threshold, reason=reason, label=label, criteria=verdicts
    )


def aggregate(
    samples: list[JudgeSample], payload: JudgeInput, model: str, usage: Usage
) -> JudgeResult:
    scores = [s.score for s in samples]
    mean = round(statistics.fmean(scores), 6)
    criteria = [
        CriterionVerdict(
            name=first.name,
            weight=first.weight,
            score=(score := round(statistics.fmean(s.criteria[i].score for s in samples), 6)),
            pass_=score >= payload.threshold,
            reason=first.reason,
        )
        for i, first in enumerate(samples[0].criteria)
    ]
    labels = [s.label for s in samples if s.label is not None]
    return JudgeResult(
        score=mean,
        pass_=mean >= payload.threshold,
        threshold=payload.threshold,
        reason=samples[0].reason,
        label=max(set(labels), key=labels.count) if labels else None,
        criteria=criteria,
        mean=mean,
        spread=round(statistics.pstdev(scores), 6),
        samples=samples,
        model=model,
        usage=usage,
    )


def _weighted_mean(verdicts: list[CriterionVerdict]) -> float:
    total = sum(v.weight for v in verdicts)
    return round(sum(v.score * v.weight for v in verdicts) / total, 6)


def _strip_fences(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text
