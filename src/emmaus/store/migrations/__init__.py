"""Alembic migrations (run them with `emmaus db upgrade` or `emmaus.store.migrate.upgrade`)."""
