"""What one server process costs: memory, per-request latency, storage per document (run on
demand, not a test). The figures behind the sizing table of docs/deploy.md.

    .venv/bin/python bench/bench_processes.py [--months 6] [--requests 40] [--keep]

Loads the demo province (`eoffice demo --months N`: the office's six months of work) into a
fresh data dir on the embedded defaults (SQLite, embedded Redis, file blobs), starts
`eoffice serve`, and measures:
  - VmRSS of the server process after start (idle), and after its PDF worker pool is warmed
    (page images rendered), with the pool's processes and the embedded redis-server apart;
  - latency of a few routes, one client in a loop, signed in as the chairman, each as a ratio to
    `/healthz` in the same run (the ratios travel between machines better than milliseconds);
  - the blob store's bytes per document and per file version.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_documents import free_port, percentile, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
LEADER = "chutich"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def command_of(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def memory(pid: int) -> dict[str, int]:
    """KiB: the server, its PDF workers (and their resource tracker), its redis-server."""
    out = {"server": rss_kib(pid), "pdf workers": 0, "redis": 0, "pdf worker count": 0}
    for child in children(pid):
        cmd = command_of(child)
        if "redis-server" in cmd:
            out["redis"] += rss_kib(child)
        elif "multiprocessing" in cmd:
            out["pdf workers"] += rss_kib(child)
            if "spawn_main" in cmd:
                out["pdf worker count"] += 1
    return out


def eoffice(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backend", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def storage(data_dir: Path) -> dict[str, float]:
    blobs = [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]
    with sqlite3.connect(data_dir / "eoffice.db") as db:
        incoming, outgoing = (
            db.execute("SELECT count(*) FROM documents WHERE direction = ?", (d,)).fetchone()[0]
            for d in ("incoming", "outgoing")
        )
        versions, version_bytes = db.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM file_versions"
        ).fetchone()
        pdf_bytes = db.execute(
            "SELECT coalesce(avg(size), 0) FROM file_versions WHERE media_type = 'application/pdf'"
        ).fetchone()[0]
    total = sum(p.stat().st_size for p in blobs)
    documents = incoming + outgoing
    return {
        "incoming": incoming,
        "outgoing": outgoing,
        "blobs": len(blobs),
        "blob bytes": total,
        "file versions": versions,
        "version bytes": version_bytes,
        "bytes per document": total / max(documents, 1),
        "bytes per PDF version": pdf_bytes,
        "database bytes": (data_dir / "eoffice.db").stat().st_size,
    }


async def timed(http: httpx.AsyncClient, path: str, requests: int) -> list[float]:
    timings = []
    for _ in range(requests):
        begun = time.perf_counter()
        response = await http.get(path)
        elapsed = (time.perf_counter() - begun) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
        timings.append(elapsed)
    return timings


async def measure(base: str, pid: int, requests: int) -> None:
    async with httpx.AsyncClient(
        base_url=base, timeout=60, headers={"Origin": base, "Sec-Fetch-Site": "same-origin"}
    ) as http:
        await http.get("/healthz")
        await asyncio.sleep(3)  # let the start settle (lazy imports, first connections)
        idle = memory(pid)
        signed = await http.post(f"/demo/signin/{LEADER}")
        assert signed.status_code == 303, signed.text
        listing = BeautifulSoup((await http.get("/documents")).text, "html.parser")
        links = [
            str(a["href"])
            for a in listing.select("a[href^='/documents/']")
            if str(a["href"]).rstrip("/").rsplit("/", 1)[-1].isdigit()
        ]
        document = links[0]
        reader = BeautifulSoup((await http.get(document)).text, "html.parser")
        images = [str(img["src"]) for img in reader.select(".page img")]
        first_render = []
        for image in images:
            begun = time.perf_counter()
            assert (await http.get(image)).status_code == 200
            first_render.append((time.perf_counter() - begun) * 1000)
        await asyncio.sleep(1)
        warm = memory(pid)

        routes = {
            "/healthz": "/healthz",
            "/ (home)": "/",
            "/documents (list)": "/documents",
            "/documents/<id> (reader)": document,
            "page image (cached)": images[0],
            "/dashboard": "/dashboard",
            "/work/count": "/work/count",
        }
        results = {name: await timed(http, path, requests) for name, path in routes.items()}

    base_median = statistics.median(results["/healthz"])
    print(f"\nLatency, one client, {requests} requests each (ms; ratio of medians to /healthz)")
    print(f"{'route':28} {'median':>8} {'p95':>8} {'ratio':>7}")
    for name, timings in results.items():
        median = statistics.median(timings)
        print(f"{name:28} {median:8.1f} {percentile(timings, 95):8.1f} {median / base_median:7.1f}")
    print(
        f"first render of {len(first_render)} page image(s): "
        + ", ".join(f"{t:.0f}" for t in first_render)
        + " ms (PDF pool started by the first)"
    )
    print("\nMemory (VmRSS, MiB)")
    for label, m in (("idle after start", idle), ("PDF pool warmed", warm)):
        print(
            f"  {label:18} server {m['server'] / 1024:6.1f}  "
            f"pdf workers {m['pdf workers'] / 1024:6.1f} ({m['pdf worker count']} processes)  "
            f"embedded redis {m['redis'] / 1024:5.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--pdf-workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="eoffice-bench-processes-"))
    port = free_port()
    base = f"http://localhost:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOFFICE_")}
    env.update(
        EOFFICE_DATA_DIR=str(data_dir),
        EOFFICE_DEMO="1",
        EOFFICE_BASE_URL=base,
        EOFFICE_PDF_WORKERS=str(args.pdf_workers),
        EOFFICE_LOG_LEVEL="warning",
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        eoffice(env, "migrate")
        begun = time.perf_counter()
        print(eoffice(env, "demo", "--months", str(args.months)).strip())
        print(f"(demo loaded in {time.perf_counter() - begun:.1f} s)")
        s = storage(data_dir)
        documents = s["incoming"] + s["outgoing"]
        print(
            f"\nStorage: {s['incoming']} incoming + {s['outgoing']} outgoing documents, "
            f"{s['file versions']} file versions ({s['file versions'] / documents:.2f} per "
            f"document), a PDF version {s['bytes per PDF version'] / 1024:.1f} KiB on average "
            f"({s['version bytes'] / documents / 1024:.1f} KiB of versions per document); "
            f"the blob store holds {s['blobs']} distinct blobs, {s['blob bytes'] / 2**20:.1f} MiB "
            f"(the history reuses a few sample PDFs: content-addressed, stored once); "
            f"SQLite file {s['database bytes'] / 2**20:.1f} MiB "
            f"({s['database bytes'] / documents / 1024:.1f} KiB per document)"
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_healthy(base, server, 60):
            raise RuntimeError("server did not start")
        asyncio.run(measure(base, server.pid, args.requests))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.keep:
            print(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
