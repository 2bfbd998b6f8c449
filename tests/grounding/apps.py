"""The real Emmaus app plus the auth runtime and the grounding routers, as `emmaus serve` will
wire them, for HTTP tests of grounded completions and the library API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import requests
from fastapi import FastAPI

from emmaus.api import serving_grounded, serving_library
from emmaus.api.app import create_app
from emmaus.auth import AuthRuntime, install_auth, usage_hook
from emmaus.config import Settings
from emmaus.grounding import Embedder, Library, Retriever
from emmaus.store import Database, upgrade_database


def grounded_app(settings: Settings, embedder: Embedder) -> FastAPI:
    app = create_app(settings)
    install_auth(app)
    app.include_router(serving_grounded.router, prefix="/ai/v2", tags=["grounded"])
    app.include_router(serving_library.router, prefix="/ai/v2/library", tags=["library"])
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with inner(application):
            db = Database.from_settings(settings)
            await upgrade_database(db)
            auth = AuthRuntime(settings, db)
            await auth.start()
            application.state.auth = auth
            application.state.usage_hook = usage_hook
            application.state.retriever = Retriever(Library(db, embedder))
            try:
                yield
            finally:
                await auth.aclose()
                await db.aclose()

    app.router.lifespan_context = lifespan
    return app


def get_token(url: str, client_id: str, secret: str) -> str:
    response = requests.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "api/access"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
