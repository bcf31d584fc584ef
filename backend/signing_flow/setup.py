"""What the signing flow needs from the installation: services, certificates, keys, images.

Built once in the lifespan when a PKI exists (`eoffice pki init` in development). Keys come from
a `KeySource`: PKCS#11 tokens in the app (SoftHSM in development, an HSM in production); tests
may hand in another source.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Protocol

from asn1crypto import x509

from backend.core.settings import Settings
from backend.documents.workers import PdfWorkers
from backend.interchange.xmlsig import PacketSeal
from backend.signing_flow import keyring
from signing import (
    KeyProvider,
    Pkcs11Key,
    SigningServices,
    TrustSettings,
    warm_signing_worker,
)


class KeySource(Protocol):
    def key(self, username: str) -> KeyProvider: ...


class SigningPki(Protocol):
    """The certificates the signing flow uses: the dev PKI or the agency's configured one."""

    @property
    def trust(self) -> TrustSettings: ...
    @property
    def chain(self) -> tuple[x509.Certificate, ...]: ...
    @property
    def seal_cert(self) -> x509.Certificate: ...
    def user_cert(self, username: str) -> x509.Certificate: ...


@dataclass
class ProductionKeys:
    """Server-held keys on the configured token: labelled "seal" and <username>."""

    settings: Settings
    _open: dict[str, Pkcs11Key] = field(default_factory=dict)

    def key(self, username: str) -> KeyProvider:
        if username not in self._open:
            self._open[username] = keyring.production_key(self.settings, username)
        return self._open[username]

    def close(self) -> None:
        """Close the token sessions (the token logs out when its last session closes)."""
        for key in self._open.values():
            key.close()
        self._open.clear()


@dataclass
class Pkcs11Keys:
    """Server-held keys on PKCS#11 tokens; one provider (and session) per token, kept open."""

    settings: Settings
    _open: dict[str, KeyProvider] = field(default_factory=dict)

    def key(self, username: str) -> KeyProvider:
        if username not in self._open:
            self._open[username] = keyring.server_key(self.settings, username)
        return self._open[username]


@dataclass(frozen=True)
class SigningSetup:
    settings: Settings
    services: SigningServices
    pki: SigningPki
    keys: KeySource
    # The app's PDF worker processes: a batch's PDF work runs there, on every core.
    workers: PdfWorkers | None = None

    @property
    def executor(self) -> Executor | None:
        return self.workers.executor if self.workers is not None else None

    def warm_workers(self) -> None:
        """Get the worker processes ready for a batch's PDF work while the signer confirms it
        (started, pyHanko loaded), not after the confirmation; returns at once."""
        if self.workers is not None:
            self.workers.warm(warm_signing_worker)

    def cert(self, username: str) -> x509.Certificate:
        if username == keyring.SEAL:
            return self.pki.seal_cert
        return self.pki.user_cert(username)

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return self.pki.chain

    def signature_image(self, username: str) -> bytes:
        return keyring.signature_image(self.settings, username)

    def seal_image(self) -> bytes:
        return keyring.signature_image(self.settings, keyring.SEAL)

    def packet_seal(self) -> PacketSeal | None:
        """The seal key and chain that seal the PDFs, to sign our axis packets with; None when
        the seal certificate is not RSA (packets are signed RSA-SHA256: they go unsigned)."""
        certificate = self.cert(keyring.SEAL)
        if certificate.public_key.algorithm != "rsa":
            return None
        return PacketSeal(key=self.keys.key(keyring.SEAL), certificates=(certificate, *self.chain))

    def has_key(self, username: str) -> bool:
        if isinstance(self.pki, keyring.ProductionPki):
            return username in self.pki.certs
        return (keyring.hsm_dir(self.settings) / "made" / username).exists()
