from __future__ import annotations

import json
import re

import httpx
import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    # The shell does not depend on the database kind; one run is enough.
    return sqlite_url


def page(response: httpx.Response) -> BeautifulSoup:
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


async def test_home_is_vietnamese_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    html = page(response)
    assert html.html is not None and html.html["lang"] == "vi"
    assert html.h1 is not None and html.h1.get_text(strip=True) == "Văn phòng điện tử"
    assert "Đăng nhập" in html.get_text()
    assert response.headers["content-language"] == "vi"


async def test_english_switch_sets_a_cookie_and_returns_to_the_page(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/lang/en", params={"next": "/offline"})
    assert response.status_code == 303
    assert response.headers["location"] == "/offline"
    assert "lang=en" in response.headers["set-cookie"]
    client.cookies.set("lang", "en")
    english = page(await client.get("/offline"))
    assert english.html is not None and english.html["lang"] == "en"
    assert english.h1 is not None and english.h1.get_text(strip=True) == "You are offline"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
async def test_language_switch_is_not_an_open_redirect(
    client: httpx.AsyncClient, target: str
) -> None:
    response = await client.get("/lang/en", params={"next": target})
    assert response.headers["location"] == "/"


async def test_unknown_language_changes_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/lang/fr")
    assert "set-cookie" not in response.headers


async def test_manifest_makes_the_app_installable(client: httpx.AsyncClient) -> None:
    response = await client.get("/manifest.webmanifest")
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text)
    assert manifest["display"] == "standalone"
    assert manifest["id"] == "/" and manifest["start_url"].startswith("/")
    assert manifest["short_name"] == "eOffice"
    assert manifest["name"] == "eOffice — Văn phòng điện tử"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        image = await client.get(icon["src"])
        assert image.status_code == 200
        assert image.content.startswith(b"\x89PNG")
        width = int.from_bytes(image.content[16:20], "big")
        assert f"{width}x{width}" == icon["sizes"]


async def test_home_links_manifest_and_ios_install_tags(client: httpx.AsyncClient) -> None:
    html = page(await client.get("/"))
    assert html.find("link", rel="manifest")["href"] == "/manifest.webmanifest"  # type: ignore[index]
    assert html.find("link", rel="apple-touch-icon") is not None
    assert html.find("meta", attrs={"name": "apple-mobile-web-app-capable"}) is not None
    viewport = html.find("meta", attrs={"name": "viewport"})
    assert viewport is not None and "width=device-width" in str(viewport["content"])
    # No inline script anywhere (CSP script-src 'self').
    for script in html.find_all("script"):
        assert script.get("src"), "inline script found"


async def test_service_worker_is_served_at_root_scope_uncached(client: httpx.AsyncClient) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["service-worker-allowed"] == "/"
    match = re.search(r"const PRECACHE = (\[.*?\]);", response.text)
    assert match is not None
    precache = json.loads(match.group(1))
    assert "/offline" in precache and "/manifest.webmanifest" in precache
    assert any(url.startswith("/static/vendor/htmx.min.js?v=") for url in precache)
    # Every precached URL must exist, or the worker's install fails.
    for url in precache:
        assert (await client.get(url)).status_code == 200, url


async def test_the_service_worker_gets_its_paths_from_the_routes(client: httpx.AsyncClient) -> None:
    text = (await client.get("/sw.js")).text
    assert 'const OFFLINE_URL = "/offline";' in text
    assert 'const STATIC_PREFIX = "/static/";' in text
    assert 'const SIGN_OUT = ["/signout", "/signout/everywhere"];' in text
    found = re.search(r"const PAGE_IMAGE = new RegExp\((.*)\);", text)
    assert found is not None
    # The route's own pattern, its named groups spelt the JavaScript way.
    pattern = json.loads(found.group(1)).replace("(?<", "(?P<")
    assert re.fullmatch(pattern, "/documents/7/pages/" + "a" * 64 + "/2.webp")
    assert not re.fullmatch(pattern, "/documents/7/files/2")


async def test_htmx_is_served_from_our_origin_with_cache_busting(
    client: httpx.AsyncClient,
) -> None:
    html = page(await client.get("/"))
    sources = [str(s["src"]) for s in html.find_all("script")]
    htmx_src = next(src for src in sources if "htmx" in src)
    assert htmx_src.startswith("/static/vendor/htmx.min.js?v=")
    versioned = await client.get(htmx_src)
    assert versioned.status_code == 200
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["content-type"].startswith("text/javascript")
    assert b"htmx" in versioned.content[:2000]
    stale = await client.get("/static/vendor/htmx.min.js?v=old")
    assert stale.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["/static/nope.js", "/static/../pyproject.toml", "/static/%2e%2e/pyproject.toml"]
)
async def test_only_known_assets_are_served(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_security_headers(client: httpx.AsyncClient) -> None:
    headers = (await client.get("/")).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert "permissions-policy" in headers
    assert "strict-transport-security" not in headers  # plain http in tests


async def test_unknown_page_gets_a_vietnamese_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/khong-co")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in page(response).get_text()


async def test_unknown_api_path_gets_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


async def test_error_for_htmx_request_is_a_fragment(client: httpx.AsyncClient) -> None:
    response = await client.get("/khong-co", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.text
    assert 'role="alert"' in response.text


async def test_text_assets_are_sent_gzipped_to_browsers_that_accept_it(
    client: httpx.AsyncClient,
) -> None:
    html = page(await client.get("/"))
    css = next(str(s["href"]) for s in html.find_all("link") if "app.css" in str(s["href"]))
    plain = await client.get(css, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    zipped = await client.get(css, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    assert zipped.content == plain.content  # httpx decodes it: the same stylesheet
    refused = await client.get(css, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    # Images are already compressed: sent as they are.
    icon = await client.get("/static/icons/icon-192.png", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in icon.headers
