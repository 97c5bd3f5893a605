"""Blobs as files under one directory (the embedded default): `<dir>/<org>/<sha256>`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

from scanfleet.artifacts.blobs import Blob, BlobMissing, StoreUnavailable, parse_key

CHUNK_BYTES = 256 * 1024
PAGE = 1000


class LocalBlobStore:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if parse_key(key) is None:  # never a path of a caller's making (no "..", no absolute paths)
            raise ValueError(f"not an artifact key: {key!r}")
        return self.root / key

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await asyncio.to_thread(self._put, self._path(key), data)
        except OSError as exc:
            raise StoreUnavailable(f"{self.root}: {exc}") from exc

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        try:
            os.utime(path)  # the same content is there: only its age is renewed
            return
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        # A reader never sees half a blob: written aside, then renamed over in one step.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    async def read(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc
        except OSError as exc:
            raise StoreUnavailable(f"{self.root}: {exc}") from exc
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
                yield chunk
        finally:
            file.close()

    async def signed_url(self, key: str, seconds: int, content_type: str, filename: str) -> str | None:
        return None  # the API streams local blobs itself

    async def listing(self, prefix: str = "") -> AsyncIterator[list[Blob]]:
        found = await asyncio.to_thread(lambda: list(self._walk(prefix)))
        for start in range(0, len(found), PAGE):
            yield found[start : start + PAGE]

    def _walk(self, prefix: str) -> Iterator[Blob]:
        try:
            orgs = sorted(os.scandir(self.root), key=lambda entry: entry.name)
        except FileNotFoundError:
            return
        for org in orgs:
            if not org.is_dir() or not (org.name.startswith(prefix) or prefix.startswith(org.name)):
                continue
            for entry in sorted(os.scandir(org.path), key=lambda entry: entry.name):
                key = f"{org.name}/{entry.name}"
                if key.startswith(prefix) and parse_key(key) is not None:
                    stat = entry.stat()
                    yield Blob(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    async def delete(self, keys: list[str]) -> None:
        def remove() -> None:
            for key in keys:
                with contextlib.suppress(FileNotFoundError):
                    self._path(key).unlink()

        try:
            await asyncio.to_thread(remove)
        except OSError as exc:
            raise StoreUnavailable(f"{self.root}: {exc}") from exc

    async def close(self) -> None:
        return None
