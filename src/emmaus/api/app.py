"""The FastAPI application: wiring only. Each endpoint family is a folder of `emmaus.api` (its
routes, wire schemas and serving code); logic lives in `emmaus.services`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from emmaus import __version__
from emmaus.api import auth as auth_api
from emmaus.api.chats import routes as chats
from emmaus.api.common.body_limit import BodySizeLimit
from emmaus.api.common.errors import UnhandledErrors, install_error_handlers
from emmaus.api.common.native_telemetry import fastapi_options
from emmaus.api.common.openapi import document_errors
from emmaus.api.common.security_docs import document_security
from emmaus.api.common.text_guard import TextGuard
from emmaus.api.completions import routes as completions
from emmaus.api.conversations import routes as conversations
from emmaus.api.docs import routes as docs
from emmaus.api.grounded import routes as grounded
from emmaus.api.library import routes as library
from emmaus.api.models import routes as models
from emmaus.api.moderations import routes as moderations
from emmaus.api.ops import routes as ops
from emmaus.api.responses import routes as responses
from emmaus.api.routing import routes as routing
from emmaus.api.studio import routes as studio
from emmaus.api.usage import routes as usage
from emmaus.auth import require_api_access, usage_hook
from emmaus.catalog import Catalog, load_catalog
from emmaus.config import Settings, get_settings
from emmaus.observability.middleware import Observability
from emmaus.system import System


def create_app(settings: Settings | None = None, *, catalog: Catalog | None = None) -> FastAPI:
    settings = settings or get_settings()
    catalog = catalog or load_catalog(settings.models)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A test or host may preset app.state.embedder and app.state.chat_settings.
        system = await System.start(
            settings,
            catalog,
            embedder=getattr(app.state, "embedder", None),
            chat_settings=getattr(app.state, "chat_settings", None),
        )
        app.state.system = system
        app.state.auth = system.auth  # the auth dependency's own handle (it also runs alone)
        app.state.usage_hook = usage_hook  # tokens per minute, charged after each completion
        app.state.budgets = system.budgets  # monthly budgets, checked as a model call is admitted
        try:
            yield
        finally:
            await system.aclose()

    app = FastAPI(
        title="Emmaus",
        version=__version__,
        summary="Self-hosted conversational AI speaking the Gloo AI wire contract",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served offline by emmaus.api.docs
        redoc_url=None,
        **fastapi_options(),  # FastAPI's own spans off: Emmaus makes its own
    )
    app.state.settings = settings
    app.state.catalog = catalog
    install_error_handlers(app)
    app.add_middleware(TextGuard)  # no NUL or lone surrogate in JSON text (inside the size bound)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        larger={"/ai/v2/library/": settings.max_upload_bytes},
    )
    auth_api.install(app)  # POST /oauth2/token, {"error","code"} auth errors, x-ratelimit-* headers
    api_access = [Depends(require_api_access)]  # every /ai/** route: bearer token + rate limit

    app.include_router(models.public_router, prefix="/platform/v2", tags=["catalog"])
    app.include_router(usage.router, prefix="/platform/v2", tags=["usage"])
    app.include_router(models.router, prefix="/ai/v2", tags=["catalog"], dependencies=api_access)
    app.include_router(
        completions.router, prefix="/ai/v2", tags=["completions"], dependencies=api_access
    )
    app.include_router(grounded.router, prefix="/ai/v2", tags=["grounded"], dependencies=api_access)
    app.include_router(
        library.router, prefix="/ai/v2/library", tags=["library"], dependencies=api_access
    )
    app.include_router(
        moderations.router, prefix="/ai/v2", tags=["safety"], dependencies=api_access
    )
    app.include_router(routing.router, prefix="/ai/v2", tags=["routing"], dependencies=api_access)
    app.include_router(chats.router, prefix="/ai/v1", tags=["chat"], dependencies=api_access)
    app.include_router(
        responses.router, prefix="/ai/v1", tags=["responses"], dependencies=api_access
    )
    app.include_router(
        conversations.router, prefix="/ai/v1", tags=["conversations"], dependencies=api_access
    )

    @app.get("/health", tags=["health"], summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(ops.router, tags=["health"])  # /healthz, /readyz, /metrics
    app.include_router(docs.router)  # /docs and /redoc from locally installed assets
    app.include_router(studio.router)  # Emmaus Studio: the page at / and its /studio/ assets

    app.add_middleware(UnhandledErrors)  # a 500 keeps the connection usable
    # Outermost: a request id on every response, and each request measured once.
    app.add_middleware(Observability, routes=app.router.routes, record=settings.metrics)
    document_errors(app)  # after every route: the schema lists the errors each one can give
    document_security(app)  # the OAuth2 scheme, and the scopes each route needs
    return app
