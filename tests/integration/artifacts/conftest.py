"""The artifact store on both backends: a directory of the test's own, or a bucket of its own on a real
S3-compatible server (SeaweedFS, started once per session)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from scanfleet.artifacts import BlobStore, open_store
from scanfleet.artifacts.writer import ArtifactWriter
from scanfleet.config import Settings
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


def s3_settings(settings: Settings, server: SeaweedS3, bucket: str) -> Settings:
    return settings.model_copy(update={
        "artifact_backend": "s3", "artifact_s3_bucket": bucket, "artifact_s3_endpoint": server.endpoint,
        "artifact_s3_access_key_id": ACCESS_KEY, "artifact_s3_secret_access_key": SecretStr(SECRET_KEY),
    })  # fmt: skip


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
        chosen = s3_settings(settings, server, new_bucket(server))
    return Backend(chosen, await open_store(chosen))


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> AsyncIterator[Backend]:
    opened = await open_backend(request.param, settings, tmp_path, request)
    yield opened
    await opened.store.close()
