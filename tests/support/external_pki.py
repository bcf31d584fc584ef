"""A second certomancer PKI that the app reaches only over real HTTP, as an agency's external CA.

`make_external_pki` writes the PKI with its TSA / OCSP / CRL URLs on 127.0.0.1:<port>;
`python -m tests.support.external_pki DIR PORT LOG` serves it (certomancer's aiohttp Animator)
in its own process and appends "METHOD PATH" per request to LOG.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from asn1crypto import pem

from signing import DevPki, generate_dev_pki, load_dev_pki

CONFIG = "certomancer.json"


def make_external_pki(
    directory: Path, *, port: int, users: list[tuple[str, str]], agency_name: str
) -> DevPki:
    generate_dev_pki(directory=directory, users=users, agency_name=agency_name)
    config = json.loads((directory / CONFIG).read_text(encoding="utf-8"))
    config["external-url-prefix"] = f"http://127.0.0.1:{port}"
    (directory / CONFIG).write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    pki = load_dev_pki(directory=directory)
    for label in ("root", "interm"):
        (directory / f"{label}.pem").write_bytes(pem.armor("CERTIFICATE", pki.cert(label).dump()))
    return pki


def main() -> None:
    from aiohttp import web
    from certomancer.integrations.aiohttp_animator import build_animator_app

    directory, port, log = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    pki = load_dev_pki(directory=directory)

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        with log.open("a", encoding="utf-8") as out:  # noqa: ASYNC230 (a test server, tiny)
            out.write(f"{request.method} {request.path}\n")
        response: web.StreamResponse = await handler(request)
        return response

    app = build_animator_app({pki.arch.arch_label: pki.arch}, with_web_ui=False)
    app.middlewares.insert(0, record)

    async def ready(_app: web.Application) -> None:
        print("ready", flush=True)

    app.on_startup.append(ready)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    main()
