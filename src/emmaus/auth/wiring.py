"""`usage_hook`: how a finished completion's tokens reach the calling client's limits.

The app's lifespan owns the runtime:

```python
app.state.auth = auth              # an AuthRuntime, started
app.state.usage_hook = usage_hook  # tokens per minute: charged after each completion
```
"""

from __future__ import annotations

from fastapi import Request


def usage_hook(request: Request, usage: object) -> None:
    """`app.state.usage_hook`: charge a finished completion's tokens to the calling client."""
    context = getattr(request.state, "auth", None)
    total = getattr(usage, "total_tokens", 0)
    if context is None or not total:
        return
    request.app.state.auth.spawn(context.record_tokens(int(total)))
