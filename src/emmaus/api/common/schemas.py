"""Wire schemas every route family shares: the enriched error object of the contract."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorObject(BaseModel):
    code: int
    name: str
    message: str
    retryable: bool
    type: str | None = Field(
        default=None, description="OpenAI's error type: invalid_request_error, not_found_error..."
    )
    param: str | None = Field(default=None, description="The request field at fault, if one is")


class HelpResourceOut(BaseModel):
    name: str = Field(description='e.g. "988 Suicide & Crisis Lifeline"')
    contact: str = Field(description='How to reach it, e.g. "Call or text 988"')
    description: str
    url: str | None = None


class SafetyOut(BaseModel):
    """What the safety layer did: `support` (a crisis: care and help resources), `refuse` (a
    harmful request or a flagged answer: `finish_reason: "content_filter"`) or `none`."""

    action: Literal["none", "support", "refuse"]
    categories: list[str] = Field(description="The flagged categories, crisis ones first")
    severity: Literal["none", "low", "medium", "high"]
    resources: list[HelpResourceOut] = Field(
        default_factory=list,
        description="The help resources the layer's text lists (a support answer, or a refusal "
        "or replacement that turns to support), in its order, in the client's locale, to show "
        "as links or buttons; otherwise empty",
    )


class CompletionError(BaseModel):
    error: ErrorObject
    detail: Any = None


def error_responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses=` entries: each status with the enriched error body."""
    return {
        status: {"model": CompletionError, "description": text}
        for status, text in descriptions.items()
    }


COMPLETION_ERRORS = error_responses(
    {
        400: "Malformed JSON",
        404: "Unknown model",
        408: "The model did not answer in time",
        413: "Request body too large",
        422: "Invalid request or routing rule violated",
        502: "The upstream model failed",
        503: "The model is overloaded or unavailable",
    }
)
