"""The usage ledger: every model call's client, model, route, tokens, cost, status and latency,
written in batches off the request path (`usage.ledger`) and read as totals (`usage.queries`).

Import the submodules: migrations import `usage.schema`, and must not load Prometheus (which
`usage.ledger` does) into every process that migrates."""
