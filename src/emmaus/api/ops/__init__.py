"""Operations over HTTP: `/healthz`, `/readyz` and `/metrics`."""
