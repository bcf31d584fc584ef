"""The axis this process talks to, from the settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from backend.core.settings import Settings
from backend.interchange.errors import AxisNotConfiguredError
from backend.interchange.vxp import VxpClient


def configured(settings: Settings) -> bool:
    return bool(settings.effective_axis_url and settings.axis_system_id and settings.axis_secret)


@contextlib.asynccontextmanager
async def client(settings: Settings) -> AsyncIterator[VxpClient]:
    """A VXP client for this system; `AxisNotConfiguredError` when the exchange is off."""
    if not configured(settings):
        raise AxisNotConfiguredError(
            "Chưa cấu hình kết nối Trục liên thông văn bản quốc gia (địa chỉ, mã hệ thống, "
            "khóa bí mật). Hãy báo quản trị hệ thống.",
            "The national document axis is not configured (URL, system id, secret). "
            "Tell the system administrator.",
        )
    axis = VxpClient(
        base_url=settings.effective_axis_url,
        system_id=settings.axis_system_id,
        secret=settings.axis_secret,
        timeout=settings.axis_timeout_seconds,
    )
    try:
        yield axis
    finally:
        await axis.aclose()
