"""The artifact store on both backends: a directory of the test's own, or a bucket of its own on a real
S3-compatible server (SeaweedFS, the session's `seaweed`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from scanfleet.artifacts import BlobStore, open_store
from scanfleet.artifacts.writer import ArtifactWriter
from scanfleet.config import Settings
from tests.integration.worker.conftest import own_worker  # noqa: F401  (a worker of a test's own)
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3


def s3_overrides(server: SeaweedS3, bucket: str) -> dict[str, object]:
    """The settings of the S3 backend on `server`'s `bucket`."""
    return {
        "artifact_backend": "s3", "artifact_s3_bucket": bucket, "artifact_s3_endpoint": server.endpoint,
        "artifact_s3_access_key_id": ACCESS_KEY, "artifact_s3_secret_access_key": SecretStr(SECRET_KEY),
    }  # fmt: skip


def new_bucket(server: SeaweedS3) -> str:
    """A bucket of the test's own: a sweep sees only the blobs of its test."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    client = server.client()
    client.create_bucket(Bucket=name)  # type: ignore[attr-defined]
    client.close()  # type: ignore[attr-defined]
    return name


@dataclass
class Backend:
    settings: Settings
    store: BlobStore

    @property
    def writer(self) -> ArtifactWriter:
        return ArtifactWriter(self.store, self.settings.artifact_max_bytes, self.settings.artifact_job_max_bytes)


async def open_backend(name: str, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Backend:
    if name == "local":
        chosen = settings.model_copy(update={"artifact_dir": tmp_path / "artifacts"})
    else:
        server: SeaweedS3 = request.getfixturevalue("seaweed")
        chosen = settings.model_copy(update=s3_overrides(server, new_bucket(server)))
    return Backend(chosen, await open_store(chosen))


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> AsyncIterator[Backend]:
    opened = await open_backend(request.param, settings, tmp_path, request)
    yield opened
    await opened.store.close()
