"""Production signing set-up: an agency PKI reached only over HTTP, keys on a PKCS#11 token.

The PKI is a second certomancer PKI served by its own process on a free port (TSA, OCSP, CRLs by
URL). The token is made the way an operator would: `softhsm2-util --init-token`, then
`softhsm2-util --import` for each key and a python-pkcs11 script for each certificate (the
commands `signing.create_softhsm_token` runs, here into one token holding the seal and the
leader's key). The app starts with only `EOFFICE_*` production settings (no dev PKI in its
data dir), the leader signs a draft, the clerk issues it with the seal, and the signatures
validate with the agency roots and not with another (dev) PKI's roots.

SoftHSM reads its token directory when the module is first initialised in a process: these
tests set SOFTHSM2_CONF before any PKCS#11 use, so they run in a pytest process of their own
(`test_production_setup.py` starts it; this file's name keeps the main run from collecting it).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from asn1crypto import pem

from backend.core.clock import FixedClock
from backend.core.settings import Settings, SettingsError
from backend.signing_flow.keyring import KeyringError
from signing import (
    DevPki,
    generate_dev_pki,
    make_seal_png,
    make_signature_png,
    verify_pdf,
    write_softhsm_config,
)
from tests.backend.identity.conftest import browser_like, sign_in_as
from tests.backend.signing_flow.conftest import Leader, make_draft, resources_of
from tests.backend.signing_flow.test_passkey_signing import assertion, confirm, prepare, versions
from tests.support.external_pki import make_external_pki
from tests.support.lifespan import LifespanManager
from tests.support.ports import free_port

pytestmark = pytest.mark.anyio

PIN = "agency-1234"
SO_PIN = "agency-so-5678"
TOKEN = "agency-token"
MODULE = "/usr/lib/softhsm/libsofthsm2.so"
AGENCY = "Ủy ban nhân dân tỉnh Ngoài"


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr or done.stdout


_CERT_IMPORT = """
import sys, pkcs11
from asn1crypto import x509
from pkcs11 import Attribute, CertificateType, ObjectClass
module, token_label, pin, label, key_id, der_path = sys.argv[1:]
der = open(der_path, "rb").read()
cert = x509.Certificate.load(der)
with pkcs11.lib(module).get_token(token_label=token_label).open(rw=True, user_pin=pin) as s:
    s.create_object({Attribute.CLASS: ObjectClass.CERTIFICATE,
                     Attribute.CERTIFICATE_TYPE: CertificateType.X_509, Attribute.TOKEN: True,
                     Attribute.LABEL: label, Attribute.ID: bytes.fromhex(key_id),
                     Attribute.SUBJECT: cert.subject.dump(), Attribute.ISSUER: cert.issuer.dump(),
                     Attribute.VALUE: der})
"""


def operator_token(pki: DevPki, work: Path, *, cert_for: dict[str, str] | None = None) -> None:
    """What an operator runs: one token, the seal key and the leader's key with certificates.

    `cert_for` maps a key label to the certificate label stored with it (to make a mismatch)."""
    run(
        "softhsm2-util",
        "--init-token",
        "--free",
        "--label",
        TOKEN,
        "--pin",
        PIN,
        "--so-pin",
        SO_PIN,
    )
    keys = {"seal": pki.seal_key_path, "leader": pki.user_key_path("leader")}
    certs = {"seal": pki.seal_cert, "leader": pki.user_cert("leader")}
    for number, (label, key_path) in enumerate(keys.items(), start=1):
        key_id = f"{number:02x}"
        run(
            "softhsm2-util",
            "--import",
            str(key_path),
            "--token",
            TOKEN,
            "--pin",
            PIN,
            "--label",
            label,
            "--id",
            key_id,
        )
        der = work / f"{label}.der"
        der.write_bytes(certs[(cert_for or {}).get(label, label)].dump())
        run(sys.executable, "-c", _CERT_IMPORT, MODULE, TOKEN, PIN, label, key_id, str(der))


class External:
    def __init__(self, pki: DevPki, log: Path, directory: Path) -> None:
        self.pki, self.log, self.directory = pki, log, directory

    def requests(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture(scope="module")
def softhsm_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("operator-softhsm")
    conf = write_softhsm_config(directory=home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        yield home


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory, softhsm_home: Path) -> Iterator[External]:
    directory = tmp_path_factory.mktemp("agency-pki")
    port = free_port()
    users = [("leader", "Người leader"), ("clerk", "Người clerk")]
    pki = make_external_pki(directory, port=port, users=users, agency_name=AGENCY)
    operator_token(pki, directory)
    log = directory / "requests.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.external_pki", str(directory), str(port), str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield External(pki, log, directory)
    finally:
        server.terminate()
        server.wait()
        assert server.stdout is not None
        server.stdout.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str, external: External) -> Settings:
    from tests.conftest import make_settings

    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    # The operator's scanned seal and signature images.
    images = tmp_path / "data" / "pki" / "images"
    images.mkdir(parents=True)
    (images / "seal.png").write_bytes(make_seal_png(agency_name=AGENCY))
    (images / "leader.png").write_bytes(make_signature_png(seed=7))
    return make_settings(
        tmp_path,
        database_url,
        redis_url,
        hsm_module=MODULE,
        hsm_token_label=TOKEN,
        hsm_pin_file=str(pin_file),
        trust_roots_file=str(external.directory / "root.pem"),
        ca_certs_file=str(external.directory / "interm.pem"),
        tsa_url=external.pki.tsa_url,
    )


@pytest.fixture
async def app(settings: Settings, clock: FixedClock) -> AsyncIterator[LifespanManager]:
    from backend.web.app import create_app

    async with LifespanManager(create_app(settings, clock=clock)) as manager:
        yield manager


async def test_leader_signs_and_clerk_seals_with_the_agency_pki_over_http(
    app: LifespanManager, leader: Leader, external: External, tmp_path: Path
) -> None:
    res = resources_of(app)
    assert res.signing is not None
    assert not (res.settings.data_dir / "pki" / "certomancer.json").exists()  # no dev PKI
    assert res.signing.services.tsa_url.startswith("http://127.0.0.1:")  # type: ignore[union-attr]
    before = len(external.requests())

    document_id = await make_draft(app, leader.world)
    tx_id = await prepare(leader, document_id)
    done = await confirm(leader, tx_id, await assertion(leader, tx_id))
    assert done.status_code == 200  # type: ignore[attr-defined]
    async with app.client() as http:
        browser_like(http)
        await sign_in_as(app, http, leader.world.user_ids["clerk"])
        issued = await http.post(f"/issue/{document_id}")
        assert issued.status_code == 303, issued.text

    sealed = await res.blobs.get((await versions(app, document_id))[-1].sha256)
    session = res.signing.services.http_session
    report = await verify_pdf(pdf=sealed, trust=res.signing.pki.trust, http_session=session)
    assert report.ok, report.summary_en
    leader_sig, seal = report.signatures
    assert leader_sig.signer_name == "Người leader" and seal.ok
    assert seal.signer_name == external.pki.seal_cert.subject.native["common_name"]

    # The app really talked to the configured services over HTTP.
    seen = external.requests()[before:]
    assert any(r.startswith("POST ") and "/tsa/" in r for r in seen), seen
    assert any(r.startswith("POST ") and "/ocsp/" in r for r in seen), seen
    assert any(r.startswith("GET ") and "/crls/" in r for r in seen), seen

    # Another PKI's roots (a dev PKI) do not accept these signatures.
    other = generate_dev_pki(directory=tmp_path / "dev-pki", users=[("leader", "Người leader")])
    against_dev = await verify_pdf(pdf=sealed, trust=other.trust, http_session=session)
    assert not against_dev.ok
    assert not any(s.ok for s in against_dev.signatures)

    issued_path = tmp_path / "issued.pdf"
    issued_path.write_bytes(sealed)
    nss = tmp_path / "nss"
    nss.mkdir()
    await asyncio.to_thread(run, "certutil", "-N", "-d", f"sql:{nss}", "--empty-password")
    root_pem = pem.armor("CERTIFICATE", external.pki.root_cert.dump())
    (tmp_path / "root.pem").write_bytes(root_pem)
    add_root = ["-A", "-d", f"sql:{nss}", "-n", "agency-root", "-t", "CT,C,C", "-a", "-i"]
    await asyncio.to_thread(run, "certutil", *add_root, str(tmp_path / "root.pem"))
    out = await asyncio.to_thread(
        subprocess.run,
        ["pdfsig", "-nssdir", f"sql:{nss}", str(issued_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    # pdfsig finds both signatures intact and, with the agency root in its NSS db, the issuer
    # known (it still reports "Unknown issue with Certificate" for these certomancer leaves).
    assert out.stdout.count("Signature is Valid") == 2, out.stdout
    assert "issuer is unknown" not in out.stdout, out.stdout


def test_incomplete_production_settings_say_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"EOFFICE_TRUST_ROOTS_FILE.*EOFFICE_TSA_URL"):
        Settings(data_dir=tmp_path, hsm_module=MODULE, hsm_token_label=TOKEN, hsm_pin=PIN)
    with pytest.raises(SettingsError, match="EOFFICE_HSM_PIN_FILE"):
        Settings(
            data_dir=tmp_path,
            hsm_module=MODULE,
            hsm_token_label=TOKEN,
            trust_roots_file="roots.pem",
            tsa_url="http://tsa",
        )


def test_start_up_errors_name_the_wrong_setting(
    settings: Settings, external: External, tmp_path: Path
) -> None:
    from backend.signing_flow.keyring import load_production

    assert load_production(settings).certs.keys() == {"leader"}
    with pytest.raises(KeyringError, match="no such file"):
        load_production(replace(settings, hsm_module=str(tmp_path / "missing.so")))
    with pytest.raises(KeyringError, match="wrong PIN"):
        load_production(replace(settings, hsm_pin_file="", hsm_pin="0000"))
    with pytest.raises(KeyringError, match="no single PKCS#11 token"):
        load_production(replace(settings, hsm_token_label="not-there"))
    # A certificate that does not belong to the key of the same label on the token.
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "leader.pem").write_bytes(pem.armor("CERTIFICATE", external.pki.seal_cert.dump()))
    with pytest.raises(KeyringError, match="does not match the private key 'leader'"):
        load_production(replace(settings, signing_certs_dir=str(certs)))


async def test_an_unreachable_tsa_at_start_is_a_warning_not_a_crash(
    settings: Settings, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    from backend.web.app import create_app

    down = f"http://127.0.0.1:{free_port()}/tsa"
    with caplog.at_level("WARNING", logger="eoffice"):
        async with LifespanManager(create_app(replace(settings, tsa_url=down), clock=clock)) as app:
            res = resources_of(app)
            assert res.signing is not None and res.signing.services.tsa_url == down
    assert any(
        "did not answer at start" in r.getMessage() and down in r.getMessage()
        for r in caplog.records
    )
