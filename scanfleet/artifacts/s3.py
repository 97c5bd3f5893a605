"""Blobs in an S3-compatible bucket through aiobotocore (an async client over botocore): production's backend."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from scanfleet.artifacts.blobs import Blob, BlobMissing, BlobRefused, StoreUnavailable, served_type

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import ObjectIdentifierTypeDef

CHUNK_BYTES = 256 * 1024
# A store that does not answer is an outage to wait out (the worker defers its job), not a reason to hang it.
_CONFIG = AioConfig(
    signature_version="s3v4",  # presigned links too: SigV2 links are refused by many S3-compatible servers
    s3={"addressing_style": "path"},
    connect_timeout=5,
    read_timeout=30,
    retries={"max_attempts": 3, "mode": "standard"},
)
_MISSING = {"NoSuchKey", "404", "NotFound"}


def _unavailable(exc: Exception) -> bool:
    """The store's trouble, not the request's: connection errors, timeouts, 5xx, throttling."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or status in (403, 429) or exc.response.get("Error", {}).get("Code") == "NoSuchBucket"
    return isinstance(exc, BotoCoreError | aiohttp.ClientError | OSError | TimeoutError)


def _missing(exc: BlobRefused) -> bool:
    cause = exc.__cause__
    return isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in _MISSING


@contextlib.contextmanager
def _as_outage(what: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if _unavailable(exc):
            raise StoreUnavailable(f"{what}: {exc}") from exc
        if isinstance(exc, ClientError):  # the store's answer about this request (a 400 size limit, a 409)
            raise BlobRefused(f"{what}: {exc}") from exc
        raise


class S3BlobStore:
    name = "s3"

    def __init__(self, client: S3Client, bucket: str, stack: contextlib.AsyncExitStack) -> None:
        self._client, self.bucket, self._stack = client, bucket, stack

    @classmethod
    async def connect(
        cls, bucket: str, endpoint: str | None, region: str, access_key_id: str | None, secret_access_key: str | None
    ) -> S3BlobStore:
        stack = contextlib.AsyncExitStack()
        client = await stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                config=_CONFIG,
            )
        )
        return cls(client, bucket, stack)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        # PUT again even when the blob exists: it renews the object's age, which the sweep's grace counts from.
        with _as_outage(f"s3://{self.bucket}/{key}"):
            await self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            with _as_outage(f"s3://{self.bucket}/{key}"):
                answer = await self._client.get_object(Bucket=self.bucket, Key=key)
        except BlobRefused as exc:
            if _missing(exc):
                raise BlobMissing(key) from exc
            raise
        async with answer["Body"] as body:
            while chunk := await body.read(CHUNK_BYTES):
                yield chunk

    async def signed_url(self, key: str, seconds: int, content_type: str, filename: str) -> str | None:
        return await self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": served_type(content_type),
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=seconds,
        )

    async def listing(self, prefix: str = "") -> AsyncIterator[list[Blob]]:
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        with _as_outage(f"s3://{self.bucket}/{prefix}"):
            async for page in pages:
                yield [Blob(item["Key"], item["Size"], item["LastModified"]) for item in page.get("Contents", [])]

    async def delete(self, keys: list[str], written_before: datetime) -> set[str]:
        # Each one's age read again (HEAD) just before: a PUT that renewed it since the listing keeps it. A PUT
        # between its HEAD and the DeleteObjects could still lose it; S3 has no conditional delete on age, and
        # that window is one request, not a whole sweep page's query.
        still_old = [key for key in keys if await self._written_before(key, written_before)]
        for start in range(0, len(still_old), 1000):  # DeleteObjects takes 1000 keys at most
            batch: list[ObjectIdentifierTypeDef] = [{"Key": key} for key in still_old[start : start + 1000]]
            with _as_outage(f"s3://{self.bucket}"):
                await self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return set(still_old)

    async def _written_before(self, key: str, cutoff: datetime) -> bool:
        try:
            with _as_outage(f"s3://{self.bucket}/{key}"):
                head = await self._client.head_object(Bucket=self.bucket, Key=key)
        except BlobRefused as exc:
            if _missing(exc):
                return False  # gone already
            raise
        return head["LastModified"] < cutoff

    async def close(self) -> None:
        await self._stack.aclose()
