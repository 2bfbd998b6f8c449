"""The FastAPI application: wiring only. Routes live in `serving_*` modules, logic in services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from emmaus import __version__
from emmaus.api import (
    serving_chat,
    serving_completions,
    serving_grounded,
    serving_library,
    serving_models,
)
from emmaus.api.body_limit import BodySizeLimit
from emmaus.api.errors import install_error_handlers
from emmaus.api.openapi_errors import document_errors
from emmaus.auth import AuthRuntime, install_auth, require_api_access, usage_hook
from emmaus.catalog import Catalog, load_catalog
from emmaus.config import Settings, get_settings
from emmaus.engine.providers import build_providers
from emmaus.engine.router import Router
from emmaus.grounding import Library, Retriever
from emmaus.services.chat_setup import start_chat_service, stop_chat_service
from emmaus.services.completions import CompletionService
from emmaus.store import Database, upgrade_database


def create_app(settings: Settings | None = None, *, catalog: Catalog | None = None) -> FastAPI:
    settings = settings or get_settings()
    catalog = catalog or load_catalog(settings.models)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Storage and auth (issue 3): one Database per process, migrated at start; clients,
        # tokens and rate limits in app.state.auth; tokens per minute charged by usage_hook.
        db = Database.from_settings(settings)
        if settings.auto_migrate:
            await upgrade_database(db)
        app.state.db = db
        # Grounding (issue 5): the content library and its index, loaded lazily per publisher;
        # serves grounded v2 answers and v1 `sources`. A test may preset app.state.embedder.
        app.state.retriever = Retriever(Library(db, getattr(app.state, "embedder", None)))
        auth = AuthRuntime(settings, db)
        await auth.start()
        app.state.auth = auth
        app.state.usage_hook = usage_hook
        providers = build_providers(settings, catalog)
        app.state.providers = providers
        app.state.completions = CompletionService(Router(catalog), providers)
        local = providers.get("local")
        if local is not None:  # load embedded models now, not on the first request
            for spec in catalog:
                if spec.provider == "local":
                    await local.warm_up(spec)  # type: ignore[attr-defined]
        # Stateful chats (issue 4): the v1 API on the engine and the database. A test or host
        # may preset app.state.chat_settings; sources come from the retriever when there is one.
        app.state.chat = await start_chat_service(
            settings=settings,
            db=db,
            completions=app.state.completions,
            providers=providers,
            catalog=catalog,
            sources=getattr(app.state, "retriever", None),
            chat_settings=getattr(app.state, "chat_settings", None),
        )
        try:
            yield
        finally:
            await stop_chat_service(app.state.chat)  # lets running turns store their replies
            for provider in providers.values():
                await provider.aclose()
            await auth.aclose()
            await db.aclose()

    app = FastAPI(
        title="Emmaus",
        version=__version__,
        summary="Self-hosted conversational AI speaking the Gloo AI wire contract",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.catalog = catalog
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        larger={"/ai/v2/library/": settings.max_upload_bytes},
    )
    install_auth(app)  # POST /oauth2/token, {"error","code"} auth errors, x-ratelimit-* headers
    api_access = [Depends(require_api_access)]  # every /ai/** route: bearer token + rate limit

    app.include_router(serving_models.public_router, prefix="/platform/v2", tags=["catalog"])
    app.include_router(
        serving_models.router, prefix="/ai/v2", tags=["catalog"], dependencies=api_access
    )
    app.include_router(
        serving_completions.router, prefix="/ai/v2", tags=["completions"], dependencies=api_access
    )
    app.include_router(
        serving_grounded.router, prefix="/ai/v2", tags=["grounded"], dependencies=api_access
    )
    app.include_router(
        serving_library.router, prefix="/ai/v2/library", tags=["library"], dependencies=api_access
    )
    app.include_router(serving_chat.router, prefix="/ai/v1", tags=["chat"], dependencies=api_access)

    @app.get("/health", tags=["health"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    document_errors(app)  # after every route: the schema lists the errors each one can give
    return app
