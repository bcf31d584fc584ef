"""Signing keys and certificates of this installation, kept under the data dir.

Development and demo: a dev PKI made with certomancer (`signing.generate_dev_pki`), each
leader's key and the agency seal key in their own SoftHSM2 token (PKCS#11), signature and seal
images drawn by code. Nothing here is committed; `eoffice pki init` makes it all.
Production points the PKCS#11 settings at a real HSM and the trust roots at the Government
Cipher Committee's CA instead.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from backend.settings import Settings, load_or_create_secret
from signing import (
    SOFTHSM_MODULE,
    DevPki,
    Pkcs11Key,
    create_softhsm_token,
    generate_dev_pki,
    load_dev_pki,
    make_seal_png,
    make_signature_png,
    write_softhsm_config,
)

SEAL = "seal"


class KeyringError(Exception):
    pass


@dataclass(frozen=True)
class Person:
    username: str
    full_name: str
    holds_server_key: bool  # leaders sign with a server-held key confirmed by passkey


def pki_dir(settings: Settings) -> Path:
    return settings.data_dir / "pki"


def hsm_dir(settings: Settings) -> Path:
    return settings.data_dir / "softhsm"


def token_label(username: str) -> str:
    # Token labels are at most 32 bytes; usernames may be longer.
    digest = hashlib.sha256(username.encode()).hexdigest()[:8]
    return f"eo-{username[:20]}-{digest}"


def use_softhsm(settings: Settings) -> None:
    """Point the PKCS#11 module at our tokens; call before the module is first loaded."""
    conf = hsm_dir(settings) / "softhsm2.conf"
    if not conf.exists():
        write_softhsm_config(directory=hsm_dir(settings))
    os.environ["SOFTHSM2_CONF"] = str(conf)


def hsm_pin(settings: Settings) -> str:
    return load_or_create_secret(settings.data_dir, "hsm_pin")


def init(settings: Settings, *, people: list[Person], agency_name: str) -> DevPki:
    """Create (or extend) the dev PKI, tokens and images. Idempotent."""
    use_softhsm(settings)
    pki = generate_dev_pki(
        directory=pki_dir(settings),
        users=[(p.username, p.full_name) for p in people],
        agency_name=agency_name,
    )
    images = pki_dir(settings) / "images"
    images.mkdir(parents=True, exist_ok=True)
    pin = hsm_pin(settings)
    tokens = hsm_dir(settings) / "made"
    tokens.mkdir(parents=True, exist_ok=True)
    for seed, person in enumerate(people, start=1):
        image = images / f"{person.username}.png"
        if not image.exists():
            image.write_bytes(make_signature_png(seed=seed))
        if person.holds_server_key and not (tokens / person.username).exists():
            create_softhsm_token(
                token_label=token_label(person.username), pin=pin, so_pin=pin + "-so",
                key_pem=pki.user_key_path(person.username).read_bytes(),
                certificate=pki.user_cert(person.username), key_label="sign", key_id=b"\x01",
            )  # fmt: skip
            (tokens / person.username).touch()
    if not (images / "seal.png").exists():
        (images / "seal.png").write_bytes(make_seal_png(agency_name=agency_name))
    if not (tokens / SEAL).exists():
        create_softhsm_token(
            token_label=token_label(SEAL), pin=pin, so_pin=pin + "-so",
            key_pem=pki.seal_key_path.read_bytes(), certificate=pki.seal_cert,
            key_label="sign", key_id=b"\x01",
        )  # fmt: skip
        (tokens / SEAL).touch()
    return pki


def load(settings: Settings) -> DevPki:
    if not (pki_dir(settings) / "certomancer.json").exists():
        raise KeyringError("no PKI in the data dir: run `eoffice pki init` first")
    use_softhsm(settings)
    return load_dev_pki(directory=pki_dir(settings))


def server_key(settings: Settings, username: str) -> Pkcs11Key:
    if not (hsm_dir(settings) / "made" / username).exists():
        raise KeyringError(f"{username} has no server-held signing key")
    return Pkcs11Key(
        module_path=SOFTHSM_MODULE, token_label=token_label(username), pin=hsm_pin(settings),
        key_label="sign",
    )  # fmt: skip


def signature_image(settings: Settings, username: str) -> bytes:
    return (pki_dir(settings) / "images" / f"{username}.png").read_bytes()
