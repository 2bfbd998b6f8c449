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
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.engine.providers import build_providers
from emmaus.engine.providers.base import Provider
from emmaus.engine.router import Router
from emmaus.grounding import Embedder, Library, Retriever
from emmaus.services.chats.service import ChatService
from emmaus.services.completions import CompletionService
from emmaus.services.grounded import GroundedService
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
        providers = build_providers(settings, catalog)
        completions = CompletionService(Router(catalog), providers)
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
        retriever = Retriever(Library(db, embedder))
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
        if self.chat.manager.cache is not None:
            await self.chat.manager.cache.aclose()
        await self.engine.aclose()
        await self.auth.aclose()
        await self.db.aclose()


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
    manager = ConversationManager(db, stale_after=chat_settings.stale_after, cache=cache)
    await manager.sweep_stale()
    return ChatService(
        manager, engine.completions, engine.counter, settings=chat_settings, sources=retriever
    )
