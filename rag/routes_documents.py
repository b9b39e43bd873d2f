"""`/api/documents`: add (one file or several, one commit), list, read and delete documents."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import PurePosixPath, PureWindowsPath

from fastapi import APIRouter, Depends, File, HTTPException, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from rag.api_deps import AppServices, require_admin, require_key
from rag.schema import (DocumentAdded, DocumentOut, DocumentsAdded, DocumentText, ErrorResponse, RejectedFile,
                        ValidationErrorResponse)

router = APIRouter()


class Rejected(Exception):
    def __init__(self, status_code: int, detail: str):
        self.status_code, self.detail = status_code, detail


async def read_upload(file: UploadFile, max_upload_mb: float) -> tuple[str, str]:
    """(name, text) of one uploaded file, or `Rejected` with the status a single upload answers."""
    from index.loader import SUPPORTED, UnsupportedDocument, parse_document

    name = file.filename or ""
    if not name or name != PurePosixPath(name).name or name != PureWindowsPath(name).name or name in (".", ".."):
        raise Rejected(400, "the file name must be a plain name without folders")
    if PurePosixPath(name).suffix.lower() not in SUPPORTED:
        raise Rejected(415, f"unsupported file type; supported: {', '.join(SUPPORTED)}")
    limit = int(max_upload_mb * 1024 * 1024)
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise Rejected(413, f"the file is larger than {max_upload_mb:g} MB")
    try:
        return name, await run_in_threadpool(parse_document, name, data)
    except UnsupportedDocument as exc:
        raise Rejected(422, str(exc)) from exc


@router.post("/api/documents", response_model=DocumentAdded | DocumentsAdded, status_code=201,
             dependencies=[Depends(require_admin)],
             responses={400: {"model": ErrorResponse, "description": "Bad file name."},
                        413: {"model": ErrorResponse, "description": "File too large."},
                        415: {"model": ErrorResponse, "description": "Unsupported file type."},
                        422: {"model": ValidationErrorResponse, "description": "Empty or undecodable file."}})
async def add_document(services: AppServices, file: list[UploadFile] = File(..., description=(
        ".txt, .md, .html, .pdf or .docx; UTF-8 or GB18030 text. Several `file` parts index them together "
        "(one commit) and answer a summary with each file's result; bad files are listed, not indexed."))):
    from index.ingest import index_documents

    settings = services.settings
    accepted, rejected = [], []
    for upload in file:
        try:
            accepted.append(await read_upload(upload, settings.max_upload_mb))
        except Rejected as exc:
            rejected.append(RejectedFile(name=upload.filename or "", status_code=exc.status_code,
                                         detail=exc.detail))
    if not accepted:
        codes = {r.status_code for r in rejected}
        detail = rejected[0].detail if len(rejected) == 1 else "; ".join(f"{r.name}: {r.detail}" for r in rejected)
        raise HTTPException(status_code=codes.pop() if len(codes) == 1 else 422, detail=detail)
    pipeline = services.pipeline()

    def write():
        with services.write_lock:
            started = time.perf_counter()
            results = index_documents(pipeline.store, pipeline.embedder, settings, accepted)
            pipeline.corpus.get()  # the uploader waits for the BM25 refresh, not the next asker
            return results, time.perf_counter() - started

    results, seconds = await run_in_threadpool(write)
    documents = [DocumentAdded(**asdict(info), status=status) for info, status in results]
    if len(file) == 1:
        return documents[0]
    fresh = [(d, info) for d, (info, _) in zip(documents, results) if d.status != "unchanged"]
    return DocumentsAdded(documents=documents, rejected=rejected,
                          added=sum(d.status == "added" for d in documents),
                          replaced=sum(d.status == "replaced" for d in documents),
                          unchanged=sum(d.status == "unchanged" for d in documents),
                          chunks=sum(info.chunks for _, info in fresh), chars=sum(info.chars for _, info in fresh),
                          seconds=round(seconds, 3))


@router.delete("/api/documents/{doc_id}", status_code=204, dependencies=[Depends(require_admin)],
               responses={404: {"model": ErrorResponse, "description": "No such document."}})
async def delete_document(doc_id: str, services: AppServices):
    pipeline = services.pipeline()

    def delete():
        with services.write_lock:
            existed = pipeline.store.delete_document(doc_id)
            pipeline.corpus.get()
            return existed

    if not await run_in_threadpool(delete):
        raise HTTPException(status_code=404, detail=f"no document {doc_id!r}")
    return Response(status_code=204)


@router.get("/api/documents", response_model=list[DocumentOut], dependencies=[Depends(require_key)])
def list_documents(services: AppServices):
    return [DocumentOut(**asdict(d)) for d in services.pipeline().store.list_documents()]


@router.get("/api/documents/{doc_id}", response_model=DocumentText, dependencies=[Depends(require_key)],
            responses={404: {"model": ErrorResponse, "description": "No such document."}})
def get_document(doc_id: str, services: AppServices):
    store = services.pipeline().store
    info = store.get_document(doc_id)
    if info is None:
        raise HTTPException(status_code=404, detail=f"no document {doc_id!r}")
    return DocumentText(**asdict(info), text=store.document_text(doc_id) or "")
