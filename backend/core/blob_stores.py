"""The blob store the settings name: `blob_url` s3://bucket/prefix (an S3-compatible object
store), else content-addressed files in the data directory."""

from __future__ import annotations

from backend.core.blobs import BlobStore, FileBlobStore
from backend.core.blobs_s3 import S3BlobStore
from backend.core.settings import Settings


def open_blob_store(settings: Settings) -> BlobStore:
    if not settings.blob_url:
        return FileBlobStore(settings.data_dir / "blobs")
    return S3BlobStore.from_settings(settings)
