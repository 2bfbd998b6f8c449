"""Wire schemas of `POST /ai/v2/route`: the routing decision for a v2 request, without a model
call."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Candidate(BaseModel):
    id: str
    tier: Literal["tier_1", "tier_2", "tier_3"]
    family: str
    context_window: int
    input_cost_per_1k: float
    output_cost_per_1k: float


class RouteDecision(BaseModel):
    routing_mechanism: Literal["auto_routing", "model_family", "direct_model_selection"]
    model: str = Field(description="The model that would answer")
    provider: str
    model_family: str
    routing_tier: Literal["tier_1", "tier_2", "tier_3"]
    routing_confidence: float
    routing_reason: str
    routing_preference: Literal["quality", "balanced", "cost"]
    probabilities: list[float] | None = Field(
        description="Tier 1, 2, 3 probabilities (auto and family routing)"
    )
    signals: list[str] = Field(description="What decided the tier, in words")
    candidates: list[Candidate] = Field(description="The chosen model, then its fallbacks")
    needed_tokens: int = Field(description="Estimated context: prompt plus requested output")
