"""The app on an S3 blob store (a real SeaweedFS): a document registered, its page served; and
when the store is down, the upload is refused in Vietnamese with a retry hint, quickly."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from backend.core.blobs_s3 import S3BlobStore
from backend.core.clock import FixedClock
from backend.core.settings import Settings
from tests.backend.documents import corpus
from tests.backend.documents.web.test_views import FIELDS, html, register
from tests.backend.identity.conftest import (
    World,
    browser_like,
    resources_of,
    seed_world,
    sign_in_as,
)
from tests.conftest import make_settings
from tests.support.lifespan import LifespanManager
from tests.support.ports import free_port
from tests.support.seaweedfs import SeaweedFS

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def prefix() -> str:
    return SeaweedFS.new_prefix()


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, redis_url: str, seaweedfs: SeaweedFS, prefix: str
) -> Settings:
    return make_settings(tmp_path, database_url, redis_url, **seaweedfs.settings_overrides(prefix))


async def test_a_document_on_s3_is_registered_and_its_pages_served(
    app: LifespanManager,
    client: httpx.AsyncClient,
    world: World,
    settings: Settings,
    seaweedfs: SeaweedFS,
    prefix: str,
) -> None:
    assert isinstance(resources_of(app).blobs, S3BlobStore)
    health = (await client.get("/healthz")).json()
    assert health["blobs"]["ok"] is True and health["blobs"]["kind"] == "s3"

    await sign_in_as(app, client, world.user_ids["clerk"])
    pdf = corpus.pdf(pages=2)
    created = await register(client, FIELDS, [("pdf", ("qd15.pdf", pdf, "application/pdf"))])
    assert created.status_code == 303, created.text
    page = html(await client.get(created.headers["location"]))
    images = [str(img["src"]) for img in page.select(".page img")]
    assert len(images) == 2
    image = await client.get(images[1])
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    download = await client.get(str(page.select_one(".files a")["href"]))
    assert download.content == pdf

    listed = seaweedfs.client().list_objects_v2(Bucket=seaweedfs.bucket, Prefix=prefix + "/")
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert keys and all(k.startswith(prefix + "/") for k in keys)
    assert not (settings.data_dir / "blobs").exists()  # nothing went to the file store


@pytest.fixture
def down_settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        redis_url,
        blob_url="s3://eoffice/blobs",
        blob_endpoint_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        blob_access_key="k",
        blob_secret_key="s",
        blob_region="us-east-1",
    )


async def test_store_down_refuses_the_upload_clearly(
    down_settings: Settings, clock: FixedClock
) -> None:
    from backend.web.app import create_app

    async with LifespanManager(create_app(down_settings, clock=clock)) as app:
        world = await seed_world(app, clock)
        async with app.client() as http:
            client = browser_like(http)
            health = await client.get("/healthz")
            assert health.status_code == 503
            assert health.json()["blobs"] == {
                "ok": False,
                "kind": "s3",
                "error": "BlobStoreUnavailableError",
            }
            await sign_in_as(app, client, world.user_ids["clerk"])
            started = time.monotonic()
            pdf = corpus.pdf(pages=1)
            refused = await register(
                client, FIELDS, [("pdf", ("qd15.pdf", pdf, "application/pdf"))]
            )
            assert time.monotonic() - started < 30
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "30"
    assert "Kho lưu trữ tệp tạm thời không phản hồi" in refused.text
