"""The demo's few documents signed by a leader and issued: real signatures that verify, numbers
that continue the register."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from backend.core import db
from backend.core.blobs import FileBlobStore
from backend.core.clock import SystemClock
from backend.core.settings import Settings
from backend.demo import issued, province
from backend.documents.tables import Document
from backend.documents.workers import PdfWorkers
from backend.signing_flow import keyring
from backend.signing_flow.setup import SigningSetup
from signing import InMemoryKey, KeyProvider, serve_dev_services

pytestmark = pytest.mark.anyio


class _Keys:
    # In memory: the PKCS#11 module loads once per process and the signing library's tests own it.
    def __init__(self, pki: keyring.DevPki) -> None:
        self.pki = pki

    def key(self, username: str) -> KeyProvider:
        if username == keyring.SEAL:
            return InMemoryKey(self.pki.seal_key)
        return InMemoryKey(self.pki.user_key(username))


async def test_the_demo_signs_and_issues_a_few_documents_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=sqlite_url)
    people = [keyring.Person(u.username, u.full_name, holds_server_key=False)
              for u in province.DEMO_USERS]  # fmt: skip
    pki = keyring.init(settings, people=people, agency_name="UBND tỉnh Sông Hồng (DEMO)")
    engine = db.create_engine(sqlite_url)
    workers = PdfWorkers(1)
    blobs = FileBlobStore(tmp_path / "blobs")
    clock = SystemClock()
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            await province.load(s, clock=clock)
        async with serve_dev_services(pki=pki) as services:
            setup = SigningSetup(settings=settings, services=services, pki=pki, keys=_Keys(pki))
            for expected in (len(issued.SIGNED), 0):  # once
                async with db.sessionmaker(engine)() as s, s.begin():
                    made = await issued.sign_and_issue(
                        s, clock=clock, blobs=blobs, workers=workers, setup=setup
                    )
                assert made == expected
        async with db.sessionmaker(engine)() as s:
            documents = list(await s.scalars(select(Document).order_by(Document.id)))
        assert [(d.status, d.register_number, d.signature_check["status"]) for d in documents] == [
            ("issued", n, "valid") for n in range(1, len(issued.SIGNED) + 1)
        ]
        assert documents[0].number_symbol == "01/QĐ-UBND"
    finally:
        workers.close()
        await engine.dispose()
