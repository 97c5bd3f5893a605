"""Artifacts: the files a job produced (screenshots, HARs, documents, DOM snapshots), kept as content-addressed
blobs (`<org>/<sha256>`) in a local directory or S3-compatible storage, each referenced by a row beside its
job's results (scanfleet.db.artifacts)."""

from scanfleet.artifacts.blobs import Blob, BlobStore, StoreUnavailable, blob_key, parse_key
from scanfleet.artifacts.open import open_store

__all__ = ["Blob", "BlobStore", "StoreUnavailable", "blob_key", "open_store", "parse_key"]
