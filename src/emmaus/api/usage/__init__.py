"""`GET /platform/v2/usage`: the usage ledger's totals."""
