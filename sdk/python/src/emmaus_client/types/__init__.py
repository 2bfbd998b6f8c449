"""Typed results of every surface the SDK speaks."""

from emmaus_client.types.chats import (
    ChatHistory,
    ChatInfo,
    ChatPage,
    HistoryMessage,
    MessageDelta,
    MessageResponse,
)
from emmaus_client.types.completions import (
    ChatCompletion,
    Citation,
    CompletionDelta,
    GroundedCompletion,
    HelpResource,
    Routing,
    Safety,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from emmaus_client.types.responses import (
    ConversationItem,
    ConversationObject,
    ItemPage,
    Response,
    ResponseTextDelta,
    ResponseUsage,
)

__all__ = [
    "ChatCompletion",
    "ChatHistory",
    "ChatInfo",
    "ChatPage",
    "Citation",
    "CompletionDelta",
    "ConversationItem",
    "ConversationObject",
    "GroundedCompletion",
    "HelpResource",
    "HistoryMessage",
    "ItemPage",
    "MessageDelta",
    "MessageResponse",
    "Response",
    "ResponseTextDelta",
    "ResponseUsage",
    "Routing",
    "Safety",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
]
