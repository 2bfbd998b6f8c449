"""Domain errors: the one catalogue of Emmaus' error codes. Each carries the HTTP status and the
numeric/symbolic code of the contract's enriched error object (`{"error": {"code", "name",
"message"}}`, spec §4.5, §8.3). Codes by range: 1001-1099 requests and routing, 1101-1199
conversations, 1301-1399 the content library, 2000-2099 models and replies. Auth and rate-limit
errors have the contract's other shape (`{"error", "code"}`) and live in `emmaus.auth.errors`."""

from __future__ import annotations


class EmmausError(Exception):
    status: int = 500
    code: int = 9000
    name: str = "INTERNAL_ERROR"
    retryable: bool = False
    param: str | None = None  # the request field at fault, when one is (OpenAI's `param`)

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "retryable": self.retryable,
        }


class InvalidRequest(EmmausError):
    status, code, name = 422, 1001, "INVALID_REQUEST"


class RoutingRuleViolation(InvalidRequest):
    code, name = 1002, "ROUTING_RULE"


class ModelNotFound(EmmausError):
    status, code, name = 404, 1003, "MODEL_NOT_FOUND"
    param = "model"


class NoModelAvailable(EmmausError):
    status, code, name = 422, 1004, "NO_MODEL_AVAILABLE"


class CapabilityNotSupported(EmmausError):
    status, code, name = 422, 1005, "UNSUPPORTED_CAPABILITY"


class ProviderError(EmmausError):
    """The model behind a catalog entry failed. Retryable ones may fall back to another model."""

    status, code, name, retryable = 502, 2000, "PROVIDER_ERROR", True


class ProviderTimeout(ProviderError):
    status, code, name = 408, 2001, "PROVIDER_TIMEOUT"


class ProviderUnavailable(ProviderError):
    status, code, name = 503, 2002, "PROVIDER_UNAVAILABLE"


class ProviderOverloaded(ProviderError):
    """The embedded model's queue is full: retry after `retry_after` seconds."""

    status, code, name = 503, 2003, "PROVIDER_OVERLOADED"


class ProviderRejected(ProviderError):
    """The upstream refused the request itself (a 4xx other than 408/429): not worth a retry."""

    status, code, name, retryable = 422, 2004, "PROVIDER_REJECTED", False


class ProviderStreamBroken(ProviderError):
    """The upstream stream ended without a finish_reason or sent a chunk we cannot read."""

    status, code, name = 502, 2005, "PROVIDER_STREAM_BROKEN"


class ContextTooLong(InvalidRequest):
    """No model the routing may pick has a window that holds the request."""

    status, code, name = 400, 1007, "CONTEXT_LENGTH_EXCEEDED"
    param = "messages"


class EmptyMessages(InvalidRequest):
    status, code, name = 400, 1006, "EMPTY_MESSAGES"
    param = "messages"


class RequestTooLarge(InvalidRequest):
    """The body is past `EMMAUS_MAX_REQUEST_BYTES` (or the upload bound), refused unread."""

    status, code, name = 413, 1008, "REQUEST_TOO_LARGE"


class UnknownFields(InvalidRequest):
    """Top-level request fields Emmaus does not know (a typo such as `max_token`), as OpenAI's
    API refuses them."""

    status, code, name = 400, 1009, "UNKNOWN_FIELDS"


# -- conversations ---------------------------------------------------------------------------


class ChatNotFound(EmmausError):
    """No such chat for this client. Another client's chat is reported the same way (404)."""

    status, code, name = 404, 1101, "CHAT_NOT_FOUND"


class MessageNotFound(EmmausError):
    status, code, name = 404, 1102, "MESSAGE_NOT_FOUND"


class ResponseNotFound(EmmausError):
    """No such stored response for this client (another client's is reported the same way)."""

    status, code, name = 404, 1106, "RESPONSE_NOT_FOUND"


class ConversationNotFound(EmmausError):
    status, code, name = 404, 1107, "CONVERSATION_NOT_FOUND"


class ItemNotFound(EmmausError):
    status, code, name = 404, 1108, "ITEM_NOT_FOUND"


class ResponseNotRunning(EmmausError):
    """Only a response still being generated can be cancelled."""

    status, code, name = 409, 1109, "RESPONSE_NOT_RUNNING"


class InvalidChatOperation(InvalidRequest):
    code, name = 1103, "INVALID_CHAT_OPERATION"


class IdempotencyKeyReused(InvalidRequest):
    """The key was used before for a different request."""

    code, name = 1104, "IDEMPOTENCY_KEY_REUSED"


class IdempotencyInProgress(EmmausError):
    """The first request with this key is still being answered (by another instance)."""

    status, code, name, retryable = 409, 1105, "IDEMPOTENCY_IN_PROGRESS", True


# -- the content library -----------------------------------------------------------------------


class UnsupportedDocument(InvalidRequest):
    code, name = 1301, "UNSUPPORTED_DOCUMENT"


class EmptyDocument(InvalidRequest):
    code, name = 1302, "EMPTY_DOCUMENT"


class GroundingUnavailable(EmmausError):
    status, code, name = 503, 1303, "GROUNDING_UNAVAILABLE"


class DocumentNotFound(EmmausError):
    status, code, name = 404, 1304, "DOCUMENT_NOT_FOUND"


class DocumentTooLarge(InvalidRequest):
    """Past what one upload may cost to read: text, pages, nesting, chunks, CPU or time."""

    status, code, name = 413, 1305, "DOCUMENT_TOO_LARGE"


class PublisherNameShared(EmmausError):
    """The name belongs to a shared publisher: a client's own publisher of that name would sit
    beside it under one name, so uploads into it are refused (docs/library.md)."""

    status, code, name = 409, 1307, "PUBLISHER_NAME_SHARED"
    param = "publisher"


class SharedDocument(EmmausError):
    """The document belongs to a shared publisher: listed to every client, changed only by the
    operator (`emmaus ingest`)."""

    status, code, name = 409, 1308, "SHARED_DOCUMENT"


class LibraryQuotaExceeded(EmmausError):
    """The client's library is full (documents, bytes or chunks): delete something first."""

    status, code, name = 409, 1306, "LIBRARY_QUOTA_EXCEEDED"


# -- replies that ended without the model failing (stored on the reply, never raised) ----------


class ReplyAbandoned(EmmausError):
    """The server stopped before the reply was finished."""

    code, name, retryable = 2006, "REPLY_ABANDONED", True


class ClientDisconnected(EmmausError):
    """The client went away before the reply was finished."""

    status, code, name, retryable = 499, 2007, "CLIENT_DISCONNECTED", True


class ReplyStopped(EmmausError):
    """Stopped at the caller's request (`PUT /ai/v1/message?task=stop`); the text so far is kept."""

    status, code, name = 499, 2008, "REPLY_STOPPED"
