"""Lighthouse on the app's main pages, mobile, in Debian's Chromium (run on demand, not a test).

    .venv/bin/python bench/bench_lighthouse.py              # demo with a month of history
    .venv/bin/python bench/bench_lighthouse.py --months 6   # the full demo (slower to load)

Lighthouse is an npm package pinned in bench/lighthouse/package.json with its own lock, kept out
of the app's pwa/package.json; on its first run this script installs it with `npm ci` into
bench/lighthouse/node_modules (git-ignored). Chromium: CHROME_PATH (default /usr/bin/chromium),
`--headless=new --no-sandbox`.

The script loads the demo (`eoffice demo --months N`: drafts wait for the leaders) into a fresh
SQLite database in a temporary directory, starts its own Redis and `eoffice serve` on free
ports, signs the demo Chairman in by creating his session in Redis (as the tests do), and runs
Lighthouse (performance, accessibility, best practices; mobile form factor) with the session
cookie passed as an extra header on: the entry page signed out (the baseline measured in the
same run), and the leader's home, "Chờ ký" queue and the reader of a draft waiting for him.
Bar (issue #16): >= 0.95 on each of the three scores on the leader's three pages. It also
prints the app shell's size: the home page's HTML, CSS and JS, gzipped (target <= 60 KB).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_documents import free_port

from backend.core import db
from backend.core.clock import SystemClock
from backend.core.embedded_redis import redis_server_binary
from backend.core.models import User
from backend.identity import sessions
from backend.identity.sessions import SessionLimits

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE_DIR = ROOT / "bench" / "lighthouse"
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")
BAR = 0.95
SHELL_TARGET = 60 * 1024
LEADER = "chutich"


def ensure_lighthouse() -> None:
    if LIGHTHOUSE.exists():
        return
    print("Installing Lighthouse (npm ci in bench/lighthouse)…", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=LIGHTHOUSE_DIR,
        check=True,
    )


def lighthouse(url: str, cookie: str | None, out: Path) -> dict[str, object]:
    args = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--form-factor=mobile",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
    ]
    if cookie:
        args.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    subprocess.run(args, check=True, env=env)
    report: dict[str, object] = json.loads(out.read_text())
    return report


def scores(report: dict[str, object]) -> dict[str, float]:
    categories = report["categories"]
    assert isinstance(categories, dict)
    return {name: float(categories[name]["score"] or 0) for name in CATEGORIES}


def failing_audits(report: dict[str, object]) -> list[str]:
    """The audits that cost points (score < 1, weighted in a category), for the reader."""
    audits = report["audits"]
    categories = report["categories"]
    assert isinstance(audits, dict) and isinstance(categories, dict)
    weighted = {
        ref["id"] for name in CATEGORIES for ref in categories[name]["auditRefs"] if ref["weight"]
    }
    out = []
    for audit_id in sorted(weighted):
        audit = audits[audit_id]
        if audit["score"] is not None and audit["score"] < 1:
            value = audit.get("displayValue") or ""
            out.append(f"{audit_id} ({audit['score']:.2f}{', ' + value if value else ''})")
    return out


def shell_size(base: str, cookie: str) -> list[tuple[str, int, int]]:
    """(url, bytes, gzipped bytes) of the home page's HTML and of its stylesheets and scripts."""
    with httpx.Client(base_url=base, headers={"Cookie": cookie}) as http:
        html = http.get("/").text
        assets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
        assets += re.findall(r'<script[^>]+src="([^"]+)"', html)
        rows = [("/ (HTML)", len(html.encode()), len(gzip.compress(html.encode())))]
        for url in assets:
            body = http.get(url).content
            rows.append((url, len(body), len(gzip.compress(body))))
    return rows


async def leader_session(env: dict[str, str], redis_url: str) -> tuple[str, int]:
    engine = db.create_engine(env["EOFFICE_DATABASE_URL"])
    try:
        async with db.sessionmaker(engine)() as s:
            leader = (await s.scalars(select(User).where(User.username == LEADER))).one()
    finally:
        await engine.dispose()
    client = aioredis.Redis.from_url(redis_url)
    try:
        session_id, _ = await sessions.start(
            client,
            clock=SystemClock(),
            limits=SessionLimits(idle=timedelta(hours=8), absolute=timedelta(hours=12)),
            user_id=leader.id,
            device="bench",
            ip="127.0.0.1",
        )
    finally:
        await client.aclose()
    return session_id, leader.id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=1, help="months of demo history (>= 1)")
    parser.add_argument("--keep", action="store_true", help="keep the reports' directory")
    args = parser.parse_args()
    if args.months < 1:
        parser.error("--months must be >= 1: without history no draft waits for the leader")
    ensure_lighthouse()
    work = Path(tempfile.mkdtemp(prefix="eoffice-bench-lighthouse-"))
    redis_port, http_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis = subprocess.Popen(
        [redis_server_binary(), "--port", str(redis_port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    base = f"http://localhost:{http_port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EOFFICE_")},
        "EOFFICE_DATA_DIR": str(work / "data"),
        "EOFFICE_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'eoffice.db'}",
        "EOFFICE_REDIS_URL": redis_url,
        "EOFFICE_SCHEDULER": "0",
        "EOFFICE_DEMO": "1",
        "EOFFICE_BASE_URL": base,
        "EOFFICE_LOG_LEVEL": "warning",
    }
    server = None
    try:
        cli = [sys.executable, "-m", "backend"]
        subprocess.run([*cli, "migrate"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        began = time.perf_counter()
        subprocess.run([*cli, "demo", "--months", str(args.months)], env=env, check=True, cwd=ROOT)
        print(f"Demo loaded in {time.perf_counter() - began:.1f} s.")
        server = subprocess.Popen([*cli, "serve", "--port", str(http_port)], env=env, cwd=ROOT)
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        session_id, _ = asyncio.run(leader_session(env, redis_url))
        cookie = f"eoffice_session={session_id}"
        queue = httpx.get(f"{base}/sign", headers={"Cookie": cookie})
        queue.raise_for_status()
        waiting = re.findall(r'href="(/sign/\d+)"', queue.text)
        if not waiting:
            raise SystemExit("no draft waits for the leader: the bench needs one (--months >= 1)")
        pages = [
            ("entry, signed out (baseline)", "/", None),
            ("leader: home", "/", cookie),
            ("leader: Chờ ký", "/sign", cookie),
            ("leader: reader of a waiting draft", waiting[0], cookie),
        ]
        results = []
        for label, path, with_cookie in pages:
            began = time.perf_counter()
            report = lighthouse(base + path, with_cookie, work / f"lh-{len(results)}.json")
            results.append((label, path, scores(report), failing_audits(report)))
            print(f"  {label}: {time.perf_counter() - began:.0f} s", flush=True)
        shell = shell_size(base, cookie)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        redis.terminate()
        redis.wait(timeout=10)
    load = os.getloadavg()
    print(
        f"\nLighthouse {json.loads((LIGHTHOUSE_DIR / 'package.json').read_text())['dependencies']['lighthouse']}"
        f", mobile, demo with {args.months} month(s) of history, load average {load[0]:.1f}"
    )
    print(f"{'page':36} {'perf':>6} {'a11y':>6} {'b-p':>6}  bar {BAR}")
    baseline = results[0][2]
    for label, path, got, _ in results:
        if path == "/" and label.startswith("entry"):
            verdict = "(baseline)"
        else:
            verdict = "ok" if all(v >= BAR for v in got.values()) else "BELOW"
        print(f"{label:36} " + " ".join(f"{got[c]:>6.2f}" for c in CATEGORIES) + f"  {verdict}")
    print(
        "baseline (entry page, same run): "
        + ", ".join(f"{c} {baseline[c]:.2f}" for c in CATEGORIES)
    )
    for label, path, _, failing in results:
        if failing:
            print(f"\n{label} ({path}) loses points on:\n  " + "\n  ".join(failing))
    total, zipped = sum(r[1] for r in shell), sum(r[2] for r in shell)
    print("\nApp shell (the signed-in home page):")
    for url, size, gz in shell:
        print(f"  {url:60} {size / 1024:7.1f} KB  gzip {gz / 1024:6.1f} KB")
    print(
        f"  {'total':60} {total / 1024:7.1f} KB  gzip {zipped / 1024:6.1f} KB"
        f"  (target <= {SHELL_TARGET // 1024} KB: {'ok' if zipped <= SHELL_TARGET else 'OVER'})"
    )
    if args.keep:
        print(f"\nReports kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
