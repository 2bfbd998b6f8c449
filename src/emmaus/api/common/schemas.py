"""Wire schemas every route family shares: the enriched error object of the contract."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorObject(BaseModel):
    code: int
    name: str
    message: str
    retryable: bool


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
