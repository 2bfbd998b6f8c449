"""A small FastAPI app with the real auth wiring and a few protected routes, for auth tests that
must not depend on the completion engine. `create_from_env` is a uvicorn factory for subprocesses
(settings from `EMMAUS_*`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import StreamingResponse

from emmaus.auth import (
    AuthContext,
    AuthRuntime,
    install_auth,
    require_admin,
    require_api_access,
    usage_hook,
)
from emmaus.auth.clients import ClientRepository
from emmaus.config import Settings
from emmaus.store import Database, upgrade_database
from tests.support.databases import run_blocking


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
    install_auth(app)

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
    """Create a client in `settings`' database (migrating it first); returns (id, secret)."""

    async def run() -> tuple[str, str]:
        db = Database.from_settings(settings)
        repo = ClientRepository(db)
        try:
            await upgrade_database(db)
            client, secret = await repo.create(name, scopes, rpm=rpm, tpm=tpm)
            return client.id, secret
        finally:
            repo.close()
            await db.aclose()

    return run_blocking(run())


def change_client(
    settings: Settings, client_id: str, action: Callable[[ClientRepository], Awaitable[object]]
) -> None:
    """Change a client from outside the server, as `emmaus clients ...` would."""

    async def run() -> None:
        db = Database.from_settings(settings)
        repo = ClientRepository(db)
        try:
            await action(repo)
        finally:
            repo.close()
            await db.aclose()

    run_blocking(run())


def disable_client(settings: Settings, client_id: str) -> None:
    change_client(settings, client_id, lambda repo: repo.disable(client_id))
