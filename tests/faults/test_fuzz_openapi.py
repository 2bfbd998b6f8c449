"""Schemathesis against Emmaus' own OpenAPI document, every operation, authenticated: no 5xx
and every response as the document describes it (status, content type, headers, body), on
SQLite and PostgreSQL. A bounded number of examples per operation keeps it to about a minute a
back end; `python -m bench.fuzz` runs 5,000+ requests on each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.fuzz_app import FuzzTarget, fuzz_operation, fuzz_target, operations
from tests.support.module_databases import module_database_url  # noqa: F401

EXAMPLES = 8


@pytest.fixture(scope="module")
def target(
    tmp_path_factory: pytest.TempPathFactory,
    module_database_url: str,  # noqa: F811  (SQLite, then PostgreSQL)
) -> Iterator[FuzzTarget]:
    with fuzz_target(tmp_path_factory.mktemp("fuzz"), module_database_url) as running:
        yield running


@pytest.mark.parametrize("label", [op.label for op in operations()])
def test_every_operation_answers_as_documented(target: FuzzTarget, label: str) -> None:
    fuzz_operation(target, label, EXAMPLES)
