"""Wire schemas of `POST /ai/v2/moderations`: OpenAI's moderation shape plus Emmaus' crisis
fields on each result."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_INPUTS = 32
MAX_INPUT_CHARS = 20_000

ModerationText = Annotated[str, Field(max_length=MAX_INPUT_CHARS)]
ModerationTexts = Annotated[list[ModerationText], Field(min_length=1, max_length=MAX_INPUTS)]


class ModerationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: (
        ModerationText | Annotated[list[ModerationText], Field(min_length=1, max_length=MAX_INPUTS)]
    )
    model: str | None = Field(default=None, max_length=256, description="Ignored: one classifier")

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class ModerationResultOut(BaseModel):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    crisis: bool = Field(description="Emmaus: the text shows someone may be in danger now")
    crisis_categories: list[str] = Field(
        description="Emmaus: self_harm, abuse, violence_threat, medical_emergency"
    )


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResultOut]
