"""`S3BlobStore`: the content-addressed blob store on an S3-compatible object store.

Same keys as `FileBlobStore` (`<prefix>/ab/cd/abcd…`, the SHA-256 of the bytes), same checks:
every read is hashed against its key. boto3 does the signing, multipart transfers and bounded
retries; it blocks, so every call runs in a worker thread. The store being down, unreachable or
refusing us surfaces as `BlobStoreUnavailableError` after short timeouts, never as a hang.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio.to_thread

from backend.core.blobs import (
    BlobCorruptError,
    BlobError,
    BlobNotFoundError,
    BlobStore,
    BlobStoreUnavailableError,
    blob_id,
    blob_key,
)

if TYPE_CHECKING:
    from backend.core.settings import Settings

MB = 1024 * 1024
# Blobs above this go up (and come down) in parts of this size, several at once.
MULTIPART_THRESHOLD = 8 * MB
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix"); the prefix may be empty."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    return parts.netloc, parts.path.strip("/")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(MB):
            digest.update(chunk)
    return digest.hexdigest()


class S3BlobStore(BlobStore):
    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        cache_dir: Path,
        endpoint_url: str = "",
        access_key: str = "",
        secret_key: str = "",
        region: str = "",
        connect_timeout: float = 3,
        read_timeout: float = 10,
        max_attempts: int = 3,
        multipart_threshold: int = MULTIPART_THRESHOLD,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.cache_dir = cache_dir
        self.endpoint_url = endpoint_url
        # Credentials go to the client only (empty: boto3's usual chain: environment, instance
        # role…); never kept on this object, never logged.
        self._client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region or None,
            config=Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                # Bounded retries with backoff on throttling, 5xx and connection errors.
                retries={"max_attempts": max_attempts, "mode": "standard"},
                max_pool_connections=20,
                # Path-style addressing works with every S3-compatible server (SeaweedFS,
                # MinIO, Ceph) without wildcard DNS for bucket subdomains.
                s3={"addressing_style": "path"},
            ),
        )
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=max(multipart_threshold, 5 * MB),
            max_concurrency=4,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, url: str = "") -> S3BlobStore:
        """The store the settings name (or at `url`, with the settings' endpoint and keys)."""
        bucket, prefix = parse_s3_url(url or settings.blob_url)
        return cls(
            bucket=bucket,
            prefix=prefix,
            cache_dir=settings.data_dir / "blob-cache",
            endpoint_url=settings.blob_endpoint_url,
            access_key=settings.blob_access_key,
            secret_key=settings.blob_secret_key,
            region=settings.blob_region,
        )

    def __repr__(self) -> str:
        return f"S3BlobStore({self.url!r}, endpoint={self.endpoint_url or 'AWS'!r})"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, sha256: str) -> str:
        relative = blob_key(sha256)
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def _cache_path(self, sha256: str) -> Path:
        return self.cache_dir / blob_key(sha256)

    # Errors -----------------------------------------------------------------------------------

    def _translate(self, exc: Exception, sha256: str | None = None) -> BlobError:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if sha256 is not None and code in _NOT_FOUND:
                return BlobNotFoundError(sha256)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return BlobStoreUnavailableError(
                f"object store {self.url} refused {exc.operation_name}: {code or status}"
            )
        if isinstance(exc, BotoCoreError):
            return BlobStoreUnavailableError(
                f"object store {self.url} unreachable: {type(exc).__name__}: {exc}"
            )
        return BlobStoreUnavailableError(f"object store {self.url}: {exc!r}")

    def _call(self, sha256: str | None, method: str, **kwargs: Any) -> Any:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client, method)(**kwargs)
        except (BotoCoreError, ClientError, Boto3Error) as exc:
            raise self._translate(exc, sha256) from exc

    # Blocking operations (run in worker threads) ----------------------------------------------

    def _head(self, sha256: str) -> int | None:
        """The stored object's size, or None when there is none."""
        try:
            response = self._call(sha256, "head_object", Bucket=self.bucket, Key=self.key(sha256))
        except BlobNotFoundError:
            return None
        return int(response["ContentLength"])

    def _put(self, data: bytes) -> str:
        sha256 = blob_id(data)
        if self._head(sha256) == len(data):
            return sha256
        # Object PUTs are atomic: a reader sees the whole blob or none (multipart included: the
        # object appears when the upload completes).
        self._call(
            sha256,
            "upload_fileobj",
            Fileobj=io.BytesIO(data),
            Bucket=self.bucket,
            Key=self.key(sha256),
            ExtraArgs={"ContentType": "application/octet-stream"},
            Config=self._transfer,
        )
        return sha256

    def _get(self, sha256: str) -> bytes:
        key = self.key(sha256)
        response = self._call(sha256, "get_object", Bucket=self.bucket, Key=key)
        try:
            data: bytes = response["Body"].read()
        except Exception as exc:
            raise self._translate(exc, sha256) from exc
        if blob_id(data) != sha256:
            raise BlobCorruptError(sha256)
        return data

    def _local_path(self, sha256: str) -> Path:
        path = self._cache_path(sha256)
        if path.exists():
            if _sha256_file(path) == sha256:
                return path
            path.chmod(0o640)
            path.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                self._call(
                    sha256,
                    "download_fileobj",
                    Bucket=self.bucket,
                    Key=self.key(sha256),
                    Fileobj=handle,
                    Config=self._transfer,
                )
            if _sha256_file(Path(tmp)) != sha256:
                raise BlobCorruptError(sha256)
            os.chmod(tmp, 0o440)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _ping(self) -> None:
        self._call(None, "head_bucket", Bucket=self.bucket)

    # The interface ----------------------------------------------------------------------------

    async def put(self, data: bytes) -> str:
        return await anyio.to_thread.run_sync(self._put, data)

    async def get(self, sha256: str) -> bytes:
        return await anyio.to_thread.run_sync(self._get, sha256)

    async def exists(self, sha256: str) -> bool:
        return await anyio.to_thread.run_sync(self._head, sha256) is not None

    async def size(self, sha256: str) -> int | None:
        return await anyio.to_thread.run_sync(self._head, sha256)

    async def local_path(self, sha256: str) -> Path:
        return await anyio.to_thread.run_sync(self._local_path, sha256)

    async def ping(self) -> None:
        await anyio.to_thread.run_sync(self._ping)
