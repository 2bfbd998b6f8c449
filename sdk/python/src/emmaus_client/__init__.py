"""The Python SDK for Emmaus and Gloo AI (the same wire).

```python
from emmaus_client import Emmaus

client = Emmaus(base_url="http://127.0.0.1:8000", client_id="...", client_secret="...")
answer = client.completions.create([{"role": "user", "content": "What is grace?"}])
print(answer.content, answer.routing.routing_tier)
```
"""

from emmaus_client._client import GLOO_BASE_URL, AsyncEmmaus, Emmaus
from emmaus_client._retry import RetryPolicy
from emmaus_client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    EmmausError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    StreamInterrupted,
    ValidationError,
)
from emmaus_client.streaming import AsyncStream, Stream

__version__ = "0.1.0"

__all__ = [
    "GLOO_BASE_URL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncEmmaus",
    "AsyncStream",
    "AuthenticationError",
    "ConflictError",
    "Emmaus",
    "EmmausError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "RetryPolicy",
    "Stream",
    "StreamInterrupted",
    "ValidationError",
    "__version__",
]
