"""The reader says what a check found: an issued document whose number was changed after the
seal, registered as incoming by another agency's clerk, shows the seal as not valid and why."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from backend.core.settings import Settings
from signing import (
    InMemoryKey,
    LeaderAppearance,
    PadesLevel,
    add_issuing_fields,
    finish_signature,
    generate_dev_pki,
    make_sample_pdf,
    make_seal_png,
    make_signature_png,
    prepare_seal_signature,
    serve_dev_services,
    sign_pdf,
)
from signing.textpos import find_positions
from tests.backend.documents.web.test_views import FIELDS, register
from tests.backend.identity.conftest import World, sign_in_as
from tests.conftest import make_settings, run_async
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def forged(tmp_path: Path) -> tuple[bytes, Path]:
    """An issued UBND decision (leader, number, date, seal at B-LTA), then "999" typed over its
    number in an incremental update; and the PEM of its root."""
    pki = generate_dev_pki(directory=tmp_path / "other-pki", users=[("ct", "Nguyễn Văn An")])

    async def make() -> bytes:
        sample = make_sample_pdf(pages=1)
        found = find_positions(sample)
        draft = add_issuing_fields(
            pdf=sample,
            number_box=found.number_box,
            date_box=found.date_box,
            seal_page=found.sign_page,
            seal_box=found.seal_box,
            text_size=found.text_size,
            number_with_symbol=found.number_full,
            date_with_place=found.date_with_place,
        )
        async with serve_dev_services(pki=pki) as services:
            leader = await sign_pdf(
                pdf=draft,
                key=InMemoryKey(pki.user_key("ct")),
                signer_cert=pki.user_cert("ct"),
                chain=pki.chain,
                services=services,
                certify=True,
                appearance=LeaderAppearance(
                    signature_image=make_signature_png(), page=found.sign_page, box=found.leader_box
                ),
            )
            prepared = await prepare_seal_signature(
                pdf=leader,
                seal_cert=pki.seal_cert,
                chain=pki.chain,
                seal_image=make_seal_png(agency_name="UBND tỉnh Mẫu"),
                agency_name="UBND tỉnh Mẫu",
                level=PadesLevel.B_LTA,
                number=15,
                symbol="QĐ-UBND",
                issue_date=date(2026, 2, 27),
                place="Tây Ninh",
            )
            value = await InMemoryKey(pki.seal_key).sign(dtbs=prepared.dtbs)
            return await finish_signature(
                state=prepared.state, signature_value=value, services=services
            )

    issued = run_async(make())
    writer = IncrementalPdfFileWriter(io.BytesIO(issued))
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if str(field.get("/T")) == "so_van_ban":
            assert str(field["/V"]) == "15/QĐ-UBND"
            field[pdf_name("/V")] = pdf_string("999/QĐ-UBND")
            writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), tmp_path / "other-pki" / "root.cert.pem"


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, redis_url: str, forged: tuple[bytes, Path]
) -> Settings:
    return make_settings(tmp_path, database_url, redis_url, trust_roots_file=str(forged[1]))


async def test_the_reader_says_the_number_was_changed_after_issuance(
    app: LifespanManager, client: httpx.AsyncClient, world: World, forged: tuple[bytes, Path]
) -> None:
    await sign_in_as(app, client, world.user_ids["clerk"])
    created = await register(client, FIELDS, [("pdf", ("qd15.pdf", forged[0], "application/pdf"))])
    assert created.status_code == 303, created.text
    page = BeautifulSoup((await client.get(created.headers["location"])).text, "html.parser")
    check = page.select_one(".sigcheck")
    assert check is not None and "sigcheck--invalid" in check["class"]
    text = check.get_text(" ", strip=True)
    assert "Đã kiểm tra: KHÔNG hợp lệ" in text
    assert "số văn bản đã bị sửa sau khi ban hành" in text
    assert "Nguyễn Văn An" in text  # the leader's own signature is still listed, valid
