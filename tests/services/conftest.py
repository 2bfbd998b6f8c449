"""The service tests share the conversation tests' fixtures: one migrated database per module
and back end, fresh client ids per test."""

from tests.conversations.conftest import alice, bob, db  # noqa: F401
from tests.support.module_databases import module_database_url  # noqa: F401
