"""eoffice under load: N concurrent signed-in sessions against `eoffice serve --workers 2` on
PostgreSQL, for a fixed time (run on demand, not a test).

    .venv/bin/python bench/bench_load.py [--sessions 200] [--seconds 300] [--workers 2]
        [--months 6] [--seed 20260101] [--no-live] [--s3] [--keep]

    quick try: .venv/bin/python bench/bench_load.py --sessions 20 --seconds 30 --months 1

What it sets up (and takes down again, by PID, whatever happens): a fresh PostgreSQL database
`load_<random>` on 127.0.0.1:5432 (dropped at the end unless --keep), the demo province in it
(`eoffice demo --months N --seed S`) with the dev PKI (`eoffice pki init`: the leaders' keys on
SoftHSM), a redis-server of its own on a free port, and `eoffice serve --workers 2` (uvicorn's
supervisor and two app processes, each with its jobs runner, scheduler, push sender and PDF
workers) sharing the database, the Redis and the data dir (file blobs, as on one machine; with
--s3 the blobs are on SeaweedFS's S3 gateway, `weed server -s3` started and stopped here).

What it does: each session is one `httpx.AsyncClient` with its own cookies, signed in through
the demo's "sign in as" (`POST /demo/signin/<user>`), sessions spread round robin over the demo's
users (several per person). Every session loops until the deadline, with a think time of 1–3 s
between steps, over a mix of what its person may do (read from the links on their home page):
  - the home page; a document list (one of the person's inboxes, sometimes its next page);
  - a search for a common word ("quyết định", "ubnd", "kế hoạch", …);
  - a reader: a document's page, then its page images as a browser loads them;
  - the dashboard (leaders, unit heads);
  - a progress report on one of the person's own assignments (POST, as the reader's form);
  - uploads, a few: the clerk registers an incoming PDF (`POST /documents`), specialists and
    unit heads send a draft to a signer (`POST /drafts`);
  - signatures, a few: a signer opens "Chờ ký", prepares a transaction for one waiting draft,
    asks for the passkey options and confirms with a software passkey
    (tests/support/authenticator.py; registered once per signer through /account/passkeys,
    as the signing sheet does for a person without one): a real PAdES signature with the key
    on SoftHSM, timestamped and with revocation data from the dev PKI's services.
Beside its clicks, each session holds the open page's event stream (`GET /live`, as the PWA's
EventSource does: reconnecting after 3 s with Last-Event-ID when it ends; --no-live: none), so
200 sessions are 200 long-lived connections too, each on a Redis subscription.
A separate probe session asks `/healthz` every 0.25 s throughout: the baseline each route's
latency is divided by (the ratios travel between machines; milliseconds on a shared 2-core
machine do not).

At the deadline every session is cancelled (requests in flight are abandoned, not counted);
the server, Redis (and SeaweedFS) are stopped by PID and the database dropped. The report gives
per route: count, p50/p95/p99 (ms), each percentile's ratio to `/healthz`'s, errors (a timeout,
a refused connection, or any status other than the one the step expects) and 5xx among them,
plus the number of signatures, uploads, progress reports and live events, the CPU time of the
server's processes, of the database's backends and of the generator itself (they share the
machine, with whatever else runs on it), and the server log's warnings and errors by kind.
Exit status 1 if there was any error or 5xx.

Target (issue #14): 200 sessions for 5 minutes on `--workers 2` and PostgreSQL: 0 errors, 0 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_documents import free_port, percentile, wait_healthy

from signing import make_sample_pdf
from tests.conftest import RedisServer, pg_admin
from tests.support.authenticator import SoftAuthenticator
from tests.support.seaweedfs import SeaweedFS

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql://postgres@127.0.0.1:5432"
TIMEOUT = 60.0
PROBE_EVERY = 0.25
THINK = (1.0, 3.0)
SEARCH_WORDS = ("quyết định", "ubnd", "kế hoạch", "dong nai", "báo cáo", "công văn", "tờ trình")
HEALTHZ = "GET /healthz (probe)"
LIVE = "GET /live (SSE, to headers)"
RECONNECT = 3.0  # the stream's "retry: 3000", as EventSource waits before reconnecting

DOCUMENT_LINK = re.compile(r'href="(/documents/\d+)"')
INBOX_LINK = re.compile(r'href="/documents\?inbox=([a-z0-9-]+)"')
NEXT_PAGE = re.compile(r'hx-get="(/documents\?[^"]*after=[^"]+)"')
PAGE_IMAGE = re.compile(r'<img[^>]*src="(/documents/\d+/pages/[^"]+)"')
PROGRESS_FORM = re.compile(r'action="(/assignments/\d+/progress)"')
SIGN_LINK = re.compile(r'href="/sign/(\d+)"')
SIGNER_OPTION = re.compile(r'<option value="(g?\d+)"[^>]*>([^<]*)</option>')
TX_ID = re.compile(r'data-tx="([^"]+)"')
ALERT = re.compile(r'role="alert">(.*?)</', re.S)


# --- what was measured -------------------------------------------------------------------------


@dataclass
class Route:
    timings: list[float] = field(default_factory=list)
    count: int = 0
    errors: int = 0
    server_errors: int = 0
    examples: list[str] = field(default_factory=list)


class Recorder:
    """Latency and outcome of every request, by route label."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = defaultdict(Route)
        self.done: dict[str, int] = defaultdict(int)
        # While the sessions ran: the generator's CPU, the server's (all its processes), its
        # database's, and the machine's 5-minute load average at the end (others share it).
        self.cpu_seconds = 0.0
        self.server_cpu_seconds = 0.0
        self.database_cpu_seconds = 0.0
        self.load_average = 0.0

    def ok(self, label: str, ms: float) -> None:
        route = self.routes[label]
        route.count += 1
        route.timings.append(ms)

    def error(self, label: str, ms: float | None, what: str, *, status: int = 0) -> None:
        route = self.routes[label]
        route.count += 1
        route.errors += 1
        if status >= 500:
            route.server_errors += 1
        if ms is not None:
            route.timings.append(ms)
        if len(route.examples) < 3:
            route.examples.append(what[:300])

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.routes.values())

    @property
    def server_errors(self) -> int:
        return sum(r.server_errors for r in self.routes.values())


class StepFailed(Exception):
    """A request did not give what the step needs (already recorded); the step stops there."""


async def timed(
    rec: Recorder,
    label: str,
    request: Awaitable[httpx.Response],
    *,
    expect: int = 200,
) -> httpx.Response:
    begun = time.perf_counter()
    try:
        response = await request
    except httpx.TimeoutException as exc:
        rec.error(label, None, f"timeout ({type(exc).__name__})")
        raise StepFailed from exc
    except httpx.TransportError as exc:
        rec.error(label, None, f"{type(exc).__name__}: {exc}")
        raise StepFailed from exc
    ms = (time.perf_counter() - begun) * 1000
    if response.status_code != expect:
        alert = ALERT.search(response.text)
        said = " ".join(alert.group(1).split()) if alert else response.text[:200]
        rec.error(
            label,
            ms,
            f"{response.status_code} (expected {expect}): {said}",
            status=response.status_code,
        )
        raise StepFailed
    rec.ok(label, ms)
    return response


# --- the system under test ---------------------------------------------------------------------


@dataclass
class System:
    base: str
    env: dict[str, str]
    database: str
    data_dir: Path
    # Each started process, and whether it leads a process group of its own.
    processes: list[tuple[subprocess.Popen[bytes], bool]] = field(default_factory=list)


def eoffice(system: System, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backend", *args],
        env=system.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"eoffice {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def start_redis(system: System) -> str:
    """The suite's real redis-server (the project's binary, a free port), stopped by its PID."""
    redis = RedisServer(system.data_dir / "redis")
    redis.start()
    assert redis.process is not None
    system.processes.append((redis.process, False))
    return redis.url


def start_server(system: System, port: int, workers: int) -> None:
    log = (system.data_dir / "server.log").open("ab")
    # Its own process group: the supervisor, its workers and their PDF pools are stopped as one.
    server = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--port", str(port), "--workers", str(workers)],
        env=system.env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    system.processes.append((server, True))
    if not wait_healthy(system.base, server, 90):
        raise RuntimeError("server did not start:\n" + server_log(system)[-3000:])


def stop_processes(system: System) -> None:
    """Newest first (the server before the Redis it uses), each by its own PID."""
    for process, group in reversed(system.processes):
        if process.poll() is not None:
            continue
        try:
            if group:
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.terminate()
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            if group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
            process.wait(timeout=10)
        except ProcessLookupError:
            pass


def server_log(system: System) -> str:
    path = system.data_dir / "server.log"
    return path.read_text(errors="replace") if path.exists() else ""


async def demo_users(name: str) -> list[str]:
    conn = await asyncpg.connect(f"{PG}/{name}")
    try:
        rows = await conn.fetch(
            "SELECT username FROM users WHERE is_demo AND is_active ORDER BY id"
        )
    finally:
        await conn.close()
    return [r["username"] for r in rows]


@asynccontextmanager
async def running_system(args: argparse.Namespace) -> AsyncIterator[System]:
    name = f"load_{secrets.token_hex(4)}"
    data_dir = Path(tempfile.mkdtemp(prefix="eoffice-bench-load-"))
    port = free_port()
    base = f"http://localhost:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOFFICE_")}
    env.pop("SOFTHSM2_CONF", None)
    env.update(
        EOFFICE_DATA_DIR=str(data_dir),
        EOFFICE_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
        EOFFICE_DEMO="1",
        EOFFICE_BASE_URL=base,
        EOFFICE_LOG_LEVEL="warning",
    )
    system = System(base=base, env=env, database=name, data_dir=data_dir)
    store: SeaweedFS | None = None
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        if args.s3:
            # Blobs on SeaweedFS's S3 gateway (`weed server -s3`, its own process group).
            store = SeaweedFS(Path(tempfile.mkdtemp(prefix="eoffice-bench-load-s3-")))
            store.start()
            for setting, value in store.settings_overrides(SeaweedFS.new_prefix()).items():
                env[f"EOFFICE_{setting.upper()}"] = str(value)
            print(f"blobs: {env['EOFFICE_BLOB_URL']} on SeaweedFS at {store.endpoint}")
        begun = time.perf_counter()
        eoffice(system, "migrate")
        print(eoffice(system, "demo", "--months", str(args.months), "--seed", str(args.seed)))
        print(eoffice(system, "pki", "init").splitlines()[-1])
        print(f"(database {name} loaded in {time.perf_counter() - begun:.1f} s)", flush=True)
        env["EOFFICE_REDIS_URL"] = start_redis(system)
        start_server(system, port, args.workers)
        print(f"server: eoffice serve --workers {args.workers} on {base}", flush=True)
        yield system
    finally:
        stop_processes(system)
        if store is not None:
            store.stop()
            if not args.keep:
                shutil.rmtree(store.directory, ignore_errors=True)
        # The server's log outlives the data dir: read it after a failed run.
        kept_log = Path(tempfile.gettempdir()) / f"{name}-server.log"
        kept_log.write_text(server_log(system))
        print(f"server log: {kept_log}")
        if args.keep:
            print(f"kept: database {name}, data dir {data_dir}")
        else:
            await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(data_dir, ignore_errors=True)


# --- one signed-in person on one device --------------------------------------------------------


@dataclass
class Shared:
    """What the sessions share: the recorder, sample PDFs, one passkey per signer (a person
    signs from one device at a time: a lock per person), drafts already being signed."""

    rec: Recorder
    origin: str
    pdfs: list[bytes]
    passkeys: dict[str, SoftAuthenticator] = field(default_factory=dict)
    signer_locks: dict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    being_signed: set[str] = field(default_factory=set)
    serial: int = 0

    drafts: dict[tuple[str, tuple[str, ...]], bytes] = field(default_factory=dict)

    def draft_pdf(self, signer: str, lines: tuple[str, ...]) -> bytes:
        key = (signer, lines)
        if key not in self.drafts:
            self.drafts[key] = make_sample_pdf(
                pages=2,
                title="Kế hoạch triển khai nhiệm vụ",
                signer_name=signer,
                signer_lines=lines,
            )
        return self.drafts[key]

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial


class Session:
    def __init__(self, shared: Shared, username: str, rng: random.Random) -> None:
        self.shared = shared
        self.rec = shared.rec
        self.username = username
        self.rng = rng
        self.http = httpx.AsyncClient(
            base_url=shared.origin,
            timeout=TIMEOUT,
            headers={"Origin": shared.origin, "Sec-Fetch-Site": "same-origin"},
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
        )
        self.inboxes: list[str] = []
        self.documents: list[str] = []
        self.actions: list[tuple[Callable[[], Awaitable[None]], int]] = []

    async def sign_in(self) -> None:
        await timed(
            self.rec,
            "POST /demo/signin",
            self.http.post(f"/demo/signin/{self.username}"),
            expect=303,
        )
        home = await self.home()
        links = set(re.findall(r'href="([^"]+)"', home))
        actions: list[tuple[Callable[[], Awaitable[None]], int]] = [(self.home_step, 15)]
        if "/documents" in links:
            actions += [(self.list_step, 25), (self.search_step, 15), (self.reader_step, 25)]
        if "/documents?inbox=viec-cua-toi" in links:
            actions.append((self.progress_step, 8))
        if "/dashboard" in links:
            actions.append((self.dashboard_step, 5))
        if "/documents/new" in links:
            actions.append((self.register_step, 4))
        if "/drafts/new" in links:
            actions.append((self.draft_step, 2))
        if "/sign" in links:
            actions.append((self.sign_step, 6))
        if "/admin/users" in links:
            actions.append((self.admin_step, 20))
        self.actions = actions

    async def home(self) -> str:
        response = await timed(self.rec, "GET / (home)", self.http.get("/"))
        self.documents = DOCUMENT_LINK.findall(response.text) or self.documents
        return response.text

    async def run(self, stop_at: float) -> None:
        steps, weights = zip(*self.actions, strict=True)
        await asyncio.sleep(self.rng.uniform(0, THINK[1]))
        while time.monotonic() < stop_at:
            step = self.rng.choices(steps, weights)[0]
            with suppress(StepFailed):
                await step()
            await asyncio.sleep(self.rng.uniform(*THINK))

    async def listen(self, stop_at: float) -> None:
        """The open page's EventSource: `/live` held open, reconnecting as a browser does
        (with Last-Event-ID). A stream silent for longer than the client timeout is an error:
        the server sends a comment every 15 s."""
        last_id = ""
        while time.monotonic() < stop_at:
            headers = {"Accept": "text/event-stream"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            begun = time.perf_counter()
            try:
                async with self.http.stream("GET", "/live", headers=headers) as response:
                    ms = (time.perf_counter() - begun) * 1000
                    if response.status_code != 200:
                        self.rec.error(
                            LIVE, ms, f"{response.status_code}", status=response.status_code
                        )
                    else:
                        self.rec.ok(LIVE, ms)
                        async for line in response.aiter_lines():
                            if line.startswith("id:"):
                                last_id = line[3:].strip()
                            elif line.startswith("event:"):
                                self.rec.done["live events received"] += 1
                        self.rec.done["live streams ended by the server"] += 1
            except httpx.TimeoutException as exc:
                self.rec.error(LIVE, None, f"timeout ({type(exc).__name__})")
            except httpx.TransportError as exc:
                self.rec.error(LIVE, None, f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(RECONNECT)

    # The steps: each a few requests, as a person's click and what the browser fetches after it.

    async def home_step(self) -> None:
        await self.home()

    async def list_step(self) -> None:
        inbox = self.rng.choice(self.inboxes) if self.inboxes else None
        path = f"/documents?inbox={inbox}" if inbox else "/documents"
        response = await timed(self.rec, "GET /documents (list)", self.http.get(path))
        self.inboxes = INBOX_LINK.findall(response.text) or self.inboxes
        self.documents = DOCUMENT_LINK.findall(response.text) or self.documents
        more = NEXT_PAGE.search(response.text)
        if more and self.rng.random() < 0.3:
            await timed(
                self.rec,
                "GET /documents (next page)",
                self.http.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"}),
            )

    async def search_step(self) -> None:
        word = self.rng.choice(SEARCH_WORDS)
        response = await timed(
            self.rec,
            "GET /documents/search",
            self.http.get("/documents/search", params={"q": word}),
        )
        found = DOCUMENT_LINK.findall(response.text)
        if found and self.rng.random() < 0.5:
            await self.read(self.rng.choice(found))

    async def reader_step(self) -> None:
        if not self.documents:
            await self.list_step()
        if self.documents:
            await self.read(self.rng.choice(self.documents))

    async def read(self, path: str) -> str:
        response = await timed(self.rec, "GET /documents/<id> (reader)", self.http.get(path))
        # The browser loads the first pages' images (the rest lazily, as they scroll).
        for image in PAGE_IMAGE.findall(response.text)[:3]:
            await timed(self.rec, "GET page image", self.http.get(image.replace("&amp;", "&")))
        return response.text

    async def dashboard_step(self) -> None:
        await timed(self.rec, "GET /dashboard", self.http.get("/dashboard"))

    async def admin_step(self) -> None:
        await timed(self.rec, "GET /admin/users", self.http.get("/admin/users"))

    async def progress_step(self) -> None:
        listing = await timed(
            self.rec,
            "GET /documents (list)",
            self.http.get("/documents", params={"inbox": "viec-cua-toi"}),
        )
        mine = DOCUMENT_LINK.findall(listing.text)
        if not mine:
            return
        page = await self.read(self.rng.choice(mine[:10]))
        form = PROGRESS_FORM.search(page)
        if form is None:
            return
        serial = self.shared.next_serial()
        fields = {
            "note": f"Đang xử lý, đã làm việc với các đơn vị liên quan (lượt {serial}).",
            "client_key": f"load-{serial}-{secrets.token_hex(4)}",
        }
        if 'name="percent"' in page:
            fields["percent"] = str(self.rng.randrange(10, 95, 5))
        await timed(
            self.rec,
            "POST /assignments/<id>/progress",
            self.http.post(form.group(1), data=fields),
            expect=303,
        )
        self.rec.done["progress reports"] += 1

    async def register_step(self) -> None:
        await timed(self.rec, "GET /documents/new", self.http.get("/documents/new"))
        serial = self.shared.next_serial()
        fields = {
            "type_code": "CV",
            "number_symbol": f"{serial}{self.rng.randrange(1000)}/UBND-VP",
            "issue_date": date.today().isoformat(),
            "issuer_name": "Ủy ban nhân dân huyện Long Thành",
            "issuer_code": "000.00.00.H39",
            "subject": f"Về việc báo cáo tình hình thực hiện nhiệm vụ (lượt {serial})",
            "urgency": "0",
            "source": "buu-dien",
        }
        pdf = self.shared.pdfs[serial % len(self.shared.pdfs)]
        await timed(
            self.rec,
            "POST /documents (register, PDF)",
            self.http.post(
                "/documents",
                data=fields,
                files=[("pdf", (f"cv-{serial}.pdf", pdf, "application/pdf"))],
            ),
            expect=303,
        )
        self.rec.done["incoming registered"] += 1

    async def draft_step(self) -> None:
        await timed(self.rec, "GET /drafts/new", self.http.get("/drafts/new"))
        # Choosing the type asks for who may sign it (the form's htmx request).
        form = await timed(
            self.rec,
            "GET /drafts/new/signers",
            self.http.get(
                "/drafts/new/signers", params={"type_code": "KH"}, headers={"HX-Request": "true"}
            ),
        )
        # "Name — LINE 1 / LINE 2": the signer block the draft must print (Decree 30);
        # someone away today is shown "(…)" and left out.
        signers = [
            (value, html.unescape(text).split(" — ", 1))
            for value, text in SIGNER_OPTION.findall(form.text)
            if not text.rstrip().endswith(")")
        ]
        if not signers:
            return
        value, (name, *lines) = self.rng.choice(signers)
        serial = self.shared.next_serial()
        fields = {
            "type_code": "KH",
            "subject": f"Kế hoạch triển khai nhiệm vụ chuyển đổi số (dự thảo {serial})",
            "recipients": "Các sở, ban, ngành",
            "urgency": "0",
            "signer_id": value,
        }
        block = tuple(lines[0].strip().split(" / ")) if lines else ()
        pdf = self.shared.draft_pdf(name.strip(), block)
        await timed(
            self.rec,
            "POST /drafts (upload)",
            self.http.post(
                "/drafts",
                data=fields,
                files={"pdf": (f"du-thao-{serial}.pdf", pdf, "application/pdf")},
            ),
            expect=303,
        )
        self.rec.done["drafts sent"] += 1

    async def sign_step(self) -> None:
        queue = await timed(self.rec, "GET /sign (queue)", self.http.get("/sign"))
        if not SIGN_LINK.search(queue.text):
            return
        # One device at a time per person; the queue is read again under the lock.
        async with self.shared.signer_locks[self.username]:
            queue = await timed(self.rec, "GET /sign (queue)", self.http.get("/sign"))
            waiting = [
                d for d in SIGN_LINK.findall(queue.text) if d not in self.shared.being_signed
            ]
            if not waiting:
                return
            document_id = self.rng.choice(waiting)
            self.shared.being_signed.add(document_id)
            await timed(self.rec, "GET /sign/<id>", self.http.get(f"/sign/{document_id}"))
            authenticator = await self.passkey()
            sheet = await timed(
                self.rec,
                "POST /sign/transactions",
                self.http.post(
                    "/sign/transactions", data={"document_id": document_id, "method": "passkey"}
                ),
            )
            found = TX_ID.search(sheet.text)
            if found is None:
                self.rec.error("POST /sign/transactions", None, "no transaction in the sheet")
                return
            tx = found.group(1)
            options = await timed(
                self.rec,
                "POST /sign/.../passkey-options",
                self.http.post(f"/sign/transactions/{tx}/passkey-options"),
            )
            credential = authenticator.get(options.json())
            done = await timed(
                self.rec,
                "POST /sign/.../passkey (sign)",
                self.http.post(
                    f"/sign/transactions/{tx}/passkey",
                    json={"credential": credential},
                    headers={"Accept": "application/json"},
                ),
            )
            results = [d["result"] for d in done.json()["documents"]]
            if results != ["signed"]:
                self.rec.error("POST /sign/.../passkey (sign)", None, f"not signed: {done.text}")
                return
            self.rec.done["signatures"] += 1

    async def passkey(self) -> SoftAuthenticator:
        """The person's passkey, created on first use as the signing sheet does."""
        known = self.shared.passkeys.get(self.username)
        if known is not None:
            return known
        authenticator = SoftAuthenticator(origin=self.shared.origin)
        options = await timed(
            self.rec, "POST /account/passkeys/options", self.http.post("/account/passkeys/options")
        )
        await timed(
            self.rec,
            "POST /account/passkeys",
            self.http.post(
                "/account/passkeys",
                json={"credential": authenticator.create(options.json()), "name": "load"},
            ),
        )
        self.shared.passkeys[self.username] = authenticator
        return authenticator


# --- the run -----------------------------------------------------------------------------------


async def probe(rec: Recorder, origin: str, stop_at: float) -> None:
    async with httpx.AsyncClient(base_url=origin, timeout=TIMEOUT) as http:
        while time.monotonic() < stop_at:
            with suppress(StepFailed):
                await timed(rec, HEALTHZ, http.get("/healthz"))
            await asyncio.sleep(PROBE_EVERY)


def cpu_seconds(*, group: int, database: str) -> tuple[float, float]:
    """CPU time (user + system) of the processes in the server's process group (its supervisor,
    app processes and their PDF workers) and of the PostgreSQL backends serving `database`, as
    they are now (a process that has already ended is not counted)."""
    ticks = os.sysconf("SC_CLK_TCK")
    server = backends = 0
    backend_title = f"postgres {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command may hold spaces and parentheses: the fields start after the last ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        used = int(fields[11]) + int(fields[12])  # utime, stime
        if int(fields[2]) == group:  # pgrp
            server += used
        elif backend_title in title:
            backends += used
    return server / ticks, backends / ticks


def cpu_time() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def load(system: System, args: argparse.Namespace) -> Recorder:
    rec = Recorder()
    rng = random.Random(args.seed)
    pdfs = [
        make_sample_pdf(pages=1 + n % 3, title=f"Về việc triển khai nhiệm vụ năm 2026 (mẫu {n})")
        for n in range(24)
    ]
    shared = Shared(rec=rec, origin=system.base, pdfs=pdfs)
    users = await demo_users(system.database)
    sessions = [
        Session(shared, users[n % len(users)], random.Random(rng.random()))
        for n in range(args.sessions)
    ]
    try:
        begun = time.perf_counter()
        signed_in = await asyncio.gather(*(s.sign_in() for s in sessions), return_exceptions=True)
        failed = [r for r in signed_in if isinstance(r, BaseException)]
        if failed:
            raise RuntimeError(f"{len(failed)} sessions could not sign in: {failed[0]!r}")
        print(
            f"{len(sessions)} sessions signed in ({len(users)} people) in "
            f"{time.perf_counter() - begun:.1f} s; running {args.seconds} s",
            flush=True,
        )
        cpu_before = cpu_time()
        server = next(p.pid for p, group in system.processes if group)
        server_before, db_before = cpu_seconds(group=server, database=system.database)
        stop_at = time.monotonic() + args.seconds
        tasks = [asyncio.create_task(s.run(stop_at)) for s in sessions]
        if args.live:
            tasks += [asyncio.create_task(s.listen(stop_at)) for s in sessions]
        tasks.append(asyncio.create_task(probe(rec, system.base, stop_at)))
        # The deadline, whatever the server does: then every session is cancelled. A session
        # that raised (a bug here, not a refusal by the server) ends the run at once.
        done, pending = await asyncio.wait(
            tasks, timeout=args.seconds + 1, return_when=asyncio.FIRST_EXCEPTION
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        rec.cpu_seconds = cpu_time() - cpu_before
        server_after, db_after = cpu_seconds(group=server, database=system.database)
        rec.server_cpu_seconds = server_after - server_before
        rec.database_cpu_seconds = db_after - db_before
        rec.load_average = os.getloadavg()[1]
        for task in done:
            if task.exception() is not None:
                raise RuntimeError("a session failed: a bug in the generator") from task.exception()
    finally:
        await asyncio.gather(*(s.http.aclose() for s in sessions), return_exceptions=True)
    return rec


def report(rec: Recorder, args: argparse.Namespace, log: str) -> None:
    base = rec.routes.get(HEALTHZ)
    if base is None or not base.timings:
        print("no /healthz measurements: nothing to compare with")
        return
    b50, b95, b99 = (percentile(base.timings, p) for p in (50, 95, 99))
    total = sum(r.count for r in rec.routes.values())
    print(
        f"\n{args.sessions} sessions{' each holding /live open' if args.live else ''}, "
        f"{args.seconds} s, --workers {args.workers}, "
        f"{os.cpu_count()} CPUs (shared); latency in ms, ratio = route percentile / /healthz's"
    )
    header = (
        f"{'route':34} {'count':>6} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'x p50':>6} {'x p95':>6} {'x p99':>6} {'errors':>6} {'5xx':>4}"
    )
    print(header)
    print("-" * len(header))
    for label in sorted(rec.routes, key=lambda k: (k != HEALTHZ, k)):
        r = rec.routes[label]
        if not r.timings:
            blank = f"{'':7} " * 3 + f"{'':6} " * 3
            print(f"{label:34} {r.count:6} {blank}{r.errors:6} {r.server_errors:4}")
            continue
        p50, p95, p99 = (percentile(r.timings, p) for p in (50, 95, 99))
        print(
            f"{label:34} {r.count:6} {p50:7.0f} {p95:7.0f} {p99:7.0f} "
            f"{p50 / b50:6.1f} {p95 / b95:6.1f} {p99 / b99:6.1f} {r.errors:6} {r.server_errors:4}"
        )
    print(
        f"\nrequests {total} ({total / args.seconds:.0f}/s); done: "
        + ", ".join(f"{k} {v}" for k, v in sorted(rec.done.items()))
    )
    requests = max(total, 1)
    for what, used in (
        ("server processes", rec.server_cpu_seconds),
        ("PostgreSQL backends", rec.database_cpu_seconds),
        ("load generator", rec.cpu_seconds),
    ):
        print(
            f"CPU, {what}: {used:.0f} s ({used / args.seconds * 100:.0f}% of one core, "
            f"{used / requests * 1000:.1f} ms per request)"
        )
    print(f"machine load average (5 min) at the end: {rec.load_average:.1f}")
    print(f"server log: {log.count('Traceback')} tracebacks; its warnings and errors, by kind:")
    kinds: dict[str, int] = defaultdict(int)
    for line in log.splitlines():
        if re.match(r"[a-z_.]+: ", line) or line.startswith(("WARNING", "ERROR")):
            kinds[re.sub(r"\d+", "N", line)[:110]] += 1
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {count:5} x {kind}")
    for label, r in rec.routes.items():
        for example in r.examples:
            print(f"  error {label}: {example}")
    print(f"\nerrors {rec.errors}, 5xx {rec.server_errors} (target: 0 and 0)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="eoffice serve --workers")
    parser.add_argument("--months", type=int, default=6, help="the demo's months of history")
    parser.add_argument("--seed", type=int, default=20260101, help="demo and generator seed")
    parser.add_argument(
        "--no-live",
        dest="live",
        action="store_false",
        help="sessions do not hold /live (the open page's event stream) open",
    )
    parser.add_argument(
        "--s3",
        action="store_true",
        help="blobs on SeaweedFS (S3) instead of files in the data dir",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and data dir")
    args = parser.parse_args()

    async def everything() -> tuple[Recorder, str]:
        async with running_system(args) as system:
            rec = await load(system, args)
            return rec, server_log(system)

    rec, log = asyncio.run(everything())
    report(rec, args, log)
    return 1 if rec.errors or rec.server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
