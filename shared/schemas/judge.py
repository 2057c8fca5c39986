"""Judge jobs: a model scores a subject (text and/or an image) against criteria."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.schemas.chat import ImageUrl, ModelName
from shared.schemas.job_state import Usage

# A plain criterion becomes a rubric item's name, so it is bounded the same way.
Criterion = Annotated[str, Field(min_length=1, max_length=200)]


class RubricItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5_000)
    weight: float = Field(1.0, gt=0, le=1_000)


class Subject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, max_length=200_000)
    image: ImageUrl | None = Field(
        None,
        description="a data URL (`data:image/png;base64,...`), as a string or `{url}`; "
        "the server never fetches URLs",
    )

    @field_validator("image", mode="before")
    @classmethod
    def _url_as_string(cls, value: object) -> object:
        return {"url": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _something(self) -> Subject:
        if not self.text and self.image is None:
            raise ValueError("give the subject's text, its image, or both")
        return self


class JudgeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criteria: list[Criterion] | None = Field(None, min_length=1, max_length=50)
    rubric: list[RubricItem] | None = Field(None, min_length=1, max_length=50)
    task: str | None = Field(None, description="judge against this coding task's criteria")
    subject: Subject
    reference: str | None = Field(None, max_length=200_000)
    model: ModelName | None = None
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    samples: int = Field(1, ge=1, le=10)
    mode: Literal["score", "label"] = "score"
    labels: list[str] | None = Field(None, min_length=2, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> JudgeInput:
        given = [x for x in (self.criteria, self.rubric, self.task) if x]
        if len(given) != 1:
            raise ValueError("give exactly one of criteria, rubric or task")
        if self.mode == "label" and not self.labels:
            raise ValueError("mode 'label' needs labels")
        if self.mode == "score" and self.labels:
            raise ValueError("labels are only for mode 'label'")
        return self

    def items(self) -> list[RubricItem]:
        """The criteria as weighted rubric items (plain criteria weigh 1 each)."""
        if self.rubric:
            return self.rubric
        return [RubricItem(name=text, weight=1.0) for text in self.criteria or []]


class CriterionVerdict(BaseModel):
    name: str
    score: float = Field(ge=0.0, le=1.0)
    weight: float = 1.0
    pass_: bool = Field(alias="pass", serialization_alias="pass")
    reason: str = ""

    model_config = ConfigDict(populate_by_name=True)


class JudgeSample(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    score: float
    pass_: bool = Field(alias="pass", serialization_alias="pass")
    reason: str
    label: str | None = None
    criteria: list[CriterionVerdict]


class JudgeResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    score: float = Field(description="weighted mean of the criteria scores (mean of samples)")
    pass_: bool = Field(alias="pass", serialization_alias="pass")
    threshold: float
    reason: str
    label: str | None = None
    criteria: list[CriterionVerdict]
    mean: float
    spread: float = Field(description="population standard deviation of the sample scores")
    samples: list[JudgeSample]
    model: str
    usage: Usage
