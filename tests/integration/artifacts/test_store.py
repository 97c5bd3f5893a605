"""The artifact store on both backends (a local directory; S3 on a real SeaweedFS): blobs round-trip, are
content-addressed per organisation and size-limited; the API lists and serves them only to their organisation;
a crash between blob and row leaves nothing the sweep does not remove; erase, purge and retention take them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from scanfleet import ids
from scanfleet.artifacts import blob_key
from scanfleet.artifacts.blobs import Blob, BlobStore
from scanfleet.artifacts.local import LocalBlobStore
from scanfleet.artifacts.sweep import sweep
from scanfleet.artifacts.writer import ArtifactWriter
from scanfleet.broker.gate import Gate
from scanfleet.db import artifacts, erase, retention, scans
from scanfleet.db.store import PgJobStore
from scanfleet.lifecycle import Lifecycle
from scanfleet.model import Attachment, Job, Outcome, Status
from scanfleet.scheduler import erase as erase_rounds
from tests.conftest import Tenant, make_tenant
from tests.integration.artifacts.conftest import Backend
from tests.support.app import api_client
from tests.support.site import eventually

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100
HAR = b'{"log": {"version": "1.2", "entries": []}}'


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def finished_job(
    pool: asyncpg.Pool, gate: Gate, writer: ArtifactWriter, org_id: uuid.UUID, attachments: list[Attachment],
    at: datetime | None = None,
) -> Job:  # fmt: skip
    """A scan (created `at`) that a delivery finishes with `attachments`, as a worker does."""
    job = await scans.insert(pool, org_id, "https://shop.example/", scan_id=ids.new_id(at=at))
    life = Lifecycle(PgJobStore(pool), gate, artifacts=writer)
    async with life.delivery(job.id, "privacy") as delivery:
        assert await delivery.claim(60) is not None
        assert await delivery.finish(Outcome(Status.SUCCEEDED, http_status=200, attachments=attachments))
    return job


async def _keys(backend: Backend) -> dict[str, Blob]:
    return {blob.key: blob for page in [p async for p in backend.store.listing()] for blob in page}


async def _read(backend: Backend, key: str) -> bytes:
    return b"".join([chunk async for chunk in backend.store.read(key)])


async def test_a_finished_jobs_attachments_round_trip_once_per_content(
    backend: Backend, pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    shot, har = Attachment("screenshot", "image/png", PNG), Attachment("har", "application/json", HAR)
    first = await finished_job(pool, gate, backend.writer, tenant.org.id, [shot, har])
    second = await finished_job(pool, gate, backend.writer, tenant.org.id, [shot])
    # Two rows reference the screenshot; its bytes are stored once, under the org's prefix and their digest.
    assert set(await _keys(backend)) == {blob_key(tenant.org.id, _sha(PNG)), blob_key(tenant.org.id, _sha(HAR))}
    assert await _read(backend, blob_key(tenant.org.id, _sha(PNG))) == PNG
    rows = await artifacts.of_job(pool, tenant.org.id, first.id)
    assert [(row.kind, row.content_type, row.size, row.sha256) for row in rows] == [
        ("screenshot", "image/png", len(PNG), _sha(PNG)), ("har", "application/json", len(HAR), _sha(HAR)),
    ]  # fmt: skip
    assert all(ids.created_at(row.id) == first.created_at for row in rows)  # lookups by id prune to its day
    assert [row.sha256 for row in await artifacts.of_job(pool, tenant.org.id, second.id)] == [_sha(PNG)]
    # Another org's same bytes are its own blob: one org's erase never reaches another's.
    other = await make_tenant(pool)
    await finished_job(pool, gate, backend.writer, other.org.id, [shot])
    assert blob_key(other.org.id, _sha(PNG)) in await _keys(backend)


async def test_artifacts_over_their_limits_are_left_out_and_the_rest_kept(
    backend: Backend, pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    writer = ArtifactWriter(backend.store, max_bytes=2048, job_max_bytes=3000)
    big = Attachment("screenshot", "image/png", b"x" * 2049)  # over the per-artifact limit
    document = Attachment("document", "text/html", b"d" * 2000)
    har = Attachment("har", "application/json", b"h" * 1500)  # would take the job past 3000
    snapshot = Attachment("dom_snapshot", "text/html", b"s" * 900)  # still fits after the HAR is left out
    job = await finished_job(pool, gate, writer, tenant.org.id, [big, document, har, snapshot])
    kept = await artifacts.of_job(pool, tenant.org.id, job.id)
    assert [row.kind for row in kept] == ["document", "dom_snapshot"]
    assert set(await _keys(backend)) == {blob_key(tenant.org.id, row.sha256) for row in kept}


async def test_the_api_serves_an_artifact_to_its_organisation_only(
    backend: Backend, pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    job = await finished_job(pool, gate, backend.writer, tenant.org.id, [Attachment("screenshot", "image/png", PNG)])
    stranger = await make_tenant(pool)
    async with api_client(backend.settings) as api:
        scan = (await api.get(f"/v1/scans/{job.id}", headers=tenant.headers)).json()
        listed = await api.get(scan["artifacts_url"].removeprefix("http://127.0.0.1:8000"), headers=tenant.headers)
        assert listed.status_code == 200
        (item,) = listed.json()["items"]
        assert (item["kind"], item["size"], item["sha256"]) == ("screenshot", len(PNG), _sha(PNG))
        path = httpx.URL(item["url"]).path
        answer = await api.get(path, headers=tenant.headers)
        if backend.settings.artifact_backend == "local":
            assert answer.status_code == 200 and answer.content == PNG
            assert answer.headers["content-type"] == "image/png"
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["content-disposition"].startswith("attachment;")
        else:  # a short-lived signed link to the bucket, which needs no credentials
            assert answer.status_code == 307
            async with httpx.AsyncClient() as plain:
                fetched = await plain.get(answer.headers["location"])
            assert fetched.status_code == 200 and fetched.content == PNG
        # Another organisation's: exactly a missing one.
        for url in (path, f"/v1/scans/{job.id}/artifacts"):
            refused = await api.get(url, headers=stranger.headers)
            assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
        assert (await api.get(f"/v1/artifacts/{ids.new_id()}", headers=tenant.headers)).status_code == 404
        assert (await api.get("/v1/artifacts/not-an-id", headers=tenant.headers)).status_code == 404
        assert (await api.get(path)).status_code == 401


async def test_a_crash_between_blob_and_row_leaves_only_what_the_sweep_removes(
    backend: Backend, pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    kept = await finished_job(pool, gate, backend.writer, tenant.org.id, [Attachment("har", "application/json", HAR)])
    # The worker wrote the blob and died before the result's transaction: no row references it.
    orphan = Attachment("screenshot", "image/png", PNG)
    assert await backend.writer.write(tenant.org.id, [orphan]) == [orphan]
    orphan_key = blob_key(tenant.org.id, _sha(PNG))
    assert orphan_key in await _keys(backend)
    now = datetime.now(UTC)
    # Within its grace it stays: the row of a job still finishing may be about to reference it.
    within_grace = await sweep(pool, backend.store, now, grace_seconds=3600)
    assert within_grace is not None and within_grace.removed == 0 and within_grace.objects == 2
    past_grace = await sweep(pool, backend.store, now + timedelta(seconds=10), grace_seconds=0)
    assert past_grace is not None and past_grace.removed == 1 and past_grace.objects == 1
    assert set(await _keys(backend)) == {blob_key(tenant.org.id, _sha(HAR))}
    assert [row.sha256 for row in await artifacts.of_job(pool, tenant.org.id, kept.id)] == [_sha(HAR)]


async def test_erase_takes_the_orgs_artifacts_and_leaves_anothers(
    backend: Backend, pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    other = await make_tenant(pool)
    shot = Attachment("screenshot", "image/png", PNG)
    erased = await finished_job(pool, gate, backend.writer, tenant.org.id, [shot])
    await finished_job(pool, gate, backend.writer, other.org.id, [shot])
    req = await erase.request(pool, tenant.org.id)
    for _ in range(20):
        await erase_rounds.erase_round(pool, backend.store, backend.settings)
        current = await erase.get(pool, tenant.org.id, req.id)
        if current is not None and current.status == "done":
            break
    else:
        raise AssertionError("the erase did not finish")
    assert await artifacts.of_job(pool, tenant.org.id, erased.id) == []
    assert set(await _keys(backend)) == {blob_key(other.org.id, _sha(PNG))}


async def test_a_purged_scans_artifacts_leave_with_its_rows(
    backend: Backend, pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    job = await finished_job(pool, gate, backend.writer, tenant.org.id, [Attachment("har", "application/json", HAR)])
    async with api_client(backend.settings) as api:
        (item,) = (await api.get(f"/v1/scans/{job.id}/artifacts", headers=tenant.headers)).json()["items"]
        assert (await api.delete(f"/v1/scans/{job.id}", headers=tenant.headers)).status_code == 204
        # Hidden at once, like the scan.
        assert (await api.get(httpx.URL(item["url"]).path, headers=tenant.headers)).status_code == 404
    await scans.purge_deleted(pool, older_than_seconds=0)
    assert await pool.fetchval("SELECT count(*) FROM artifacts WHERE scan_id = $1", job.id) == 0
    swept = await sweep(pool, backend.store, datetime.now(UTC) + timedelta(seconds=10), grace_seconds=0)
    assert swept is not None and swept.removed == 1
    assert await _keys(backend) == {}


# A day of its own, before every other test's (the retention tests drop 2020's, the erase tests use 2021's).
OLD_DAY = datetime(2019, 6, 1, 12, tzinfo=UTC)


async def test_retention_drops_a_days_artifacts_and_the_sweep_their_blobs(
    backend: Backend, pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    old = await finished_job(pool, gate, backend.writer, tenant.org.id, [Attachment("har", "application/json", HAR)],
                             at=OLD_DAY)  # fmt: skip
    recent = await finished_job(pool, gate, backend.writer, tenant.org.id, [Attachment("screenshot", "image/png", PNG)])
    dropped = await retention.drop_before(pool, date(2019, 6, 2))
    assert "artifacts_20190601" in {part.name for part in dropped}
    assert await artifacts.of_job(pool, tenant.org.id, old.id) == []
    swept = await sweep(pool, backend.store, datetime.now(UTC) + timedelta(seconds=10), grace_seconds=0)
    assert swept is not None and swept.removed == 1
    assert set(await _keys(backend)) == {blob_key(tenant.org.id, _sha(PNG))}
    assert len(await artifacts.of_job(pool, tenant.org.id, recent.id)) == 1


@dataclass
class WrittenAgainMidSweep:
    """The store as a sweep sees it, with a job writing the same bytes and committing its row after the sweep's
    query for references and before its delete."""

    inner: BlobStore
    meanwhile: Callable[[], Awaitable[object]]
    name = "written-again"

    def listing(self, prefix: str = "") -> AsyncIterator[list[Blob]]:
        return self.inner.listing(prefix)

    async def delete(self, keys: list[str], written_before: datetime) -> set[str]:
        # S3 ages have one-second resolution: the renewed age must be past the cutoff to tell them apart.
        await eventually(lambda: _now_after(written_before + timedelta(seconds=1)), timeout=5)
        await self.meanwhile()
        return await self.inner.delete(keys, written_before)


async def _now_after(moment: datetime) -> bool:
    return datetime.now(UTC) > moment


async def test_a_blob_written_again_after_the_sweep_listed_it_is_kept(
    backend: Backend, pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    shot = Attachment("screenshot", "image/png", PNG)
    assert await backend.writer.write(tenant.org.id, [shot]) == [shot]  # unreferenced: its job's row never came
    jobs: list[Job] = []

    async def new_job_with_the_same_bytes() -> None:
        jobs.append(await finished_job(pool, gate, backend.writer, tenant.org.id, [shot]))

    racing = WrittenAgainMidSweep(backend.store, new_job_with_the_same_bytes)
    swept = await sweep(pool, racing, datetime.now(UTC), grace_seconds=0)  # type: ignore[arg-type]
    assert swept is not None and swept.removed == 0 and swept.objects == 1
    (row,) = await artifacts.of_job(pool, tenant.org.id, jobs[0].id)
    assert await _read(backend, blob_key(tenant.org.id, row.sha256)) == PNG


async def test_a_local_blob_cut_short_is_written_whole_again(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    key = blob_key(uuid.uuid4(), _sha(PNG))
    await store.put(key, PNG, "image/png")
    (tmp_path / key).write_bytes(b"")  # a power loss between the rename and the data reaching the disk
    await store.put(key, PNG, "image/png")
    assert b"".join([chunk async for chunk in store.read(key)]) == PNG


async def test_a_document_is_downloaded_as_bytes_and_listed_with_its_own_type(
    backend: Backend, pool: asyncpg.Pool, gate: Gate, tenant: Tenant
) -> None:
    page = b"<html><script>alert(1)</script></html>"
    job = await finished_job(pool, gate, backend.writer, tenant.org.id, [Attachment("document", "text/html", page)])
    async with api_client(backend.settings) as api:
        (item,) = (await api.get(f"/v1/scans/{job.id}/artifacts", headers=tenant.headers)).json()["items"]
        assert item["content_type"] == "text/html"
        answer = await api.get(httpx.URL(item["url"]).path, headers=tenant.headers)
        if answer.status_code == 307:
            async with httpx.AsyncClient() as plain:
                answer = await plain.get(answer.headers["location"])
        assert answer.status_code == 200 and answer.content == page
        assert answer.headers["content-type"] == "application/octet-stream"
