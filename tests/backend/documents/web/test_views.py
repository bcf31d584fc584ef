"""The documents pages and JSON API over HTTP, signed in as the people who use them."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from backend.core.models import Agency
from backend.core.settings import Settings
from backend.documents.tables import Document
from backend.identity import tokens
from backend.web.routes import build
from tests.backend.documents import corpus
from tests.backend.identity.conftest import World, resources_of, sign_in_as
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio

FIELDS = {
    "type_code": "QD",
    "number_symbol": "15/QĐ-UBND",
    "issue_date": "2026-02-27",
    "issuer_name": "Ủy ban nhân dân tỉnh Đồng Nai",
    "issuer_code": "000.00.00.H39",
    "subject": "Quyết định phê duyệt Kế hoạch chuyển đổi số năm 2026",
    "urgency": "3",
    "source": "truc-lien-thong",
}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def html(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


async def register(
    client: httpx.AsyncClient,
    fields: dict[str, str],
    files: list[tuple[str, tuple[str, bytes, str]]],
) -> httpx.Response:
    return await client.post("/documents", data=fields, files=files)


async def count_documents(app: LifespanManager) -> int:
    async with resources_of(app).sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(Document)) or 0)


async def test_clerk_registers_leader_finds_without_diacritics_and_reads(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_as(app, client, world.user_ids["clerk"])
    form = await client.get("/documents/new")
    assert form.status_code == 200
    assert html(form).find("input", attrs={"name": "scan", "capture": "environment"}) is not None
    pdf = corpus.pdf(pages=2)
    created = await register(client, FIELDS, [("pdf", ("qd15.pdf", pdf, "application/pdf"))])
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    page = html(await client.get(location))
    assert "Đã vào sổ văn bản đến, số đến 1." in page.get_text()
    assert page.select_one(".dochead__number").get_text(strip=True) == "Quyết định 15/QĐ-UBND"
    images = [img["src"] for img in page.select(".page img")]
    assert len(images) == 2

    client.cookies.clear()
    await sign_in_as(app, client, world.user_ids["leader"])
    listing = html(await client.get("/documents?inbox=cho-phan-cong"))
    assert [a.get_text(" ", strip=True)[:40] for a in listing.select(".docitem__subject")] == [
        "Quyết định phê duyệt Kế hoạch chuyển đổi"
    ]
    for query in ("quyet dinh chuyen doi so", "dong nai", "15/QĐ"):
        found = html(await client.get("/documents/search", params={"q": query}))
        assert len(found.select(".docitem")) == 1, query
    none = html(await client.get("/documents/search", params={"q": "bao cao tai chinh"}))
    assert "Không có văn bản nào khớp" in none.get_text()

    image = await client.get(str(images[1]))
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    assert "immutable" in image.headers["cache-control"]
    base = str(images[1]).split("?")[0]
    assert (await client.get(base.replace("/2.webp", "/3.webp") + "?w=640")).status_code == 404
    assert (await client.get(base + "?w=333")).status_code == 404

    download = html(await client.get(location)).select_one(".files a")
    original = await client.get(str(download["href"]))
    assert original.content == pdf
    assert "attachment" in original.headers["content-disposition"]


async def test_three_photos_make_one_three_page_document(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_as(app, client, world.user_ids["clerk"])
    photos = [
        ("scan", ("IMG_0001.jpg", corpus.photo("1"), "image/jpeg")),
        ("scan", ("IMG_0002.heic", corpus.photo("2", "HEIF"), "image/heic")),
        ("scan", ("IMG_0003.png", corpus.photo("3", "PNG"), "image/png")),
    ]
    created = await register(client, {**FIELDS, "source": "scan"}, photos)
    assert created.status_code == 303, created.text
    page = html(await client.get(created.headers["location"]))
    assert len(page.select(".page img")) == 3
    kinds = [li.get_text(" ", strip=True) for li in page.select(".files li")]
    assert len(kinds) == 4 and sum("Ảnh quét gốc" in k for k in kinds) == 3


@pytest.mark.parametrize(
    ("fields", "files", "message"),
    [
        ({}, [("pdf", ("x.pdf", corpus.not_a_pdf(), "application/pdf"))], "không phải là tệp PDF"),
        ({}, [("pdf", ("x.pdf", corpus.encrypted(), "application/pdf"))], "mật khẩu"),
        ({}, [("scan", ("x.jpg", b"not an image", "image/jpeg"))], "không phải ảnh hợp lệ"),
        (
            {"confidentiality": "Tối mật"},
            [("pdf", ("x.pdf", corpus.pdf(), "application/pdf"))],
            "kênh văn bản mật",
        ),
        (
            {"subject": "", "type_code": ""},
            [("pdf", ("x.pdf", corpus.pdf(), "application/pdf"))],
            "trích yếu quá ngắn",
        ),
        ({}, [], "Chưa có tệp văn bản"),
    ],
    ids=["not-pdf", "encrypted", "not-image", "secret", "missing-fields", "no-file"],
)
async def test_bad_input_is_refused_in_vietnamese_and_nothing_is_stored(
    app: LifespanManager,
    client: httpx.AsyncClient,
    world: World,
    fields: dict[str, str],
    files: list[tuple[str, tuple[str, bytes, str]]],
    message: str,
) -> None:
    await sign_in_as(app, client, world.user_ids["clerk"])
    response = await register(client, {**FIELDS, **fields}, files)
    assert response.status_code == 422
    assert message in html(response).select_one('[role="alert"]').get_text()
    # What the clerk typed is kept for the second attempt (not for a secret document: its
    # details are not echoed back either).
    if fields.get("subject") != "" and "confidentiality" not in fields:
        assert (
            html(response).find("textarea", attrs={"name": "subject"}).get_text()
            == FIELDS["subject"]
        )
    assert await count_documents(app) == 0


async def test_duplicates_are_offered_and_linked(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_as(app, client, world.user_ids["clerk"])
    first = await register(client, FIELDS, [("pdf", ("a.pdf", corpus.pdf(), "application/pdf"))])
    original_id = int(first.headers["location"].split("/")[2].split("?")[0])
    check = await client.get("/documents/duplicate", params={**FIELDS, "source": "buu-dien"})
    offer = html(check).find("input", attrs={"name": "link_to"})
    assert offer is not None and offer["value"] == str(original_id)

    paper = [("scan", ("giay.jpg", corpus.photo("x"), "image/jpeg"))]
    refused = await register(client, {**FIELDS, "source": "buu-dien"}, paper)
    assert refused.status_code == 409
    assert "đã được vào sổ với số đến 1" in refused.text
    assert html(refused).find("input", attrs={"name": "link_to", "value": str(original_id)})
    linked = await register(
        client, {**FIELDS, "source": "buu-dien", "link_to": str(original_id)}, paper
    )
    assert linked.status_code == 303
    copy = html(await client.get(linked.headers["location"]))
    assert "Đây là bản sao/bản giấy" in copy.get_text()
    assert "Số đến 1" in copy.select_one(".dochead").get_text()
    assert await count_documents(app) == 2


async def test_printable_register(
    app: LifespanManager, client: httpx.AsyncClient, world: World, tmp_path: Path
) -> None:
    await sign_in_as(app, client, world.user_ids["clerk"])
    await register(client, FIELDS, [("pdf", ("a.pdf", corpus.pdf(), "application/pdf"))])
    client.cookies.clear()
    await sign_in_as(app, client, world.user_ids["leader"])
    response = await client.get("/registers/incoming.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    (tmp_path / "register.pdf").write_bytes(response.content)
    result = await asyncio.to_thread(
        subprocess.run,
        ["pdftotext", "-layout", str(tmp_path / "register.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = result.stdout
    assert "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN" in text
    assert "15/QĐ-UBND" in text and "Quyết định — Quyết định phê duyệt" in text
    bad = await client.get(
        "/registers/incoming.pdf", params={"from": "2026-05-01", "to": "2026-01-01"}
    )
    assert bad.status_code == 422


async def api_token(app: LifespanManager, world: World, scopes: list[str]) -> str:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        agency = await db.get_one(Agency, world.agency_id)
        account = await tokens.create_service_account(
            db,
            clock=res.clock,
            agency=agency,
            name=f"LGSP {scopes}",
            actor_id=world.user_ids["admin"],
        )
        issued = await tokens.issue(
            db,
            clock=res.clock,
            keyring=res.api_keys,
            issuer=res.settings.origin,
            account=account,
            scopes=scopes,
            days=30,
            actor_id=world.user_ids["admin"],
        )
    return issued.token


async def test_json_api_registers_lists_reads_and_downloads(
    app: LifespanManager, world: World
) -> None:
    writer = await api_token(app, world, ["documents:write", "documents:read"])
    reader = await api_token(app, world, ["documents:read"])
    pdf = corpus.pdf(pages=1)
    async with app.client() as http:
        auth = {"Authorization": f"Bearer {writer}"}
        created = await http.post(
            "/api/v1/documents",
            data=FIELDS,
            files=[("pdf", ("a.pdf", pdf, "application/pdf"))],
            headers=auth,
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["register"] == {"year": body["register"]["year"], "number": 1, "series": "den"}
        again = await http.post(
            "/api/v1/documents",
            data=FIELDS,
            files=[("pdf", ("a.pdf", pdf, "application/pdf"))],
            headers=auth,
        )
        assert again.status_code == 409 and again.json()["error"]["original"] == body["id"]
        invalid = await http.post("/api/v1/documents", data={"subject": "x"}, headers=auth)
        assert invalid.status_code == 422 and "type_code" in invalid.json()["error"]["fields"]

        read = {"Authorization": f"Bearer {reader}"}
        assert (await http.post("/api/v1/documents", data=FIELDS, headers=read)).status_code == 403
        listing = (await http.get("/api/v1/documents", headers=read)).json()
        assert [d["id"] for d in listing["items"]] == [body["id"]]
        found = (
            await http.get("/api/v1/documents", params={"q": "chuyen doi so"}, headers=read)
        ).json()
        assert [d["number_symbol"] for d in found["items"]] == ["15/QĐ-UBND"]
        one = (await http.get(f"/api/v1/documents/{body['id']}", headers=read)).json()
        download = one["files"][0]["versions"][0]["download"]
        assert (await http.get(download, headers=read)).content == pdf
        register = (await http.get("/api/v1/registers/incoming", headers=read)).json()
        assert [e["register"]["number"] for e in register["entries"]] == [1]
        assert (await http.get("/api/v1/documents/99999", headers=read)).status_code == 404


async def test_openapi_describes_every_api_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routes = {
        (r.path.replace(":int", ""), method)
        for r in build(Settings())
        if getattr(r, "path", "").startswith("/api/v1/") and r.path != "/api/v1/openapi.json"
        for method in (r.methods or set()) - {"HEAD"}
    }
    assert routes == documented
