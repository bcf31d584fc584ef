"""Signing keys and certificates of this installation, kept under the data dir.

Development and demo: a dev PKI made with certomancer (`signing.generate_dev_pki`), each
leader's key and the agency seal key in their own SoftHSM2 token (PKCS#11), signature and seal
images drawn by code. Nothing here is committed; `eoffice pki init` makes it all.
Production (`EOFFICE_HSM_MODULE` set): `load_production` reads the trust roots and intermediate
CAs from PEM files, the seal and leaders' certificates from files or from the HSM token, and
checks at start that each certificate matches the key of the same label on the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509
from cryptography import x509 as pyca_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from backend.core.settings import Settings, load_or_create_secret
from signing import (
    SOFTHSM_MODULE,
    DevPki,
    KeyProviderError,
    Pkcs11Key,
    TrustSettings,
    create_softhsm_token,
    generate_dev_pki,
    load_certificates,
    load_dev_pki,
    make_seal_png,
    make_signature_png,
    token_certificates,
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
                token_label=token_label(person.username),
                pin=pin,
                so_pin=pin + "-so",
                key_pem=pki.user_key_path(person.username).read_bytes(),
                certificate=pki.user_cert(person.username),
                key_label="sign",
                key_id=b"\x01",
            )
            (tokens / person.username).touch()
    if not (images / "seal.png").exists():
        (images / "seal.png").write_bytes(make_seal_png(agency_name=agency_name))
    if not (tokens / SEAL).exists():
        create_softhsm_token(
            token_label=token_label(SEAL),
            pin=pin,
            so_pin=pin + "-so",
            key_pem=pki.seal_key_path.read_bytes(),
            certificate=pki.seal_cert,
            key_label="sign",
            key_id=b"\x01",
        )
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
        module_path=SOFTHSM_MODULE,
        token_label=token_label(username),
        pin=hsm_pin(settings),
        key_label="sign",
    )


def images_dir(settings: Settings) -> Path:
    """Signature images (<username>.png) and the seal image (seal.png): drawn by `eoffice pki
    init` in development; in production the operator puts the scanned images here."""
    return pki_dir(settings) / "images"


def signature_image(settings: Settings, username: str) -> bytes:
    path = images_dir(settings) / f"{username}.png"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyringError(f"no signature image for {username}: put a PNG at {path}") from None


# ---- Production: trust roots from files, keys and certificates on a PKCS#11 token ----------


@dataclass(frozen=True)
class ProductionPki:
    """The agency's configured PKI: what `SigningSetup` needs in place of the dev PKI."""

    trust: TrustSettings
    chain: tuple[x509.Certificate, ...]
    seal_cert: x509.Certificate
    certs: dict[str, x509.Certificate]

    def user_cert(self, username: str) -> x509.Certificate:
        try:
            return self.certs[username]
        except KeyError:
            raise KeyringError(f"{username} has no signing certificate on the token") from None


def production_pin(settings: Settings) -> str:
    if settings.hsm_pin_file:
        try:
            return Path(settings.hsm_pin_file).read_text().strip()
        except OSError as exc:
            raise KeyringError(
                f"cannot read EOFFICE_HSM_PIN_FILE {settings.hsm_pin_file}: {exc}"
            ) from exc
    return settings.hsm_pin


def _pem_file(name: str, path: str) -> tuple[x509.Certificate, ...]:
    try:
        return load_certificates(data=Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyringError(f"{name} {path}: no certificates could be read ({exc})") from exc


def production_key(settings: Settings, label: str) -> Pkcs11Key:
    return Pkcs11Key(
        module_path=settings.hsm_module,
        token_label=settings.hsm_token_label,
        pin=production_pin(settings),
        key_label=label,
    )


def _check_key_matches(key: Pkcs11Key, cert: x509.Certificate, label: str) -> None:
    """Sign a probe on the token and verify it with the certificate's public key (blocking:
    it runs the key's coroutine to completion, so call it from a thread)."""
    probe = b"eoffice start-up key check"
    try:
        value = asyncio.run(key.sign(dtbs=probe, md_algorithm="sha256"))
    except KeyProviderError as exc:
        raise KeyringError(f"no usable private key labelled {label!r} on the token: {exc}") from exc
    finally:
        key.close()
    public = pyca_x509.load_der_x509_certificate(cert.dump()).public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(value, probe, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(value, probe, ec.ECDSA(hashes.SHA256()))
        else:
            raise KeyringError(f"certificate {label!r}: unsupported key type")
    except InvalidSignature:
        raise KeyringError(
            f"the certificate for {label!r} does not match the private key {label!r} on the "
            "token: import the certificate issued for that key"
        ) from None


def load_production(settings: Settings) -> ProductionPki:
    """Load and check the production signing set-up; raise `KeyringError` saying what is wrong.

    Checks at start: the module loads, the token is there and the PIN is right, the seal image
    and the seal's certificate are there, and the key of every certificate (from a file or the
    token; the seal's among them) signs a probe that its certificate verifies. Blocking
    (PKCS#11): call it in a thread.
    """
    roots = _pem_file("EOFFICE_TRUST_ROOTS_FILE", settings.trust_roots_file)
    others = (
        _pem_file("EOFFICE_CA_CERTS_FILE", settings.ca_certs_file) if settings.ca_certs_file else ()
    )
    if not Path(settings.hsm_module).is_file():
        raise KeyringError(f"EOFFICE_HSM_MODULE {settings.hsm_module}: no such file")
    try:
        certs = token_certificates(
            module_path=settings.hsm_module,
            token_label=settings.hsm_token_label,
            pin=production_pin(settings),
        )
    except KeyProviderError as exc:
        raise KeyringError(str(exc)) from exc
    if settings.signing_certs_dir:
        for path in sorted(Path(settings.signing_certs_dir).glob("*.pem")):
            certs[path.stem] = _pem_file("certificate", str(path))[0]
    if not (images_dir(settings) / "seal.png").is_file():
        raise KeyringError(
            f"no seal image: put the agency seal as a PNG at {images_dir(settings)}/seal.png"
        )
    if SEAL not in certs:
        raise KeyringError(
            "no certificate for the agency seal: put seal.pem in EOFFICE_SIGNING_CERTS_DIR "
            "or a certificate labelled 'seal' on the token"
        )
    for label, cert in certs.items():
        _check_key_matches(production_key(settings, label), cert, label)
    seal = certs.pop(SEAL)
    return ProductionPki(
        trust=TrustSettings(trust_roots=roots, other_certs=others),
        chain=others,
        seal_cert=seal,
        certs=certs,
    )
