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
from emmaus.observability.gauges import ProcessGauges
from emmaus.services.chats.service import ChatService
from emmaus.services.completions import CompletionService
from emmaus.services.grounded import GroundedService
from emmaus.services.metering import Meter
from emmaus.services.process_gauges import gauge_probes
from emmaus.services.readiness import Readiness
from emmaus.services.responses.conversations import ConversationService
from emmaus.services.responses.service import ResponseService
from emmaus.services.safeguard import Safeguard
from emmaus.services.stops import Stops
from emmaus.store import Database, upgrade_database
from emmaus.usage.budgets import BudgetGuard
from emmaus.usage.ledger import UsageLedger


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
        safety = Safeguard(
            layer,
            stream_hold=settings.safety_stream_hold,
            stream_opening=settings.safety_stream_opening,
        )
        providers = build_providers(settings, catalog)
        model = str(settings.router_model) if settings.router_model else None
        router = Router(catalog, TierClassifier.load(model))
        meter = Meter(metrics=settings.metrics, client_label=settings.metrics_client_label)
        completions = CompletionService(router, providers, safety, meter)
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
    responses: ResponseService  # the Responses API, on the v1 chats' store
    conversations: ConversationService
    usage: UsageLedger | None = None  # model calls' usage, written in batches
    gauges: ProcessGauges | None = None
    readiness: Readiness | None = None  # what /readyz reports
    budgets: BudgetGuard | None = None  # monthly budgets, checked when a model call is admitted

    @property
    def completions(self) -> CompletionService:
        return self.engine.completions

    @property
    def stops(self) -> Stops:
        """Running generations by reply id, stoppable from any instance (v1 stop, and the
        Responses API's cancel)."""
        return self.chat.stops

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
        responses = ResponseService(
            chat.manager,
            engine.completions,
            engine.counter,
            settings=chat.settings,
            tasks=chat.tasks,  # settled before the server stops, like v1 turns
            stops=getattr(chat, "stops", None),
        )
        conversations = ConversationService(chat.manager, responses)
        system = cls(
            settings, engine, db, retriever, auth, chat, grounded, responses, conversations
        )
        system._start_operations()
        return system

    def _start_operations(self) -> None:
        settings = self.settings
        self.readiness = Readiness(settings, self.db, self.catalog, self.engine.providers)
        if settings.usage_ledger:
            self.usage = UsageLedger(
                self.db,
                flush_interval=settings.usage_flush_interval,
                batch_size=settings.usage_batch_size,
                max_pending=settings.usage_queue_size,
            )
            self.usage.start()
            self.engine.completions.meter.sinks.append(self.usage)
        self.budgets = BudgetGuard(
            self.db, settings.redis_url, settings.redis_prefix, settings.client_cache_ttl
        )
        self.engine.completions.meter.sinks.append(self.budgets)
        if settings.metrics:
            self.gauges = ProcessGauges(gauge_probes(self.db, self.engine.providers, self.usage))
            self.gauges.start()

    async def aclose(self) -> None:
        await self.chat.aclose()  # lets running turns store their replies
        if self.usage is not None:
            await self.usage.aclose()  # after the turns: their calls' rows are written too
        if self.gauges is not None:
            await self.gauges.aclose()
        if self.readiness is not None:
            await self.readiness.aclose()
        if self.budgets is not None:
            await self.budgets.aclose()
        await self.chat.stops.aclose()
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
    # Stops reach the instance running a reply: through Redis when there is one, else by a
    # flag on its row that the owner polls for (services/stops.py).
    stops = Stops(
        leases,
        redis_url=settings.redis_url,
        prefix=settings.redis_prefix,
        poll_interval=chat_settings.stop_poll_interval,
        fallback_interval=chat_settings.heartbeat_interval,
    )
    await stops.start()
    return ChatService(
        manager,
        engine.completions,
        engine.counter,
        settings=chat_settings,
        sources=retriever,
        leases=leases,
        stops=stops,
    )
