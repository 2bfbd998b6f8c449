"""The model catalog over HTTP: public at `/platform/v2/models`, and at `/ai/v2/models` for
OpenAI SDKs pointed at `/ai/v2`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emmaus.api.common.errors import error_response, json_response
from emmaus.catalog import Catalog
from emmaus.errors import ModelNotFound

public_router = APIRouter()
router = APIRouter()


def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


def _listing(catalog: Catalog) -> dict[str, Any]:
    return {"object": "list", "data": [m.to_public() for m in catalog]}


@public_router.get("/models", summary="The model catalog (public)")
async def platform_models(request: Request) -> Response:
    return json_response(_listing(_catalog(request)))


@router.get("/models", summary="The model catalog")
async def list_models(request: Request) -> Response:
    return json_response(_listing(_catalog(request)))


@router.get("/models/{model_id:path}", summary="One catalog entry")
async def get_model(model_id: str, request: Request) -> Response:
    spec = _catalog(request).get(model_id)
    if spec is None:
        return error_response(ModelNotFound(f"Unknown model {model_id!r}"))
    return json_response(spec.to_public())
