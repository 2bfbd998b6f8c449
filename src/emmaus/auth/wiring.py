"""`usage_hook`: how a finished completion's tokens reach the calling client's limits.

The app's lifespan owns the runtime:

```python
app.state.auth = auth              # an AuthRuntime, started
app.state.usage_hook = usage_hook  # tokens per minute: charged after each completion
```
"""

from __future__ import annotations

from fastapi import Request

from emmaus.auth.middleware import usage_of


def usage_hook(request: Request, usage: object) -> None:
    """`app.state.usage_hook`: charge a finished completion's tokens to the calling client
    (settled against its reservation when the response is over)."""
    context = getattr(request.state, "auth", None)
    total = getattr(usage, "total_tokens", 0)
    if context is None or not total:
        return
    tokens = usage_of(request.scope)
    if tokens is None:  # served without the middleware: charge at once
        request.app.state.auth.spawn(context.record_tokens(int(total)))
        return
    tokens.limiter, tokens.key = context.limiter, context.client_id
    tokens.used += int(total)
    request.app.state.auth.spawn(tokens.charge())  # before the answer reaches the client
