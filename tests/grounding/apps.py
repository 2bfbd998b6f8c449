"""The real Emmaus app for HTTP tests of grounded answers, sharing the session's embedder."""

from __future__ import annotations

import requests
from fastapi import FastAPI

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.grounding import Embedder


def grounded_app(settings: Settings, embedder: Embedder) -> FastAPI:
    app = create_app(settings)
    app.state.embedder = embedder  # the lifespan builds app.state.retriever with it
    return app


def get_token(url: str, client_id: str, secret: str) -> str:
    response = requests.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "api/access"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
