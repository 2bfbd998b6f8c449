"""Wire schemas of the Emmaus extensions beside the v1 routes: branching (edit, regenerate,
siblings, switching the active branch) and Gloo's v1 stop (`PUT /ai/v1/message?task=stop`).
Shapes follow v1's: role `"kallm"`, text in `message`, naive ISO timestamps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from emmaus.api.chats.protocol import (
    MAX_QUERY_CHARS,
    NO_NUL,
    Flag,
    MessageResponse,
    ModelFamily,
    Text,
    message_response,
    v1_timestamp,
)
from emmaus.conversations.types import Siblings
from emmaus.engine.traditions import Tradition
from emmaus.services.chats.types import TurnResult

# -- requests and responses -------------------------------------------------

Id = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]


class AskAgain(BaseModel):
    """What an edit or a regeneration may set; anything omitted is what the original question
    was sent with (its `character_limit`, `publishers`, sources and suggestion settings...)."""

    model_config = ConfigDict(extra="forbid")  # a new surface: a misspelt field is an error

    chat_id: Id
    message_id: Id
    stream: bool = False
    character_limit: int | None = Field(default=None, ge=0, le=2**31 - 1)
    sources_limit: int | None = Field(default=None, ge=0, le=10)
    publishers: list[Text] | None = Field(default=None, max_length=100)
    enable_suggestions: Flag | None = None
    enable_sources: Literal[0, 1, 2] | None = None
    intent: Flag | None = None
    tradition: Tradition | None = None
    model: Text | None = Field(default=None, max_length=200, description="As for a message")
    model_family: ModelFamily | None = None

    @model_validator(mode="after")
    def _one_routing(self) -> AskAgain:
        if self.model and self.model_family:
            raise ValueError("give model or model_family, not both")
        return self


class EditRequest(AskAgain):
    """`message_id` names the user turn to edit; `query` is its new text."""

    query: Text = Field(min_length=1, max_length=MAX_QUERY_CHARS)


class RegenerateRequest(AskAgain):
    """`message_id` names the reply to answer again."""


class BranchResponse(MessageResponse):
    user_message_id: str = Field(description="The question answered (for an edit: the new one)")


class BranchSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat_id: Id
    message_id: Id = Field(description="Any message of the branch to make active")


class Sibling(BaseModel):
    message_id: str
    query_id: str | None
    role: str = Field(description="user or kallm")
    position: int = Field(description="1-based, oldest first")
    active: bool
    timestamp: str
    message: str
    status: Literal["pending", "complete", "partial", "failed"]


class SiblingList(BaseModel):
    chat_id: str
    message_id: str
    parent_id: str | None
    position: int
    count: int
    active_message_id: str | None = Field(description="null: this fork is off the active branch")
    siblings: list[Sibling]


class StopResponse(BaseModel):
    task: Literal["stop"]
    success: bool = Field(description="true: a running generation was stopped")
    chat_id: str
    message_id: str | None = Field(description="Emmaus: the reply the id named")
    status: Literal["pending", "complete", "partial", "failed"] | None = Field(
        description="Emmaus: the reply's status now (pending: its instance was told, and has "
        "not settled it yet)"
    )


# -- domain → wire -------------------------------------------------------------------------


def branch_response(result: TurnResult) -> dict[str, Any]:
    return {**message_response(result), "user_message_id": result.user_message_id}


def sibling_list(siblings: Siblings) -> dict[str, Any]:
    message = siblings.message
    items = [
        {
            "message_id": m.id,
            "query_id": m.query_id,
            "role": "kallm" if m.role == "assistant" else m.role,
            "position": position,
            "active": m.id == siblings.active_id,
            "timestamp": v1_timestamp(m.created_at if m.role == "user" else m.updated_at),
            "message": m.content,
            "status": m.status,
        }
        for position, m in enumerate(siblings.messages, start=1)
    ]
    return {
        "chat_id": message.chat_id,
        "message_id": message.id,
        "parent_id": message.parent_id,
        "position": siblings.position,
        "count": len(items),
        "active_message_id": siblings.active_id,
        "siblings": items,
    }
