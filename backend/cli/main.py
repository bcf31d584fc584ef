"""The `eoffice` command: serve, migrate, demo data, administrator bootstrap, blob store."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import Router

from backend import organisations
from backend.axis_sim import app as axis_app
from backend.axis_sim import config as axis_config
from backend.cli import signing as signing_cli
from backend.cli.common import in_transaction
from backend.cli.signing import add_commands
from backend.core import db, migrate, schema_version
from backend.core.blob_migration import MigrationSummary, migrate_to_s3
from backend.core.blob_stores import open_blob_store
from backend.core.blobs import BlobError, FileBlobStore
from backend.core.blobs_s3 import S3BlobStore
from backend.core.clock import SystemClock
from backend.core.errors import EofficeError
from backend.core.i18n import Translations
from backend.core.models import Role, User
from backend.core.settings import Settings, SettingsError, load_or_create_secret
from backend.demo import province
from backend.demo.history import DEFAULT_SEED
from backend.documents.workers import PdfWorkers
from backend.identity import tokens, users
from backend.interchange import connection, registration
from backend.mssp_sim import app as mssp_app
from backend.runtime import background
from backend.runtime.assets import Assets
from backend.runtime.resources import open_resources, prepare_shared_secrets
from backend.runtime.simulator import sim_config
from backend.web import routes
from backend.web.app import APP_FACTORY
from backend.web.templating import PWA_LOCALE
from backend.web.urls import paths


async def _migrate(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.create_engine(settings.effective_database_url)
    try:
        await migrate.upgrade(engine)
        print(f"Database at revision {await schema_version.current_revision(engine)}.")
    finally:
        await engine.dispose()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_migrate(settings))
    return 0


async def _revision(settings: Settings, message: str) -> None:
    engine = db.create_engine(settings.effective_database_url)
    try:
        path = await migrate.revision(engine, message)
    finally:
        await engine.dispose()
    print(f"Wrote {path}: read it and complete it before committing.")


def cmd_db_revision(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_revision(settings, args.message))
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    workers = PdfWorkers(1)
    started = time.perf_counter()
    try:
        summary = asyncio.run(
            in_transaction(
                settings,
                lambda s: province.load(
                    s,
                    clock=SystemClock(),
                    blobs=open_blob_store(settings),
                    workers=workers,
                    months=args.months,
                    seed=args.seed,
                ),
            )
        )
        verb = "Loaded" if summary.created else "Demo data already present"
        print(
            f"{verb}: {summary.agencies} agencies, {summary.units} units "
            f"({summary.active_units} active after merges), {summary.users} demo users, "
            f"{summary.documents} documents."
        )
        if summary.created and args.months:
            print(
                f"{args.months} months of history (seed {args.seed}) in "
                f"{time.perf_counter() - started:.1f} s."
            )
        # Once the dev PKI exists (`eoffice pki init` after a first run), a few documents signed
        # by a leader and issued, their signatures valid.
        if args.months and signing_cli.has_dev_pki(settings):
            issued = asyncio.run(signing_cli.issue_demo_documents(settings, workers))
            if issued:
                print(f"{issued} outgoing documents signed by a leader and issued (dev PKI).")
    finally:
        workers.close()
    return 0


# How long an idle HTTP connection is kept open. uvicorn's default (5 s) is shorter than a person's
# pause between clicks and than a load balancer's idle timeout (60 s in nginx's upstream keep-alive
# and in cloud balancers): the server then closes connections the client is about to reuse, and a
# request sent as it closes is lost (connection reset; seen under load by bench/bench_load.py).
# The side that closes first must be the client, so the server waits longer than any of them.
KEEP_ALIVE_SECONDS = 75


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    port = args.port or urlsplit(settings.base_url).port or (443 if settings.is_https else 80)
    if args.workers < 1:
        print("eoffice serve: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.embedded_redis:
        # Each worker would start a redis-server of its own: sessions, live events and job
        # kicks would not be shared, and a person would be signed out at random.
        print(
            "eoffice serve: --workers > 1 cần một Redis dùng chung: đặt EOFFICE_REDIS_URL "
            "(ví dụ redis://127.0.0.1:6379/0).\n"
            "               --workers > 1 needs a shared Redis: set EOFFICE_REDIS_URL "
            "(e.g. redis://127.0.0.1:6379/0); the embedded Redis is for one process.",
            file=sys.stderr,
        )
        return 2
    print(f"eOffice: open {settings.base_url}/ (Ctrl+C to stop)", flush=True)
    if args.workers > 1:
        if not settings.database_url:
            print(
                "eoffice serve: SQLite với nhiều tiến trình: đọc song song được, nhưng mỗi lần "
                "chỉ một tiến trình ghi; dùng PostgreSQL (EOFFICE_DATABASE_URL) khi vận hành "
                "thật.\n"
                "               SQLite with several workers: reads run side by side, writes one "
                "at a time; use PostgreSQL (EOFFICE_DATABASE_URL) in production.",
                file=sys.stderr,
                flush=True,
            )
        # Generated keys are made here, once, before the workers start: workers racing to
        # create them on a fresh data dir could each sign with a key the others do not know.
        prepare_shared_secrets(settings)
        print(f"eOffice: {args.workers} worker processes on port {port}", flush=True)
    # This process becomes uvicorn serving the app factory, so a server process holds only what
    # the app imports, not the whole command line (migrations, the demo generator, PDF
    # writers); with --workers, uvicorn's spawned workers would otherwise re-import this module
    # as their __main__. The PID and the environment stay the same.
    argv = uvicorn_argv(
        host=args.host,
        port=port,
        workers=args.workers,
        log_level=settings.log_level,
        proxy_headers=args.proxy_headers,
    )
    os.execv(sys.executable, argv)  # noqa: S606 (our own interpreter, a fixed argument list)


def uvicorn_argv(
    *, host: str, port: int, workers: int, log_level: str, proxy_headers: bool
) -> list[str]:
    """The command line `eoffice serve` runs as: uvicorn serving `APP_FACTORY`, configured from
    the same environment."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        APP_FACTORY,
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        log_level,
        "--timeout-graceful-shutdown",
        "10",
        "--timeout-keep-alive",
        str(KEEP_ALIVE_SECONDS),
        "--proxy-headers" if proxy_headers else "--no-proxy-headers",
    ]


def cmd_mssp_sim(settings: Settings, args: argparse.Namespace) -> int:
    config = asyncio.run(in_transaction(settings, lambda s: sim_config(settings, s)))
    print(
        f"MSSP simulator: {len(config.identities)} SIMs, PIN {config.pin}; virtual phones at "
        f"http://{args.host}:{args.port}/phone/<+84…>"
    )
    for identity in config.identities:
        print(f"  {identity.msisdn}  {identity.display_name}")
    mssp_app.run(args.host, args.port, config=config, log_level=settings.log_level)
    return 0


def cmd_axis_sim(settings: Settings, args: argparse.Namespace) -> int:
    if args.config:
        try:
            config = axis_config.load_config(Path(args.config))
        except (OSError, ValueError, TypeError) as exc:
            print(f"eoffice axis-sim: {args.config}: {exc}", file=sys.stderr)
            return 2
        where = f"from {args.config}"
    else:
        # Per data directory, like the app's other generated secrets: the demo server reads
        # the same files to talk to this simulator.
        systems = (axis_config.DEMO_SYSTEM_ID, axis_config.DEMO_NEIGHBOUR_SYSTEM_ID)
        secrets = {
            sid: load_or_create_secret(settings.data_dir, f"axis-sim-{sid}") for sid in systems
        }
        agencies = [(code, name, parent) for code, name, _, parent in province.AGENCIES]
        config = axis_config.demo_config(agencies, secrets=secrets)
        where = f"demo, secrets in {settings.data_dir / 'secrets'}/axis-sim-<system id>"
    if args.directory_size is not None:
        config = replace(config, directory_size=args.directory_size)
    print(
        f"Axis simulator (VXP API) at http://{args.host}:{args.port}{config.base_path} ({where}); "
        f"{config.directory_size} generated directory rows"
        + ("; hooks at /_sim/" if config.hooks else ""),
        flush=True,
    )
    for system_id in config.systems:
        codes = ", ".join(config.registered.get(system_id, ())) or "-"
        print(f"  {system_id}: {codes}", flush=True)
    axis_app.run(args.host, args.port, config=config, log_level=settings.log_level)
    return 0


async def _admin_create(settings: Settings, args: argparse.Namespace, s: AsyncSession) -> str:
    clock = SystemClock()
    try:
        agency = await organisations.agency_by_code(s, args.agency)
    except EofficeError:
        if not (args.agency_name and args.agency_short_name):
            raise
        agency = await organisations.create_agency(
            s,
            clock=clock,
            code=args.agency,
            name=args.agency_name,
            short_name=args.agency_short_name,
            place_name=args.agency_place or "",
        )
    user = await users.create_user(
        s,
        clock=clock,
        agency=agency,
        username=args.username,
        full_name=args.name,
        title=args.title,
        roles={Role.ADMIN},
    )
    issued = await users.invite(s, clock=clock, user=user)
    return users.invitation_url(settings.base_url, issued.token)


async def _user_invite(settings: Settings, args: argparse.Namespace, s: AsyncSession) -> str:
    user = await users.user_by_username(s, args.username)
    issued = await users.invite(s, clock=SystemClock(), user=user)
    return users.invitation_url(settings.base_url, issued.token)


def _print_link(link: str) -> None:
    print("Liên kết đăng ký một lần (hết hạn sau 72 giờ) / one-time enrolment link (72 h):")
    print(link)


def cmd_axis_register(settings: Settings, args: argparse.Namespace) -> int:
    """Register the agencies hosted here (or those named) on the axis, under our system id."""
    system_id = connection.required(settings)[1]  # or AxisNotConfiguredError, reported

    async def work(s: AsyncSession) -> list[registration.Outcome]:
        async with connection.client(settings) as axis:
            return await registration.register(
                s,
                clock=SystemClock(),
                axis=axis,
                system_id=system_id,
                agencies=await registration.hosted(s, args.agency or ()),
            )

    outcomes = asyncio.run(in_transaction(settings, work))
    for outcome in outcomes:
        mark = "đã đăng ký / registered" if not outcome.error else f"LỖI / REFUSED: {outcome.error}"
        print(f"{outcome.code:16} {outcome.name} (← {outcome.parent_code}): {mark}")
    return 1 if any(outcome.error for outcome in outcomes) else 0


def cmd_admin_create(settings: Settings, args: argparse.Namespace) -> int:
    _print_link(asyncio.run(in_transaction(settings, lambda s: _admin_create(settings, args, s))))
    return 0


def cmd_user_invite(settings: Settings, args: argparse.Namespace) -> int:
    _print_link(asyncio.run(in_transaction(settings, lambda s: _user_invite(settings, args, s))))
    return 0


def cmd_user_list(settings: Settings, args: argparse.Namespace) -> int:
    async def fetch(s: AsyncSession) -> list[User]:
        return list(await s.scalars(select(User).order_by(User.id)))

    for user in asyncio.run(in_transaction(settings, fetch)):
        roles = ",".join(sorted(r.value for r in user.roles))
        demo_mark = " [demo]" if user.is_demo else ""
        print(f"{user.username:16} {user.full_name} — {user.title} ({roles}){demo_mark}")
    return 0


def cmd_api_key_rotate(settings: Settings, args: argparse.Namespace) -> int:
    kid = tokens.rotate(settings.data_dir)
    print(f"New API signing key {kid}; restart the server to sign with it (old keys still verify).")
    return 0


async def _worker(settings: Settings) -> None:
    """Push sending (relay and worker) and every background job kind, with the server's
    resources, until SIGTERM or SIGINT; any number of these may run beside the app processes."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with (
        open_resources(
            replace(settings, push_worker=True),
            clock=SystemClock(),
            translations=Translations(PWA_LOCALE),
            assets=Assets(),
            urls=paths(Router(routes.build(settings))),
        ) as res,
        background.running(res, grace_seconds=30.0) as runner,
    ):
        print(
            f"eoffice worker {runner.name} running: {', '.join(runner.registry.kinds())}",
            flush=True,
        )
        await stop.wait()


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_url:
        print("eoffice worker needs EOFFICE_REDIS_URL (a Redis the app processes share).")
        return 2
    asyncio.run(_worker(settings))
    return 0


def cmd_blobs_migrate(settings: Settings, args: argparse.Namespace) -> int:
    source = FileBlobStore(settings.data_dir / "blobs")
    # The endpoint and credentials are the blob store settings (EOFFICE_BLOB_ENDPOINT_URL…).
    try:
        target = S3BlobStore.from_settings(settings, url=args.to)
    except ValueError as exc:
        print(f"eoffice: {exc}", file=sys.stderr)
        return 2
    print(f"Copying {source.root} to {target.url}")
    started = time.perf_counter()

    def progress(summary: MigrationSummary, sha256: str, what: str) -> None:
        if what.startswith("failed") or summary.total % args.every == 0:
            print(
                f"  {summary.total} done: {summary.copied} copied, {summary.present} already "
                f"there, {len(summary.failed)} failed ({sha256[:12]}… {what})",
                flush=True,
            )

    try:
        summary = asyncio.run(migrate_to_s3(source, target, progress=progress))
    except BlobError as exc:
        print(f"eoffice: stopped, run again to resume: {exc}", file=sys.stderr)
        return 1
    print(
        f"Done in {time.perf_counter() - started:.1f}s: {summary.total} blobs, "
        f"{summary.copied} copied ({summary.copied_bytes / 1e6:.1f} MB), "
        f"{summary.present} already there, {len(summary.failed)} failed."
    )
    for sha256, why in summary.failed:
        print(f"  failed {sha256}: {why}", file=sys.stderr)
    if not summary.failed and settings.blob_url != args.to:
        print(f"Next: set EOFFICE_BLOB_URL={args.to} and restart.")
    return 1 if summary.failed else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eoffice", description="eOffice — văn phòng điện tử")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, help="default: the port of EOFFICE_BASE_URL")
    serve.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-*")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="app processes on this port (default 1; more than 1 needs EOFFICE_REDIS_URL)",
    )
    serve.set_defaults(func=cmd_serve)

    sim = sub.add_parser("mssp-sim", help="run the SIM-PKI (MSSP) simulator with virtual phones")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8090)
    sim.set_defaults(func=cmd_mssp_sim)

    axis = sub.add_parser(
        "axis-sim", help="run the national document axis simulator (VXP API, with fault hooks)"
    )
    axis.add_argument("--host", default="127.0.0.1")
    axis.add_argument("--port", type=int, default=8091)
    axis.add_argument(
        "--directory-size", type=int, help="generated agencies added to the directory"
    )
    axis.add_argument("--config", help="JSON configuration (default: the demo province)")
    axis.set_defaults(func=cmd_axis_sim)

    axis_cmd = sub.add_parser("axis", help="the national document axis")
    axis_sub = axis_cmd.add_subparsers(dest="axis_command", required=True)
    axis_register = axis_sub.add_parser(
        "register", help="register our agencies on the axis (registerAgency), parents first"
    )
    axis_register.add_argument(
        "--agency", action="append", help="only this agency (mã định danh); may be repeated"
    )
    axis_register.set_defaults(func=cmd_axis_register)

    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )
    db_parser = sub.add_parser("db", help="schema development")
    db_sub = db_parser.add_subparsers(dest="db_command", required=True)
    revision = db_sub.add_parser(
        "revision", help="write the next migration, autogenerated against a database at head"
    )
    revision.add_argument("-m", "--message", required=True, help="what it changes, e.g. 'jobs'")
    revision.set_defaults(func=cmd_db_revision)
    demo = sub.add_parser("demo", help="load the demo province (idempotent)")
    demo.add_argument(
        "--months",
        type=int,
        default=6,
        help="months of the office's work before today (default 6; 0: users and five documents)",
    )
    demo.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="the history's random seed (default fixed)"
    )
    demo.set_defaults(func=cmd_demo)
    sub.add_parser(
        "worker", help="send push notices and run background jobs (SIM polls, sweeps, reminders…)"
    ).set_defaults(func=cmd_worker)

    admin = sub.add_parser("admin", help="administrator bootstrap")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_sub.add_parser("create", help="create an administrator and print an invite")
    create.add_argument("--username", required=True)
    create.add_argument("--name", required=True, help="full name, e.g. 'Nguyễn Văn A'")
    create.add_argument("--title", default="Quản trị hệ thống")
    create.add_argument("--agency", required=True, help="agency code (mã định danh)")
    create.add_argument("--agency-name", help="create the agency with this name if missing")
    create.add_argument("--agency-short-name", help="short name for a new agency, e.g. UBND")
    create.add_argument(
        "--agency-place", help="place name (địa danh) of its date lines, e.g. Hà Nội"
    )
    create.set_defaults(func=cmd_admin_create)

    add_commands(sub)

    user = sub.add_parser("user", help="people")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    invite = user_sub.add_parser("invite", help="print a new one-time enrolment link")
    invite.add_argument("username")
    invite.set_defaults(func=cmd_user_invite)
    user_sub.add_parser("list", help="list users").set_defaults(func=cmd_user_list)

    api_key = sub.add_parser("api-key", help="keys that sign API tokens")
    api_key_sub = api_key.add_subparsers(dest="api_key_command", required=True)
    api_key_sub.add_parser("rotate", help="add a new ES256 signing key").set_defaults(
        func=cmd_api_key_rotate
    )

    blobs = sub.add_parser("blobs", help="the blob store (uploaded and signed files)")
    blobs_sub = blobs.add_subparsers(dest="blobs_command", required=True)
    blobs_migrate = blobs_sub.add_parser(
        "migrate",
        help="copy the file blob store in the data dir to S3 (resumable; each copy verified); "
        "endpoint and keys from EOFFICE_BLOB_ENDPOINT_URL, _ACCESS_KEY, _SECRET_KEY, _REGION",
    )
    blobs_migrate.add_argument("--to", required=True, metavar="s3://BUCKET/PREFIX")
    blobs_migrate.add_argument(
        "--every", type=int, default=100, metavar="N", help="print progress every N blobs"
    )
    blobs_migrate.set_defaults(func=cmd_blobs_migrate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        result: int = args.func(settings, args)
    except SettingsError as exc:
        print(f"eoffice: configuration error: {exc}", file=sys.stderr)
        return 2
    except EofficeError as exc:
        print(f"eoffice: {exc.message_vi}\n         {exc.message_en}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
