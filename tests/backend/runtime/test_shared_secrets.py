"""Machines that share a Redis but generated keys of their own are told so at start."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from backend.identity.tokens import load_keyring
from backend.push.vapid import load_or_create
from backend.runtime import shared_secrets
from tests.support.ports import free_port

pytestmark = pytest.mark.anyio


async def check(redis: aioredis.Redis, data_dir: Path) -> bool:
    return await shared_secrets.check(
        redis,
        api_keys=load_keyring(data_dir),
        vapid=load_or_create(data_dir, contact="mailto:ops@example.gov.vn"),
    )


async def test_a_machine_with_other_keys_is_told_to_copy_the_secrets(
    redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, copied, stranger = tmp_path / "first", tmp_path / "copied", tmp_path / "stranger"
    redis = aioredis.Redis.from_url(redis_url)
    try:
        with caplog.at_level(logging.WARNING, logger="eoffice"):
            assert await check(redis, first)  # nobody before it
            shutil.copytree(first / "secrets", copied / "secrets")
            assert await check(redis, copied)
            assert await check(redis, first)  # a restart
            assert not caplog.records
            assert not await check(redis, stranger)
        [record] = caplog.records
        assert record.levelno == logging.ERROR
        assert "copy <data dir>/secrets/" in record.getMessage()
    finally:
        await redis.aclose()


async def test_redis_down_is_only_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    redis = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with caplog.at_level(logging.WARNING, logger="eoffice"):
            assert await check(redis, tmp_path)
        assert "fingerprint not compared" in caplog.text
    finally:
        await redis.aclose()
