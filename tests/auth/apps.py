"""A small FastAPI app with the real auth wiring and a few protected routes, for auth tests that
must not depend on the completion engine. `create_from_env` is a uvicorn factory for subprocesses
(settings from `EMMAUS_*`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import StreamingResponse

from emmaus.api import auth as auth_api
from emmaus.auth import (
    AuthContext,
    AuthRuntime,
    require_admin,
    require_api_access,
    usage_hook,
)
from emmaus.config import Settings
from tests.support import auth as support


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        auth = AuthRuntime(settings)
        await auth.start()
        app.state.auth = auth
        app.state.usage_hook = usage_hook
        try:
            yield
        finally:
            await auth.aclose()

    app = FastAPI(lifespan=lifespan)
    auth_api.install(app)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/platform/v2/models")
    async def public_models() -> dict[str, list[str]]:
        return {"data": []}

    @app.get("/ai/v2/whoami")
    async def whoami(auth: AuthContext = Depends(require_api_access)) -> dict[str, object]:
        return {"client_id": auth.client_id, "scopes": sorted(auth.scopes)}

    @app.get("/ai/v2/slow", dependencies=[Depends(require_api_access)])
    async def slow() -> dict[str, bool]:
        await asyncio.sleep(0.05)  # keeps requests overlapping in the parallel tests
        return {"ok": True}

    @app.post("/ai/v2/fail", dependencies=[Depends(require_api_access)])
    async def fail() -> None:
        raise HTTPException(400, detail={"error": "bad", "code": "bad_request"})

    @app.post("/ai/v2/spend")
    async def spend(n: int, auth: AuthContext = Depends(require_api_access)) -> dict[str, int]:
        await auth.record_tokens(n)
        return {"spent": n}

    @app.get("/ai/v2/stream", dependencies=[Depends(require_api_access)])
    async def stream() -> StreamingResponse:
        def events() -> Iterator[bytes]:
            yield b"data: 1\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/admin/whoami")
    async def admin(auth: AuthContext = Depends(require_admin)) -> dict[str, str]:
        return {"client_id": auth.client_id}

    @app.get("/ai/v2/both", dependencies=[Depends(require_api_access)])
    async def both(auth: AuthContext = Depends(require_api_access)) -> dict[str, str]:
        return {"client_id": auth.client_id}  # two guards: counted once

    return app


def create_from_env() -> FastAPI:
    return create_app(Settings())


def create_client(
    settings: Settings,
    name: str = "test",
    scopes: str = "api/access",
    *,
    rpm: int | None = None,
    tpm: int | None = None,
) -> tuple[str, str]:
    """Like `tests.support.auth.create_client`, but the limits default to the configured ones."""
    return support.create_client(settings, name, scopes, rpm=rpm, tpm=tpm)


def disable_client(settings: Settings, client_id: str) -> None:
    support.change_client(settings, lambda repo: repo.disable(client_id))
