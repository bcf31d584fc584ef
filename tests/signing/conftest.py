"""Fixtures for the signing library: a real certomancer dev PKI generated per session, its
services served in-process, and real SoftHSM2 tokens created by code."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from signing import (
    DevPki,
    SigningServices,
    create_softhsm_token,
    generate_dev_pki,
    serve_dev_services,
    write_softhsm_config,
)

LEADER = "lanhdao1"
CLERK = "vanthu1"
REVOKED = "bi-thu-hoi"
TOKEN = "eoffice-test"
PIN = "1234"
KEY_LABEL = "lanhdao1-key"
KEY_ID = b"\x01\x02"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return generate_dev_pki(
        directory=tmp_path_factory.mktemp("devpki"),
        users=[(LEADER, "Nguyễn Văn An"), (CLERK, "Trần Thị Bình"), (REVOKED, "Lê Văn Cũ")],
        agency_name="Ủy ban nhân dân tỉnh Mẫu",
        revoked_users=[REVOKED],
    )


@pytest.fixture
async def services(pki: DevPki) -> AsyncIterator[SigningServices]:
    async with serve_dev_services(pki=pki) as svc:
        yield svc


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory, pki: DevPki) -> Iterator[str]:
    """A SoftHSM2 token holding the leader's key and certificate; yields the token label.

    SOFTHSM2_CONF is set before any PKCS#11 module is loaded in this process (a loaded module does
    not see tokens created later), and restored afterwards.
    """
    conf = write_softhsm_config(directory=tmp_path_factory.mktemp("softhsm"))
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        create_softhsm_token(
            token_label=TOKEN,
            pin=PIN,
            so_pin="5678",
            key_pem=pki.user_key_path(LEADER).read_bytes(),
            certificate=pki.user_cert(LEADER),
            key_label=KEY_LABEL,
            key_id=KEY_ID,
        )
        yield TOKEN
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture(scope="session")
def sample_pdf() -> bytes:
    from signing import make_sample_pdf

    return make_sample_pdf(pages=2)
