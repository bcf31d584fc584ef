"""The VAPID key pair (RFC 8292): generated once into the data dir, shared by every process."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02 as Vapid  # type: ignore[import-untyped]


@dataclass(frozen=True)
class VapidKeys:
    vapid: Vapid
    # The applicationServerKey a browser subscribes with: base64url of the uncompressed point.
    public_key: str
    # `sub` claim: how the push service reaches the operator.
    contact: str


def public_key_of(vapid: Vapid) -> str:
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def load_or_create(data_dir: Path, *, contact: str) -> VapidKeys:
    directory = data_dir / "secrets"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "vapid_private.pem"
    if not path.exists():
        fresh = Vapid()
        fresh.generate_keys()
        # O_EXCL: two processes starting at once agree on one key pair.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(fresh.private_pem())
    vapid = Vapid.from_pem(path.read_bytes())
    return VapidKeys(vapid=vapid, public_key=public_key_of(vapid), contact=contact)
