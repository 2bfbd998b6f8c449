"""Errors of the conversation layer. The API's EmmausError handler renders them."""

from __future__ import annotations

from emmaus.errors import EmmausError, InvalidRequest


class ChatNotFound(EmmausError):
    """No such chat for this client. Another client's chat is reported the same way (404)."""

    status, code, name = 404, 1101, "CHAT_NOT_FOUND"


class MessageNotFound(EmmausError):
    status, code, name = 404, 1102, "MESSAGE_NOT_FOUND"


class InvalidChatOperation(InvalidRequest):
    code, name = 1103, "INVALID_CHAT_OPERATION"


class IdempotencyKeyReused(InvalidRequest):
    """The key was used before for a different request."""

    code, name = 1104, "IDEMPOTENCY_KEY_REUSED"


class IdempotencyInProgress(EmmausError):
    """The first request with this key is still being answered (by another instance)."""

    status, code, name, retryable = 409, 1105, "IDEMPOTENCY_IN_PROGRESS", True
