"""Runs `production_setup_cases.py` (the production signing set-up) in a pytest process of its
own: SoftHSM reads its token directory once per process, at the first PKCS#11 use, so the
operator-made token of those tests and the tokens of the rest of the suite cannot share one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[3]
CASES = Path(__file__).with_name("production_setup_cases.py")


def test_production_signing_setup_in_a_process_of_its_own() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(CASES), "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary, summary
    if IN_CI:  # PostgreSQL is there in CI: its half must have run
        assert "skipped" not in summary, summary
