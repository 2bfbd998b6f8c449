"""Suite-wide fixtures. Storage fixtures (`database_url`, `database`, `redis_url`, ...) live in
`tests/support/databases.py`; read its docstring."""

import os

# The suite runs one test at a time, so the embedded model may use every core (the default,
# half of them, leaves a server room for its other work; here that core sits idle while the
# walk-throughs of the docs wait on the model, a fifth of the suite's time).
os.environ.setdefault("EMMAUS_LOCAL_THREADS", str(os.cpu_count() or 2))

pytest_plugins = ["tests.support.databases"]
