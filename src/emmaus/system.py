"""The running system, built in one place: database, providers, router, services, retriever and
auth runtime as one typed object. The app's lifespan keeps it on `app.state.system`; the CLI
builds the part it needs (`Engine` for a completion, `System` for anything stored).

```python
system = await System.start(settings, catalog)
try:
    await system.chat.send(client_id, SendOptions(query="Who wrote Romans?"))
finally:
    await system.aclose()
```
"""

from __future__ import annotations

from dataclasses import dataclass

from emmaus.auth import AuthRuntime
from emmaus.catalog import Catalog
from emmaus.config import Settings
from emmaus.conversations.cache import ContextCache
from emmaus.conversations.leases import Leases
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.engine.providers import build_providers
from emmaus.engine.providers.base import Provider
from emmaus.engine.router import Router
from emmaus.engine.routing import TierClassifier
from emmaus.engine.safety.layer import SafetyLayer
from emmaus.grounding import Embedder, Library, Retriever
from emmaus.grounding.limits import ExtractLimits, IngestLimits, LibraryQuota
from emmaus.services.chats.service import ChatService
from emmaus.services.completions import CompletionService
from emmaus.services.grounded import GroundedService
from emmaus.services.safeguard import Safeguard
from emmaus.store import Database, upgrade_database


@dataclass(slots=True)
class Engine:
    """What answers a completion: the catalog, its providers and the v2 service over them."""

    catalog: Catalog
    providers: dict[str, Provider]
    completions: CompletionService
    counter: TokenCounter

    @classmethod
    def build(cls, settings: Settings, catalog: Catalog) -> Engine:
        """Raises `SafetyPolicyError` for a broken policy file (before any model is loaded)."""
        layer = SafetyLayer.from_settings(settings.safety_policy)
        safety = Safeguard(layer, stream_hold=settings.safety_stream_hold)
        providers = build_providers(settings, catalog)
        model = str(settings.router_model) if settings.router_model else None
        router = Router(catalog, TierClassifier.load(model))
        completions = CompletionService(router, providers, safety)
        return cls(catalog, providers, completions, TokenCounter(providers, catalog))

    async def warm_up(self) -> None:
        """Load embedded models now rather than on the first request."""
        local = self.providers.get("local")
        if local is None:
            return
        for spec in self.catalog:
            if spec.provider == "local":
                await local.warm_up(spec)  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()


@dataclass(slots=True)
class System:
    settings: Settings
    engine: Engine
    db: Database
    retriever: Retriever
    auth: AuthRuntime
    chat: ChatService
    grounded: GroundedService

    @property
    def completions(self) -> CompletionService:
        return self.engine.completions

    @property
    def catalog(self) -> Catalog:
        return self.engine.catalog

    @property
    def safety(self) -> SafetyLayer:
        layer = self.engine.completions.safeguard.layer
        assert layer is not None  # Engine.build always gives one
        return layer

    @classmethod
    async def start(
        cls,
        settings: Settings,
        catalog: Catalog,
        *,
        embedder: Embedder | None = None,
        chat_settings: ChatSettings | None = None,
        warm_up: bool = True,
    ) -> System:
        db = Database.from_settings(settings)
        if settings.auto_migrate:
            await upgrade_database(db)
        # The content library and its index, loaded lazily per publisher; serves grounded v2
        # answers and v1 `sources`.
        retriever = Retriever(
            Library(db, embedder, limits=ingest_limits(settings), quota=quota(settings))
        )
        auth = AuthRuntime(settings, db)
        await auth.start()
        engine = Engine.build(settings, catalog)
        if warm_up:
            await engine.warm_up()
        chat = await _start_chat(settings, db, engine, retriever, chat_settings or ChatSettings())
        grounded = GroundedService(engine.completions, retriever)
        return cls(settings, engine, db, retriever, auth, chat, grounded)

    async def aclose(self) -> None:
        await self.chat.aclose()  # lets running turns store their replies
        if self.chat.leases is not None:
            await self.chat.leases.aclose()
        if self.chat.manager.cache is not None:
            await self.chat.manager.cache.aclose()
        await self.engine.aclose()
        await self.auth.aclose()
        await self.db.aclose()


def ingest_limits(settings: Settings) -> IngestLimits:
    return IngestLimits(
        cpu_seconds=settings.ingest_cpu_seconds,
        memory_bytes=settings.ingest_memory_mb << 20,
        wall_seconds=settings.ingest_timeout,
        max_chunks=settings.ingest_max_chunks,
        extract=ExtractLimits(
            max_text_chars=settings.ingest_max_text_chars, max_pages=settings.ingest_max_pages
        ),
    )


def quota(settings: Settings) -> LibraryQuota:
    return LibraryQuota(
        max_documents=settings.library_max_documents,
        max_bytes=settings.library_max_bytes,
        max_chunks=settings.library_max_chunks,
    )


async def _start_chat(
    settings: Settings,
    db: Database,
    engine: Engine,
    retriever: Retriever,
    chat_settings: ChatSettings,
) -> ChatService:
    """The v1 service, after marking replies abandoned by a previous run as failed."""
    cache = None
    if chat_settings.context_cache and settings.redis_url:
        cache = ContextCache.from_url(settings.redis_url, prefix=settings.redis_prefix)
    leases = Leases(
        db, timeout=chat_settings.lease_timeout, interval=chat_settings.heartbeat_interval
    )
    await leases.start()  # settles what instances that died left pending
    manager = ConversationManager(
        db, stale_after=chat_settings.stale_after, cache=cache, instance_id=leases.instance_id
    )
    await manager.sweep_stale()  # placeholders from before leases existed
    return ChatService(
        manager,
        engine.completions,
        engine.counter,
        settings=chat_settings,
        sources=retriever,
        leases=leases,
    )
