"""Static assets with content-hash cache busting.

Only files known at start-up are served (no path traversal possible); `/static/<name>?v=<hash>`
is immutable for a year, so the service worker and browsers keep it until the content changes.
Text assets (CSS, JS, SVG, JSON) are also kept gzipped, compressed once here: Lighthouse found
them sent uncompressed (75 KB more on the reader page), and only these public files are
compressed, never a page that carries a session's CSRF token (BREACH).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

PWA_DIR = Path(__file__).resolve().parents[2] / "pwa"
STATIC_DIR = PWA_DIR / "static"
# Third-party assets installed from the npm registry by scripts/bootstrap (pwa/package-lock.json).
VENDOR = {
    "vendor/htmx.min.js": PWA_DIR / "node_modules" / "htmx.org" / "dist" / "htmx.min.js",
    # htmx 4's SSE extension: live counters over /live (loading the script enables it).
    "vendor/hx-sse.min.js": PWA_DIR
    / "node_modules"
    / "htmx.org"
    / "dist"
    / "ext"
    / "hx-sse.min.js",
}


class AssetsMissingError(Exception):
    pass


@dataclass(frozen=True)
class Asset:
    path: Path
    version: str
    media_type: str
    gzipped: bytes | None = None


COMPRESSIBLE = ("text/", "application/json", "application/manifest+json", "image/svg+xml")


class Assets:
    def __init__(self, static_dir: Path = STATIC_DIR, vendor: dict[str, Path] | None = None):
        self.files: dict[str, Asset] = {}
        for path in sorted(static_dir.rglob("*")):
            if path.is_file():
                self._add(path.relative_to(static_dir).as_posix(), path)
        for name, path in (VENDOR if vendor is None else vendor).items():
            if not path.is_file():
                raise AssetsMissingError(
                    f"{path} is missing: run scripts/bootstrap (npm ci in pwa/) first"
                )
            self._add(name, path)

    def _add(self, name: str, path: Path) -> None:
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:12]
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if name.endswith(".js"):
            media_type = "text/javascript"
        gzipped = None
        if media_type.startswith(COMPRESSIBLE) and len(body) > 512:
            # mtime=0: the same bytes on every start (and on every worker process).
            gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        self.files[name] = Asset(path=path, version=digest, media_type=media_type, gzipped=gzipped)

    def url(self, name: str) -> str:
        asset = self.files[name]
        return f"/static/{name}?v={asset.version}"

    @property
    def fingerprint(self) -> str:
        joined = "".join(f"{name}:{a.version}" for name, a in sorted(self.files.items()))
        return hashlib.sha256(joined.encode()).hexdigest()[:12]
