"""Blobs as files under one directory (the embedded default): `<dir>/<org>/<sha256>`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Generator
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
            if path.stat().st_size == len(data):
                os.utime(path)  # the same content is there: only its age is renewed
                return
        except FileNotFoundError:
            pass
        # Missing, or cut short (a write that a power loss interrupted): written whole.
        path.parent.mkdir(parents=True, exist_ok=True)
        # A reader never sees half a blob: written aside, then renamed over in one step.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())  # on disk before its name is: a power loss leaves no empty blob named
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
        # A page at a time off the directory walk: a store of millions of blobs is never all in memory at once.
        walk = self._walk(prefix)
        try:
            while page := await asyncio.to_thread(lambda: list(itertools.islice(walk, PAGE))):
                yield page
        except OSError as exc:
            raise StoreUnavailable(f"{self.root}: {exc}") from exc
        finally:
            walk.close()

    def _walk(self, prefix: str) -> Generator[Blob]:
        try:
            orgs = os.scandir(self.root)
        except FileNotFoundError:
            return
        with orgs:
            for org in orgs:
                if not org.is_dir() or not (org.name.startswith(prefix) or prefix.startswith(org.name)):
                    continue
                with os.scandir(org.path) as entries:
                    for entry in entries:
                        key = f"{org.name}/{entry.name}"
                        if key.startswith(prefix) and parse_key(key) is not None:
                            with contextlib.suppress(FileNotFoundError):  # removed since the directory was read
                                stat = entry.stat()
                                yield Blob(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    async def delete(self, keys: list[str], written_before: datetime) -> set[str]:
        cutoff = written_before.timestamp()

        def remove() -> set[str]:
            removed = set()
            for key in keys:
                path = self._path(key)
                # Its age read again just before: a put that renewed it since the listing keeps it. (A put
                # between this stat and the unlink could still lose it; that window is microseconds, not a
                # whole sweep page's query.)
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed.add(key)
            return removed

        try:
            return await asyncio.to_thread(remove)
        except OSError as exc:
            raise StoreUnavailable(f"{self.root}: {exc}") from exc

    async def close(self) -> None:
        return None
