"""The demo server carries the MSSP simulator at /mssp-sim: virtual phones for people, the
ETSI TS 102 204 JSON endpoint for the app's own SIM-PKI client (server to server, no CSRF); and
the axis simulator at /axis-sim, whose VXP endpoint the app's own jobs call the same way."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from backend.interchange import connection
from backend.interchange.vxp import VxpClient
from backend.mssp_sim.config import SimConfig
from backend.web.app import create_app
from signing.mss import MssClient
from tests.conftest import make_settings
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio
PHONE = "+84900000001"  # a simulator demo SIM (no dev PKI in this data dir)


@pytest.fixture
async def demo_app(
    tmp_path: Path, sqlite_url: str, redis_url: str
) -> AsyncIterator[LifespanManager]:
    settings = make_settings(tmp_path, sqlite_url, redis_url, demo=True)
    async with LifespanManager(create_app(settings)) as app:
        yield app


async def test_virtual_phone_pages_keep_the_mount_prefix(demo_app: LifespanManager) -> None:
    async with demo_app.client() as http:
        page = await http.get(f"/mssp-sim/phone/{PHONE}")
    assert page.status_code == 200
    html = BeautifulSoup(page.text, "html.parser")
    assert html.find("script")["src"] == "/mssp-sim/phone.js"  # type: ignore[index]
    assert html.find("link", rel="stylesheet")["href"] == "/mssp-sim/phone.css"  # type: ignore[index]


async def test_the_apps_sim_client_signs_through_the_mounted_simulator(
    demo_app: LifespanManager,
) -> None:
    defaults = SimConfig()
    async with demo_app.client() as http:
        client = MssClient(
            "http://localhost:8000/mssp-sim",
            defaults.ap_id,
            defaults.ap_password,
            http_client=http,
            poll_initial_wait=0.05,
            poll_interval=0.05,
            poll_timeout=10,
        )
        certificate = await client.request_certificate(msisdn=PHONE)
        dtbs_hash = hashlib.sha256(b"signed attributes").digest()
        transaction = await client.start_signature(
            msisdn=PHONE,
            certificate_der=certificate,
            dtbs_hash=dtbs_hash,
            display_text="Ký văn bản 15/QĐ-UBND — mã 1462",
        )
        # The person confirms on the virtual phone, with the demo PIN, from the phone's page.
        page = BeautifulSoup((await http.get(f"/mssp-sim/phone/{PHONE}")).text, "html.parser")
        form = page.find("form")
        assert form is not None and str(form["action"]).startswith("/mssp-sim/phone/")
        answered = await http.post(
            str(form["action"]),
            data={"transaction": transaction.mssp_trans_id, "pin": "1234", "action": "confirm"},
            headers={"Origin": "http://localhost:8000", "Sec-Fetch-Site": "same-origin"},
        )
        assert answered.status_code == 303
        signature = await client.await_signature(transaction)
    assert len(signature) == 256  # RSA-2048, checked by the client against the certificate


async def test_the_apps_vxp_client_reaches_the_mounted_axis_simulator(
    demo_app: LifespanManager, tmp_path: Path, sqlite_url: str, redis_url: str
) -> None:
    # As the demo's axis jobs call it: server to server, no Origin. It was refused as a
    # cross-site request (403), and every poll and directory sync of the demo died.
    settings = make_settings(tmp_path, sqlite_url, redis_url, demo=True)
    url, system_id, secret = connection.required(settings)
    assert url.startswith(settings.origin + "/axis-sim/")
    async with VxpClient(
        base_url=url,
        system_id=system_id,
        secret=secret,
        transport=httpx.ASGITransport(app=demo_app.asgi),
    ) as axis:
        assert await axis.received(message_type="edoc") == []


async def test_there_is_no_simulator_outside_demo_mode(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/mssp-sim/phone/{PHONE}")).status_code == 404
