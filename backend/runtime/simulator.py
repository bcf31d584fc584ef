"""The simulators inside the demo server: the MSSP (SIM-PKI stand-in) at /mssp-sim and the
national document axis at /axis-sim.

The MSSP's SIMs are the demo users' phone numbers holding their dev-PKI keys, so it is built
on the first request, once the database can be read. Demo mode only: it holds private keys and
knows the demo PIN; the axis simulator's fault hooks are open to anyone.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.axis_sim import app as axis_app
from backend.axis_sim import config as axis_config
from backend.core.models import Agency, User
from backend.core.settings import Settings, load_or_create_secret
from backend.interchange import connection
from backend.mssp_sim import app as mssp_app
from backend.mssp_sim.config import SimConfig, SimIdentity, demo_config
from backend.runtime.resources import Resources
from backend.signing_flow import keyring


async def sim_config(settings: Settings, session: AsyncSession) -> SimConfig:
    """The simulator's SIMs: every user with a phone number, holding their dev-PKI key.

    Without a dev PKI (`eoffice pki init` not run) the simulator's own demo SIMs are used.
    """
    if not (keyring.pki_dir(settings) / "certomancer.json").exists():
        return demo_config()
    pki = keyring.load(settings)
    identities = []
    for user in await session.scalars(select(User).where(User.phone.is_not(None))):
        if user.username not in pki.user_labels:
            continue
        identities.append(
            SimIdentity(
                msisdn=user.phone or "",
                private_key_pem=pki.user_key_path(user.username).read_bytes(),
                certificate_der=pki.user_cert(user.username).dump(),
                display_name=user.full_name,
            )
        )
    return SimConfig(identities=tuple(identities))


class DemoSimulator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._app: ASGIApp | None = None
        self._lock = asyncio.Lock()

    async def _build(self, resources: Resources) -> ASGIApp:
        async with self._lock:
            if self._app is None:
                async with resources.sessions() as session:
                    config = await sim_config(self.settings, session)
                self._app = mssp_app.create_app(config)
            return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app or await self._build(scope["state"]["resources"])
        await app(scope, receive, send)


class DemoAxis:
    """The national document axis simulator inside the demo server, at /axis-sim: the demo's
    own agencies registered under its system (`connection.DEMO_SYSTEM_ID`, the secret in the
    data directory, as `eoffice axis-sim` keeps it) and a neighbouring demo province to write
    to. Built on the first request, from the agencies in the database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._app: ASGIApp | None = None
        self._lock = asyncio.Lock()

    async def _build(self, resources: Resources) -> ASGIApp:
        async with self._lock:
            if self._app is None:
                async with resources.sessions() as session:
                    hosted = list(
                        await session.scalars(
                            select(Agency).where(Agency.hosted.is_(True)).order_by(Agency.id)
                        )
                    )
                codes = {a.id: a.code for a in hosted}
                province = [
                    (a.code, a.name, codes.get(a.parent_id) if a.parent_id else None)
                    for a in hosted
                ]
                secrets = {
                    system: load_or_create_secret(
                        self.settings.data_dir, connection.demo_secret_name(system)
                    )
                    for system in (axis_config.DEMO_SYSTEM_ID, axis_config.DEMO_NEIGHBOUR_SYSTEM_ID)
                }
                self._app = axis_app.create_app(axis_config.demo_config(province, secrets=secrets))
            return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app or await self._build(scope["state"]["resources"])
        await app(scope, receive, send)
