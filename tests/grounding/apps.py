"""The real Emmaus app plus the auth runtime and the grounding routers, as `emmaus serve` will
wire them, for HTTP tests of grounded completions and the library API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import requests
from fastapi import FastAPI

from emmaus.api import serving_grounded, serving_library
from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.grounding import Embedder, Library, Retriever


def grounded_app(settings: Settings, embedder: Embedder) -> FastAPI:
    """`create_app` (database, auth) plus the grounding routers and `app.state.retriever`."""
    app = create_app(settings)
    app.include_router(serving_grounded.router, prefix="/ai/v2", tags=["grounded"])
    app.include_router(serving_library.router, prefix="/ai/v2/library", tags=["library"])
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with inner(application):
            application.state.retriever = Retriever(Library(application.state.db, embedder))
            yield

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
