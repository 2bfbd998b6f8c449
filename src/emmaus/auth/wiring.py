"""`install_auth(app)`: the token route, the error rendering and the rate-limit headers.

The app's lifespan owns the runtime:

```python
auth = AuthRuntime(settings, db)
await auth.start()
app.state.auth = auth
app.state.usage_hook = usage_hook   # tokens per minute: charged after each completion
...
await auth.aclose()
```
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from emmaus.auth.errors import AuthError, auth_error_handler
from emmaus.auth.middleware import RateLimitHeaders
from emmaus.auth.router import router


def install_auth(app: FastAPI) -> None:
    """Call once while building the app (before it starts)."""
    app.add_exception_handler(AuthError, auth_error_handler)
    app.add_middleware(RateLimitHeaders)
    app.include_router(router)


def usage_hook(request: Request, usage: object) -> None:
    """`app.state.usage_hook`: charge a finished completion's tokens to the calling client."""
    context = getattr(request.state, "auth", None)
    total = getattr(usage, "total_tokens", 0)
    if context is None or not total:
        return
    request.app.state.auth.spawn(context.record_tokens(int(total)))
