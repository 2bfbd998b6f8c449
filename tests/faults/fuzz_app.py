"""A live Emmaus to fuzz: uvicorn on loopback in front of the scripted upstream, SQLite or
PostgreSQL, one
client with every scope, and the checks that make a response wrong. Shared by the bounded
run in the suite and the longer `python -m bench.fuzz`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.testing import serve_upstream
from tests.support.auth import create_client, fetch_token
from tests.support.live_server import live_server

# Two echo models behind the scripted upstream: answers are instant, so every example is cheap.
CATALOG = """
[[models]]
id = "echo-fast"
family = "openai"
tier = 1
provider = "openai"
base_url = "{base}"
upstream_model = "echo+tokens-8"
context_window = 32000
max_output_tokens = 64
capabilities = ["streaming", "tools", "json"]

[[models]]
id = "echo-deep"
family = "anthropic"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "echo+tokens-8"
context_window = 32000
max_output_tokens = 64
capabilities = ["streaming", "tools"]
"""
SCOPES = "api/access admin"


@dataclass(frozen=True, slots=True)
class FuzzTarget:
    base_url: str
    headers: dict[str, str]

    @property
    def schema_url(self) -> str:
        return f"{self.base_url}/openapi.json"


@contextmanager
def fuzz_target(data_dir: Path, database_url: str | None = None) -> Iterator[FuzzTarget]:
    """The server to fuzz, on `database_url` (SQLite in `data_dir` when not given)."""
    with serve_upstream(tokens=8, token_size=4) as upstream:
        catalog = data_dir / "models.toml"
        catalog.write_text(CATALOG.format(base=upstream.base_url))
        settings = Settings(
            data_dir=data_dir,
            models=catalog,
            database_url=database_url or f"sqlite+aiosqlite:///{data_dir / 'emmaus.db'}",
            jwt_secret="fuzzing-secret-of-at-least-32-characters!",
            upstream_retries=0,
            upstream_timeout=10,
        )
        client_id, secret = create_client(settings, "fuzzer", SCOPES)
        with live_server(create_app(settings)) as url:
            token = fetch_token(url, client_id, secret, scope=SCOPES)
            yield FuzzTarget(url, {"Authorization": f"Bearer {token}"})


def response_checks() -> list:
    """Zero 5xx and responses that match the OpenAPI document: status, content type, headers
    and body schema."""
    from schemathesis import checks

    return [
        checks.not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_headers_conformance,
        checks.response_schema_conformance,
    ]


def operations() -> list:  # list[APIOperation]
    """Every operation of the app's OpenAPI document (built without starting the app)."""
    import schemathesis

    from emmaus.catalog import load_catalog

    app = create_app(Settings(), catalog=load_catalog(None))
    schema = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok() for result in schema.get_all_operations()]


def fuzz_operation(target: FuzzTarget, label: str, examples: int, *, seed: int = 0) -> None:
    """`examples` generated requests to one operation; raises on the first wrong response."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as fixed_seed

    operation = next(op for op in operations() if op.label == label)
    checks = response_checks()

    @fixed_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy())
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(
            base_url=target.base_url, headers=target.headers, checks=checks, timeout=30
        )

    run()
