"""Everything the lifespan owns, built once per process and handed to handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.core import db, schema_version
from backend.core.blob_stores import open_blob_store
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.embedded_redis import EmbeddedRedis
from backend.core.events import Bus
from backend.core.i18n import Translations
from backend.core.settings import Settings
from backend.core.urls import UrlFor
from backend.documents.pages import PageRenderer
from backend.documents.verification import SignatureChecker, load_trust
from backend.documents.workers import PdfWorkers
from backend.identity.tokens import KeyRing, load_keyring
from backend.interchange.xmlsig import PacketSeal
from backend.push.runtime import PushRuntime
from backend.push.vapid import load_or_create
from backend.push.worker import Policy
from backend.runtime import shared_secrets, subscribers
from backend.runtime.assets import Assets
from backend.signing_flow import keyring
from backend.signing_flow.setup import KeySource, Pkcs11Keys, ProductionKeys, SigningSetup
from signing import SigningServices, serve_dev_services

log = logging.getLogger("eoffice")

# Connections one process may hold to Redis. Every open page holds one for its `/live` stream
# (a pub/sub subscription) as long as it is open, and the rest of the app shares what is left:
# redis-py's default (100 since redis-py 6) let 100 open tabs take them all, and every request
# then failed on its session lookup (503), seen by bench/bench_load.py with 200 sessions. The
# server's own `maxclients` (default 10,000) is the limit to size (docs/deploy.md).
REDIS_MAX_CONNECTIONS = 10_000


def redis_client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url, decode_responses=False, max_connections=REDIS_MAX_CONNECTIONS
    )


class NotMigratedError(Exception):
    pass


@dataclass(frozen=True)
class Resources:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    blobs: BlobStore
    translations: Translations
    assets: Assets
    # ES256 keys that sign API tokens (generated into the data dir).
    api_keys: KeyRing
    # PDF work off the event loop, and page images rendered once per rendition.
    pdf_workers: PdfWorkers
    pages: PageRenderer
    # Checks the signatures of incoming PDFs against the configured trust roots.
    signature_checker: SignatureChecker
    # Web Push: VAPID keys, outbox relay and (in-process by default) the sending worker.
    push: PushRuntime
    # After-commit effects of domain events (backend.runtime.subscribers).
    bus: Bus
    # Leaders' and the agency's signing (None until a PKI exists: `eoffice pki init`).
    signing: SigningSetup | None = None

    @property
    def packet_seal(self) -> PacketSeal | None:
        """What our axis packets are signed with (backend.interchange.context)."""
        return self.signing.packet_seal() if self.signing is not None else None


def prepare_shared_secrets(settings: Settings) -> None:
    """Create the generated keys every process of this data dir signs with (API tokens, VAPID),
    if they are missing. Called once before several worker processes start; each process then
    only reads them. Other machines need a copy of `<data dir>/secrets/` (docs/deploy.md)."""
    load_keyring(settings.data_dir)
    load_or_create(settings.data_dir, contact=settings.vapid_contact)


@contextlib.asynccontextmanager
async def open_resources(
    settings: Settings,
    *,
    clock: Clock,
    translations: Translations,
    assets: Assets,
    urls: UrlFor,
    signing_keys: KeySource | None = None,
) -> AsyncIterator[Resources]:
    """Everything the process needs, opened in order and closed in reverse; `urls` makes the
    app's paths from route names (push notices name the page they open)."""
    async with contextlib.AsyncExitStack() as stack:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = db.create_engine(settings.effective_database_url)
        stack.push_async_callback(engine.dispose)
        revision = await schema_version.current_revision(engine)
        if revision != schema_version.HEAD:
            raise NotMigratedError(
                f"database is at revision {revision!r}, code expects {schema_version.HEAD!r}:"
                " run `eoffice migrate`"
            )

        redis_url = settings.redis_url
        if settings.embedded_redis:
            embedded = EmbeddedRedis(settings.data_dir / "run")
            redis_url = await embedded.start()
            stack.push_async_callback(embedded.stop)
            log.info("embedded redis-server pid %s at %s", embedded.pid, redis_url)
        client = redis_client(redis_url)
        stack.push_async_callback(client.aclose)
        blobs = open_blob_store(settings)
        log.info("blob store: %r", blobs)  # no credentials in it
        # Worker processes start on first use, not here.
        workers = PdfWorkers(settings.pdf_workers)
        stack.callback(workers.close)
        api_keys = load_keyring(settings.data_dir)
        vapid = load_or_create(settings.data_dir, contact=settings.vapid_contact)
        await shared_secrets.check(client, api_keys=api_keys, vapid=vapid)
        push = PushRuntime(
            sessions=db.sessionmaker(engine), redis=client, clock=clock, keys=vapid, urls=urls,
            policy=Policy.from_settings(settings), run_worker=settings.push_worker,
        )  # fmt: skip
        push.start()
        stack.push_async_callback(push.stop)
        signing_setup = None
        if settings.production_signing:
            signing_setup = await _production_signing(stack, settings, workers, signing_keys)
        elif (keyring.pki_dir(settings) / "certomancer.json").exists():
            pki = keyring.load(settings)
            # Development: the dev PKI's TSA, OCSP and CRLs served in-process.
            services = await stack.enter_async_context(serve_dev_services(pki=pki))
            signing_setup = SigningSetup(
                settings=settings,
                services=services,
                pki=pki,
                keys=signing_keys or Pkcs11Keys(settings),
                workers=workers,
            )
        yield Resources(
            settings=settings,
            clock=clock,
            engine=engine,
            sessions=db.sessionmaker(engine),
            redis=client,
            blobs=blobs,
            translations=translations,
            assets=assets,
            api_keys=api_keys,
            pdf_workers=workers,
            signature_checker=SignatureChecker(
                load_trust(
                    roots_file=settings.trust_roots_file, dev_pki_dir=settings.data_dir / "pki"
                )
            ),
            pages=PageRenderer(
                cache_dir=settings.data_dir / "renders", blobs=blobs, workers=workers, redis=client
            ),
            signing=signing_setup,
            push=push,
            bus=subscribers.wire(
                Bus(), sessions=db.sessionmaker(engine), redis=client, push=push, clock=clock
            ),
        )


async def _production_signing(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    workers: PdfWorkers,
    keys: KeySource | None,
) -> SigningSetup:
    """The agency's PKI: roots and certificates from files or the token, keys on the token, the
    configured TSA, OCSP and CRLs fetched over HTTP. Wrong settings stop the start with a
    `KeyringError` saying what to fix; an unreachable TSA is only a warning (see `_probe_tsa`)."""
    pki = await asyncio.to_thread(keyring.load_production, settings)
    session = await stack.enter_async_context(aiohttp.ClientSession())
    timeout = float(settings.revocation_timeout_seconds)
    services = SigningServices(
        trust=pki.trust,
        http_session=session,
        tsa_url=settings.tsa_url,
        tsa_timeout=timeout,
        fetch_timeout=timeout,
    )
    await _probe_tsa(session, settings.tsa_url, timeout)
    if keys is None:
        token_keys = ProductionKeys(settings)
        stack.callback(token_keys.close)
        keys = token_keys
    return SigningSetup(settings=settings, services=services, pki=pki, keys=keys, workers=workers)


async def _probe_tsa(session: aiohttp.ClientSession, url: str, wait: float) -> None:
    """Warn, not fail, when the TSA does not answer at start: it is an outside service whose
    outage is usually brief, and reading, registering and assigning work without it. Signing
    while it is down fails then with its own clear message."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=wait)):
            pass  # any HTTP answer (a TSA answers GET with 4xx/405) means it is reachable
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning(
            "timestamp authority %s did not answer at start (%r); signing will fail until it does",
            url,
            exc,
        )
