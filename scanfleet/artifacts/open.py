"""The store the settings name."""

from __future__ import annotations

from scanfleet.artifacts.blobs import BlobStore
from scanfleet.artifacts.local import LocalBlobStore
from scanfleet.artifacts.s3 import S3BlobStore
from scanfleet.config import Settings


async def open_store(settings: Settings) -> BlobStore:
    if settings.artifact_backend == "local":
        return LocalBlobStore(settings.artifact_path)
    assert settings.artifact_s3_bucket is not None  # the settings refuse s3 without a bucket
    secret = settings.artifact_s3_secret_access_key
    return await S3BlobStore.connect(
        settings.artifact_s3_bucket, settings.artifact_s3_endpoint, settings.artifact_s3_region,
        settings.artifact_s3_access_key_id, secret.get_secret_value() if secret else None,
    )  # fmt: skip
