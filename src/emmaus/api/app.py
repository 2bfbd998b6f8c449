"""The FastAPI application: wiring only. Routes live in `serving_*` modules, logic in services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from emmaus import __version__
from emmaus.api import serving_completions, serving_models
from emmaus.api.body_limit import BodySizeLimit
from emmaus.api.errors import install_error_handlers
from emmaus.catalog import Catalog, load_catalog
from emmaus.config import Settings, get_settings
from emmaus.engine.providers import build_providers
from emmaus.engine.router import Router
from emmaus.services.completions import CompletionService


def create_app(settings: Settings | None = None, *, catalog: Catalog | None = None) -> FastAPI:
    settings = settings or get_settings()
    catalog = catalog or load_catalog(settings.models)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        providers = build_providers(settings, catalog)
        app.state.providers = providers
        app.state.completions = CompletionService(Router(catalog), providers)
        local = providers.get("local")
        if local is not None:  # load embedded models now, not on the first request
            for spec in catalog:
                if spec.provider == "local":
                    await local.warm_up(spec)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            for provider in providers.values():
                await provider.aclose()

    app = FastAPI(
        title="Emmaus",
        version=__version__,
        summary="Self-hosted conversational AI speaking the Gloo AI wire contract",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.catalog = catalog
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

    app.include_router(serving_models.public_router, prefix="/platform/v2", tags=["catalog"])
    app.include_router(serving_models.router, prefix="/ai/v2", tags=["catalog"])
    app.include_router(serving_completions.router, prefix="/ai/v2", tags=["completions"])

    @app.get("/health", tags=["health"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
