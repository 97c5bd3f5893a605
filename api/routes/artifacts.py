"""Artifacts of scans and runs: listed per job, and each downloaded with the API key — streamed by the API from
the local store, or a redirect to a short-lived signed link of the S3 bucket. Another org's artifact is a 404."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from scanfleet import ids
from scanfleet.api import jobs as jobs_view
from scanfleet.api.deps import PrincipalDep, Resources, ResourcesDep
from scanfleet.api.errors import RETRY_AFTER_SECONDS, ApiError, documented, not_found
from scanfleet.api.links import link
from scanfleet.api.schemas import ArtifactOut, Page
from scanfleet.artifacts import StoreUnavailable, blob_key
from scanfleet.artifacts.blobs import BlobMissing, served_type
from scanfleet.db import artifacts
from scanfleet.db.api_keys import Principal
from scanfleet.model import Kind

log = logging.getLogger(__name__)
router = APIRouter(tags=["artifacts"])

_EXTENSIONS = {"image/png": ".png", "application/json": ".har", "text/html": ".html"}
# The content came from a target: never run it on the API's origin, never let a browser guess its type.
_CONTENT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, max-age=86400, immutable",  # content-addressed: these bytes never change
}
UNAVAILABLE = documented(503, "the artifact store cannot be reached (`artifact_store_unavailable`), with Retry-After")


def _out(request: Request, artifact: artifacts.Artifact) -> ArtifactOut:
    return ArtifactOut(
        id=artifact.id, kind=artifact.kind, content_type=artifact.content_type, size=artifact.size,
        sha256=artifact.sha256, step=artifact.step, created_at=artifact.created_at,
        url=link(request, "get_artifact", artifact_id=str(artifact.id)),
    )  # fmt: skip


async def _listed(request: Request, res: Resources, principal: Principal, job_id: str, kind: Kind) -> Page[ArtifactOut]:
    job, source = await jobs_view.results_source(res, principal.org_id, job_id, kind)
    found = await artifacts.of_job(source, principal.org_id, job.id)
    # A job has a handful (limited by SCANFLEET_ARTIFACT_JOB_MAX_BYTES): one page holds them all.
    return Page[ArtifactOut](items=[_out(request, item) for item in found], next_cursor=None)


@router.get("/v1/scans/{scan_id}/artifacts", response_model=Page[ArtifactOut], summary="A scan's artifacts")
async def scan_artifacts(
    scan_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep
) -> Page[ArtifactOut]:
    return await _listed(request, res, principal, scan_id, "privacy")


@router.get("/v1/runs/{run_id}/artifacts", response_model=Page[ArtifactOut], summary="A test run's artifacts")
async def run_artifacts(run_id: str, request: Request, res: ResourcesDep, principal: PrincipalDep) -> Page[ArtifactOut]:
    return await _listed(request, res, principal, run_id, "checks")


@router.get(
    "/v1/artifacts/{artifact_id}", name="get_artifact", summary="An artifact's content",
    response_class=Response,
    responses={
        200: {"description": "the content (local store)", "content": {"application/octet-stream": {}}},
        307: {"description": "S3: a signed link to the content, valid for SCANFLEET_ARTIFACT_URL_SECONDS"},
        **UNAVAILABLE,
    },
)  # fmt: skip
async def get_artifact(artifact_id: str, res: ResourcesDep, principal: PrincipalDep) -> Response:
    parsed = ids.parse(artifact_id)
    found = await artifacts.get(res.pool, principal.org_id, parsed) if parsed else None
    if found is None:  # another org's artifact is indistinguishable from none
        raise not_found("artifact")
    key = blob_key(found.org_id, found.sha256)
    filename = f"{found.kind}-{found.id}{_EXTENSIONS.get(found.content_type.split(';')[0], '')}"
    try:
        url = await res.artifacts.signed_url(key, res.settings.artifact_url_seconds, found.content_type, filename)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
        chunks = res.artifacts.read(key)
        first = await anext(chunks, b"")
    except StoreUnavailable as exc:
        log.warning("artifact store unavailable: %s", exc)
        raise ApiError(
            503, "artifact_store_unavailable", "the artifact store cannot be reached; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from exc  # fmt: skip
    except BlobMissing as exc:
        log.error("artifact %s has a row but no blob %s", found.id, key)
        raise not_found("artifact") from exc

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    headers = {**_CONTENT_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"',
               "Content-Length": str(found.size), "ETag": f'"{found.sha256}"'}  # fmt: skip
    return StreamingResponse(body(), media_type=served_type(found.content_type), headers=headers)
