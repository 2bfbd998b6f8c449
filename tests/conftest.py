"""Suite-wide fixtures. Storage fixtures (`database_url`, `database`, `redis_url`, ...) live in
`tests/support/databases.py`; read its docstring."""

pytest_plugins = ["tests.support.databases"]
