"""The axis this process talks to, from the settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from backend.core.settings import Settings, load_or_create_secret
from backend.interchange.errors import AxisNotConfiguredError
from backend.interchange.vxp import VxpClient

# The demo province's system on the axis simulator the demo server mounts (`backend.axis_sim`
# registers the demo agencies under it; its secret is kept in the data directory).
DEMO_SYSTEM_ID = "00.99.W00"


def demo_secret_name(system_id: str) -> str:
    return f"axis-sim-{system_id}"


def credentials(settings: Settings) -> tuple[str, str, str] | None:
    """(URL, system id, secret) of the axis this process talks to; None when the exchange is
    off. In demo mode without an axis configured: the simulator inside the demo server."""
    url = settings.effective_axis_url
    if url and settings.axis_system_id and settings.axis_secret:
        return url, settings.axis_system_id, settings.axis_secret
    if settings.demo and not settings.axis_url:
        secret = load_or_create_secret(settings.data_dir, demo_secret_name(DEMO_SYSTEM_ID))
        return url, DEMO_SYSTEM_ID, secret
    return None


def configured(settings: Settings) -> bool:
    return credentials(settings) is not None


def required(settings: Settings) -> tuple[str, str, str]:
    """`credentials`, or `AxisNotConfiguredError` when the exchange is off."""
    found = credentials(settings)
    if found is None:
        raise AxisNotConfiguredError(
            "Chưa cấu hình kết nối Trục liên thông văn bản quốc gia (địa chỉ, mã hệ thống, "
            "khóa bí mật). Hãy báo quản trị hệ thống.",
            "The national document axis is not configured (URL, system id, secret). "
            "Tell the system administrator.",
        )
    return found


@contextlib.asynccontextmanager
async def client(settings: Settings) -> AsyncIterator[VxpClient]:
    """A VXP client for this system; `AxisNotConfiguredError` when the exchange is off."""
    url, system_id, secret = required(settings)
    axis = VxpClient(
        base_url=url, system_id=system_id, secret=secret, timeout=settings.axis_timeout_seconds
    )
    try:
        yield axis
    finally:
        await axis.aclose()
