"""Workflow tests run with the identity suite's app (controllable clock), browser-like client and
seeded agency."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.core.clock import FixedClock
from tests.backend.identity.conftest import app, client, world  # noqa: F401


@pytest.fixture
def clock() -> FixedClock:
    # Monday 2 March 2026, 08:30 in Hà Nội.
    return FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
