"""`eoffice pki init`, `eoffice pdf sign`, `eoffice pdf verify` (dev keys; real trust roots by
configuration)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
from datetime import timedelta
from pathlib import Path

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cli.common import in_transaction
from backend.core import db
from backend.core.blob_stores import open_blob_store
from backend.core.clock import SystemClock
from backend.core.models import Agency, Role, User
from backend.core.settings import Settings
from backend.demo import issued
from backend.documents.workers import PdfWorkers
from backend.signing_flow import archive, keyring
from backend.signing_flow.setup import Pkcs11Keys, SigningSetup
from backend.signing_flow.tables import SigningGrant
from signing import (
    SEAL_FIELD,
    AgencySealAppearance,
    LeaderAppearance,
    PadesLevel,
    SigningError,
    VerificationReport,
    serve_dev_services,
    sign_pdf,
    verify_pdf,
)
from signing.decree30 import has_field
from signing.textpos import find_signer_block


async def _people(session: AsyncSession) -> tuple[list[keyring.Person], str]:
    # Server-held keys for leaders and for whoever holds a signing grant (an office chief
    # signing "TL.", a unit head "TUQ.").
    granted = set(await session.scalars(select(SigningGrant.user_id)))
    people = [
        keyring.Person(
            u.username, u.full_name, holds_server_key=Role.LEADER in u.roles or u.id in granted
        )
        for u in await session.scalars(select(User).order_by(User.id))
    ]
    # Our own top agency: the directory's agencies (hosted=False) share the table.
    ours = select(Agency).where(Agency.parent_id.is_(None), Agency.hosted.is_(True))
    top = await session.scalar(ours.order_by(Agency.id))
    return people, top.name if top else "Cơ quan (dev)"


def cmd_pki_init(settings: Settings, args: argparse.Namespace) -> int:
    people, agency_name = asyncio.run(in_transaction(settings, _people))
    pki = keyring.init(settings, people=people, agency_name=agency_name)
    print(f"Dev PKI in {pki.directory}: root {pki.root_cert.subject.human_friendly}")
    signers = sum(p.holds_server_key for p in people)
    print(
        f"{len(people)} signing certificates; server-held keys for {signers} signers (leaders "
        "and holders of a signing grant) and the agency seal (SoftHSM2)."
    )
    return 0


LEVELS = {level.value: level for level in PadesLevel}


def has_dev_pki(settings: Settings) -> bool:
    return (keyring.pki_dir(settings) / "certomancer.json").exists() and not (
        settings.production_signing
    )


async def issue_demo_documents(settings: Settings, workers: PdfWorkers) -> int:
    """The demo's few signed and issued documents (backend.demo.issued), with the dev PKI's
    keys and services, once."""
    pki = keyring.load(settings)
    async with serve_dev_services(pki=pki) as services:
        setup = SigningSetup(
            settings=settings,
            services=services,
            pki=pki,
            keys=Pkcs11Keys(settings),
            workers=workers,
        )
        return await in_transaction(
            settings,
            lambda s: issued.sign_and_issue(
                s,
                clock=SystemClock(),
                blobs=open_blob_store(settings),
                workers=workers,
                setup=setup,
            ),
        )


async def _sign(settings: Settings, args: argparse.Namespace, pdf: bytes) -> bytes:
    pki = keyring.load(settings)
    # The same places as the app: the leader's signature in the signer block of the last page,
    # the seal over its left third (or the draft's own seal field, which keeps its box).
    page, leader_box, seal_box = find_signer_block(pdf)
    appearance: LeaderAppearance | AgencySealAppearance
    field_name = None
    if args.seal:
        username, cert = keyring.SEAL, pki.seal_cert
        appearance = AgencySealAppearance(
            seal_image=keyring.signature_image(settings, keyring.SEAL),
            agency_name=_common_name(cert),
            page=page,
            box=seal_box,
        )
        if has_field(pdf=pdf, name=SEAL_FIELD):
            field_name = SEAL_FIELD
    else:
        username, cert = args.as_user, pki.user_cert(args.as_user)
        appearance = LeaderAppearance(
            signature_image=keyring.signature_image(settings, username),
            page=page,
            box=leader_box,
        )
    async with serve_dev_services(pki=pki) as services:
        signed = await sign_pdf(
            pdf=pdf,
            key=keyring.server_key(settings, username),
            signer_cert=cert,
            chain=pki.chain,
            services=services,
            appearance=appearance,
            level=LEVELS[args.level],
            field_name=field_name,
        )
    return signed


def _common_name(cert: x509.Certificate) -> str:
    name = cert.subject.native.get("common_name", "")
    return str(name[0] if isinstance(name, list) else name)


def cmd_pdf_sign(settings: Settings, args: argparse.Namespace) -> int:
    try:
        signed = asyncio.run(_sign(settings, args, Path(args.input).read_bytes()))
        Path(args.output).write_bytes(signed)
    except (OSError, keyring.KeyringError) as exc:
        print(f"eoffice: {exc}")
        return 2
    except SigningError as exc:
        print(f"eoffice: {exc.message_vi}\n         {exc.message_en}")
        return 1
    print(f"Signed {args.input} → {args.output} ({LEVELS[args.level].value}, {len(signed)} bytes)")
    return 0


async def _verify(settings: Settings, pdf: bytes) -> VerificationReport:
    pki = keyring.load(settings)
    async with serve_dev_services(pki=pki) as services:
        return await verify_pdf(pdf=pdf, trust=pki.trust, http_session=services.http_session)


VERDICT_WORDS = {
    "valid": "hợp lệ / valid",
    "invalid": "KHÔNG hợp lệ / INVALID",
    "indeterminate": "chưa xác định / INDETERMINATE",
}


def cmd_pdf_verify(settings: Settings, args: argparse.Namespace) -> int:
    # pyHanko logs every failed path and revocation check with a traceback; the report below
    # says what matters, in words.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        report = asyncio.run(_verify(settings, Path(args.file).read_bytes()))
    except (OSError, keyring.KeyringError) as exc:
        print(f"eoffice: {exc}")
        return 2
    except SigningError as exc:
        print(f"eoffice: {exc.message_vi}\n         {exc.message_en}")
        return 2
    if args.json:
        print(json.dumps(dataclasses.asdict(report), default=str, ensure_ascii=False, indent=2))
    else:
        print(report.summary_vi)
        print(report.summary_en)
        for sig in report.signatures:
            when = sig.timestamp_time or sig.signing_time
            print(
                f"- {sig.field_name}: {sig.signer_name} — {VERDICT_WORDS[sig.verdict]}; "
                f"{sig.pades_level}; {when.isoformat() if when else '-'}"
            )
            print(f"    {sig.summary_vi}")
            print(f"    {sig.summary_en}")
    return 0 if report.ok else 1


async def _renew(settings: Settings, margin_days: int) -> int:
    pki = keyring.load(settings)
    engine = db.create_engine(settings.effective_database_url)
    total = 0
    try:
        async with serve_dev_services(pki=pki) as services:
            while True:
                done = await archive.renew_due(
                    db.sessionmaker(engine),
                    blobs=open_blob_store(settings),
                    services=services,
                    clock=SystemClock(),
                    margin=timedelta(days=margin_days),
                )
                total += done
                if done == 0:
                    return total
    finally:
        await engine.dispose()


def cmd_archive_renew(settings: Settings, args: argparse.Namespace) -> int:
    margin = (
        args.margin_days if args.margin_days is not None else settings.archive_renew_margin_days
    )
    renewed = asyncio.run(_renew(settings, margin))
    print(f"Đã gia hạn dấu thời gian lưu trữ cho {renewed} tệp. / {renewed} file(s) renewed.")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pki = sub.add_parser("pki", help="development PKI and signing keys")
    pki_sub = pki.add_subparsers(dest="pki_command", required=True)
    pki_sub.add_parser(
        "init", help="create the dev PKI, SoftHSM tokens and signature images"
    ).set_defaults(func=cmd_pki_init)

    pdf = sub.add_parser("pdf", help="sign or verify a PDF")
    pdf_sub = pdf.add_subparsers(dest="pdf_command", required=True)
    sign = pdf_sub.add_parser("sign", help="sign with a dev key (PAdES)")
    sign.add_argument("input")
    sign.add_argument("output")
    sign.add_argument("--level", choices=sorted(LEVELS), default=PadesLevel.B_LT.value)
    who = sign.add_mutually_exclusive_group(required=True)
    who.add_argument("--as", dest="as_user", metavar="USER", help="a leader's username")
    who.add_argument("--seal", action="store_true", help="the agency seal")
    sign.set_defaults(func=cmd_pdf_sign)
    verify = pdf_sub.add_parser("verify", help="verify every signature; exit 1 if any fails")
    verify.add_argument("file")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_pdf_verify)

    archive = sub.add_parser("archive", help="long-term archiving of issued documents")
    archive_sub = archive.add_subparsers(dest="archive_command", required=True)
    renew = archive_sub.add_parser(
        "renew", help="add archival timestamps to issued files whose newest one ends soon"
    )
    renew.add_argument("--margin-days", type=int, help="default: EOFFICE_ARCHIVE_RENEW_MARGIN_DAYS")
    renew.set_defaults(func=cmd_archive_renew)
