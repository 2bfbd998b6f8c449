"""Building and stopping the ChatService for the app's lifespan (or any other host)."""

from __future__ import annotations

from collections.abc import Mapping

from emmaus.catalog import Catalog
from emmaus.config import Settings
from emmaus.conversations.cache import ContextCache
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.engine.providers.base import Provider
from emmaus.services.chat import ChatService
from emmaus.services.chat_types import SourceProvider
from emmaus.services.completions import CompletionService
from emmaus.store import Database


async def start_chat_service(
    *,
    settings: Settings,
    db: Database,
    completions: CompletionService,
    providers: Mapping[str, Provider],
    catalog: Catalog,
    sources: SourceProvider | None = None,
    chat_settings: ChatSettings | None = None,
) -> ChatService:
    """The service, after marking replies abandoned by a previous run as failed."""
    chat_settings = chat_settings or ChatSettings()
    cache = None
    if chat_settings.context_cache and settings.redis_url:
        cache = ContextCache.from_url(settings.redis_url, prefix=settings.redis_prefix)
    manager = ConversationManager(db, stale_after=chat_settings.stale_after, cache=cache)
    await manager.sweep_stale()
    counter = TokenCounter(providers, catalog)
    return ChatService(manager, completions, counter, settings=chat_settings, sources=sources)


async def stop_chat_service(service: ChatService) -> None:
    await service.aclose()
    if service.manager.cache is not None:
        await service.manager.cache.aclose()
