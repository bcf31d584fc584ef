"""Errors of the signing library, the MSSP client, the keyring and the blob store reach people as
clear Vietnamese (or English) messages with the right status — pages, htmx partials and the JSON
API alike — never the generic 500 page. One real path (a document whose stored file is gone)
and the whole mapping through routes added to the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from bs4 import BeautifulSoup
from starlette.requests import Request
from starlette.responses import Response

from backend.core.blobs import BlobCorruptError, BlobError, BlobNotFoundError
from backend.core.settings import Settings
from backend.identity.policy import PUBLIC
from backend.signing_flow.keyring import KeyringError
from backend.web import routes
from backend.web.app import create_app
from signing import (
    CertificateRevokedError,
    EncryptedPdfError,
    KeyProviderError,
    SigningError,
    TimestampUnavailableError,
)
from signing.mss_errors import MssExpiredError, MssUnavailableError
from tests.backend.documents import corpus
from tests.backend.documents.web.test_views import FIELDS, register
from tests.backend.identity.conftest import (  # noqa: F401 (fixtures)
    World,
    browser_like,
    client,
    clock,
    resources_of,
    sign_in_as,
    world,
)
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio
GENERIC = "Hệ thống gặp lỗi"

ERRORS: dict[str, tuple[Exception, int, str]] = {
    "tsa": (TimestampUnavailableError(), 503, "máy chủ cấp dấu thời gian"),
    "revoked": (CertificateRevokedError(), 409, "thu hồi"),
    "encrypted": (EncryptedPdfError(), 422, "mật khẩu"),
    "key": (KeyProviderError("token gone"), 500, ""),
    "signing": (SigningError("boom"), 500, ""),
    "mss-down": (MssUnavailableError(), 503, ""),
    "mss-expired": (MssExpiredError(), 409, ""),
    "keyring": (KeyringError("no PKI"), 500, "Chức năng ký số chưa sẵn sàng"),
    "blob-missing": (BlobNotFoundError("ab"), 500, "không tìm thấy"),
    "blob-corrupt": (BlobCorruptError("ab"), 500, "tệp bị hỏng"),
    "blob-down": (BlobError("store down"), 503, "Kho lưu trữ tệp tạm thời không phản hồi"),
}


async def _raise(request: Request) -> Response:
    raise ERRORS[request.path_params["kind"]][0]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[LifespanManager]:
    application = create_app(settings)
    application.router.routes.append(
        routes.route("/test-raise/{kind}", _raise, name="test_raise", access=PUBLIC)
    )
    async with LifespanManager(application) as manager:
        yield manager


async def test_each_error_has_its_status_and_its_own_words(app: LifespanManager) -> None:
    async with app.client() as http:
        browser_like(http)
        for kind, (exc, status, words) in ERRORS.items():
            page = await http.get(f"/test-raise/{kind}")
            assert page.status_code == status, kind
            text = BeautifulSoup(page.text, "html.parser").get_text(" ", strip=True)
            assert GENERIC not in text, kind
            assert words in text, (kind, text[:300])
            if isinstance(exc, SigningError):
                assert exc.message_vi in text, kind
            assert ("Retry-After" in page.headers) == (status == 503), kind
            partial = await http.get(f"/test-raise/{kind}", headers={"HX-Request": "true"})
            assert partial.status_code == status and "<html" not in partial.text, kind
            api = await http.get(f"/test-raise/{kind}", headers={"Accept": "application/json"})
            body = api.json()["error"]
            assert body["status"] == status and body["message"] and body["message_en"], kind
            assert "went wrong" not in body["message_en"], kind


async def test_a_document_whose_file_is_gone_says_so(
    app: LifespanManager,
    client: httpx.AsyncClient,  # noqa: F811 (the fixture imported above)
    world: World,  # noqa: F811
) -> None:
    await sign_in_as(app, client, world.user_ids["clerk"])
    pdf = corpus.pdf(pages=1)
    created = await register(client, FIELDS, [("pdf", ("qd.pdf", pdf, "application/pdf"))])
    page = BeautifulSoup((await client.get(created.headers["location"])).text, "html.parser")
    download = str(page.select_one(".files a")["href"])  # type: ignore[index]
    for path in (resources_of(app).settings.data_dir / "blobs").rglob("*"):
        if path.is_file():
            path.unlink()  # a disk lost, a botched restore
    gone = await client.get(download)
    assert gone.status_code == 500
    text = BeautifulSoup(gone.text, "html.parser").get_text(" ", strip=True)
    assert GENERIC not in text and "không tìm thấy" in text
