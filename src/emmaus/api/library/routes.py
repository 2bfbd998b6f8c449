"""The content library over REST, scoped to the calling client: upload a document (multipart),
list documents, delete one, list readable publishers. Only uploaded bytes are ingested: a `url`
given with an upload is stored as the citation link and never fetched."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response

from emmaus.api.common.errors import json_response
from emmaus.api.common.model_calls import CLIENT_CLOSED_REQUEST, ClientGone, until_disconnect
from emmaus.api.common.schemas import error_responses
from emmaus.api.common.state import system_of
from emmaus.api.library.protocol import DocumentList, IngestOut, PublisherList
from emmaus.auth import AuthContext, require_api_access
from emmaus.errors import DocumentNotFound, InvalidRequest, SharedDocument, UnsupportedDocument
from emmaus.grounding import listing
from emmaus.grounding.extract import KINDS, kind_of, web_link
from emmaus.grounding.listing import Scope

router = APIRouter()
MAX_SOURCE_NAME = 255


def _source_name(upload: UploadFile) -> str:
    name = PurePath((upload.filename or "").replace("\\", "/").replace("\x00", "")).name.strip()
    if not name:
        raise InvalidRequest("the uploaded file needs a file name")
    return name[:MAX_SOURCE_NAME]


@router.post(
    "/documents",
    response_model=IngestOut,
    status_code=201,
    summary="Upload a text, Markdown, HTML or PDF document into one of your publishers",
    responses=error_responses(
        {409: "The publisher name is a shared publisher's, or your library is full"}
    ),
)
async def upload_document(
    request: Request,
    file: Annotated[UploadFile, File(description="The document")],
    publisher: Annotated[str, Form(min_length=1, max_length=200)],
    title: Annotated[str | None, Form(max_length=300)] = None,
    url: Annotated[str | None, Form(max_length=2000, description="Link shown in citations")] = None,
    auth: AuthContext = Depends(require_api_access),
) -> Response:
    if any("\x00" in field for field in (publisher, title or "", url or "")):
        raise InvalidRequest("form fields must not contain NUL characters")
    name = _source_name(file)
    if kind_of(name, file.content_type) is None:
        raise UnsupportedDocument(
            f"{name}: unsupported type; use one of {', '.join(sorted(KINDS))}"
        )
    if url is not None and web_link(url) is None:
        raise InvalidRequest("url must be an absolute http(s) link")
    library = system_of(request).retriever.library
    owned = await library.publisher(publisher, auth.client_id, create=True)
    assert owned is not None
    data = await file.read()
    work = library.ingest(owned, name, data, content_type=file.content_type, title=title, url=url)
    try:  # a caller who leaves stops the reading (its child process is killed) and the store
        result = await until_disconnect(request, work)
    except ClientGone:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    status = 200 if result.status == "unchanged" else 201
    return json_response({"status": result.status, "document": result.document.to_dict()}, status)


@router.get(
    "/documents",
    response_model=DocumentList,
    summary="List the documents you can retrieve from: yours and the shared publishers'",
)
async def list_documents(
    request: Request,
    publisher: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    scope: Annotated[
        Scope, Query(description="all (default), own (yours only) or shared (shared only)")
    ] = "all",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    auth: AuthContext = Depends(require_api_access),
) -> Response:
    library = system_of(request).retriever.library
    page = await listing.list_documents(
        library.db, auth.client_id, publisher=publisher, scope=scope, limit=limit, offset=offset
    )
    counts = {"own": page.own, "shared": page.shared, "total": page.own + page.shared}
    return json_response({"data": [d.to_dict() for d in page.documents], "counts": counts})


@router.delete(
    "/documents/{document_id}",
    status_code=204,
    summary="Delete one of your documents",
    responses=error_responses({409: "The document belongs to a shared publisher"}),
)
async def delete_document(
    request: Request,
    document_id: Annotated[int, Path(ge=-(2**63), le=2**63 - 1)],
    auth: AuthContext = Depends(require_api_access),
) -> Response:
    library = system_of(request).retriever.library
    if not await library.delete_document(auth.client_id, document_id):
        if await listing.is_shared_document(library.db, document_id):
            raise SharedDocument(
                f"document {document_id} belongs to a shared publisher; the operator manages "
                "shared publishers (emmaus ingest)"
            )
        raise DocumentNotFound(f"no document {document_id}")
    return Response(status_code=204)


@router.get(
    "/publishers",
    response_model=PublisherList,
    summary="Publishers you can retrieve from: your own and the shared ones",
)
async def list_publishers(
    request: Request, auth: AuthContext = Depends(require_api_access)
) -> Response:
    library = system_of(request).retriever.library
    sizes = await listing.publisher_sizes(library.db, auth.client_id)
    return json_response(
        {
            "data": [
                {"name": p.name, "shared": p.shared, "documents": p.documents, "chunks": p.chunks}
                for p in sizes
            ]
        }
    )
