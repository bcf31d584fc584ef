"""PKCS#11 keys (SoftHSM2 in development, a network HSM in production) and SoftHSM helpers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
from abc import abstractmethod
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding, PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo, Prehashed
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from signing.errors import KeyProviderError
from signing.keys import KeyProvider
from signing.signature_values import ecdsa_raw_to_der

__all__ = [
    "SOFTHSM_MODULE",
    "Pkcs11Key",
    "Pkcs11RsaPrivateKey",
    "create_softhsm_token",
    "token_certificates",
    "write_softhsm_config",
]

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

_MECHANISMS: dict[tuple[KeyType, str], Mechanism] = {
    (KeyType.RSA, "sha256"): Mechanism.SHA256_RSA_PKCS,
    (KeyType.RSA, "sha384"): Mechanism.SHA384_RSA_PKCS,
    (KeyType.RSA, "sha512"): Mechanism.SHA512_RSA_PKCS,
    (KeyType.EC, "sha256"): Mechanism.ECDSA_SHA256,
    (KeyType.EC, "sha384"): Mechanism.ECDSA_SHA384,
    (KeyType.EC, "sha512"): Mechanism.ECDSA_SHA512,
}


# python-pkcs11 initialises modules with C_Initialize(NULL): by the PKCS#11 spec that promises the
# module no concurrent calls, and SoftHSM then uses no locking (concurrent calls crashed in tests).
# So every PKCS#11 call in this process goes through one lock; a signature takes ~2 ms on SoftHSM.
_PKCS11_LOCK = threading.Lock()


class Pkcs11Key(KeyProvider):
    """A private key on a PKCS#11 token.

    Safe for concurrent use: signatures run in worker threads and every PKCS#11 call is
    serialised process-wide (see the note on ``C_Initialize`` above). The session is opened
    lazily, logged in once, and reopened if the token drops it.

    Args:
        module_path: the PKCS#11 module (``.so``).
        token_label: label of the token holding the key.
        pin: the user PIN.
        key_label: ``CKA_LABEL`` of the private key (give this and/or ``key_id``).
        key_id: ``CKA_ID`` of the private key.
    """

    def __init__(
        self,
        *,
        module_path: str,
        token_label: str,
        pin: str,
        key_label: str | None = None,
        key_id: bytes | None = None,
    ) -> None:
        if key_label is None and key_id is None:
            raise ValueError("give key_label or key_id")
        self._module_path = module_path
        self._token_label = token_label
        self._pin = pin
        self._key_label = key_label
        self._key_id = key_id
        self._session: Any = None
        self._key: Any = None

    def _open_locked(self) -> None:
        token = pkcs11.lib(self._module_path).get_token(token_label=self._token_label)
        try:
            session = token.open(user_pin=self._pin)
        except pkcs11.exceptions.UserAlreadyLoggedIn:
            # PKCS#11 logins are per application: another key object already logged in.
            session = token.open()
        query: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
        if self._key_label is not None:
            query[Attribute.LABEL] = self._key_label
        if self._key_id is not None:
            query[Attribute.ID] = self._key_id
        found = list(session.get_objects(query))
        if len(found) != 1:
            session.close()
            raise KeyProviderError(f"expected exactly one private key, found {len(found)}")
        self._session, self._key = session, found[0]

    def _sign_sync(self, dtbs: bytes, md_algorithm: str) -> bytes:
        with _PKCS11_LOCK:
            if self._key is None:
                self._open_locked()
            key = self._key
            mechanism = _MECHANISMS[(key.key_type, md_algorithm)]
            try:
                value = bytes(key.sign(dtbs, mechanism=mechanism))
            except pkcs11.exceptions.PKCS11Error:
                self._close_locked()
                raise
        if key.key_type == KeyType.EC:
            return ecdsa_raw_to_der(value=value)
        return value

    async def sign(self, *, dtbs: bytes, md_algorithm: str = "sha256") -> bytes:
        """Sign ``dtbs`` on the token; see :meth:`KeyProvider.sign`."""
        return await asyncio.to_thread(self.sign_blocking, dtbs=dtbs, md_algorithm=md_algorithm)

    def sign_blocking(self, *, dtbs: bytes, md_algorithm: str = "sha256") -> bytes:
        """Sign ``dtbs`` on the token in the calling thread, for synchronous callers that are
        already off the event loop (see :meth:`KeyProvider.sign` for the arguments).

        Raises:
            KeyProviderError: if the token fails or has no such key or mechanism.
        """
        try:
            return self._sign_sync(dtbs, md_algorithm)
        except KeyProviderError:
            raise
        except (pkcs11.exceptions.PKCS11Error, KeyError) as exc:
            raise KeyProviderError(f"PKCS#11 signing failed: {exc!r}") from exc

    def _close_locked(self) -> None:
        session, self._session, self._key = self._session, None, None
        if session is not None:
            session.close()

    def close(self) -> None:
        """Close the session (the token logs out when its last session closes)."""
        with _PKCS11_LOCK:
            self._close_locked()


class _HeldRsaKey(rsa.RSAPrivateKey):
    """An RSA key held elsewhere (a token, a `KeyProvider`) as a ``cryptography`` private key,
    for libraries that sign with one (signxml's XML-DSig calls
    ``key.sign(data, padding=PKCS1v15(), algorithm=...)``): PKCS#1 v1.5 over the data, every
    value checked with the certificate's public key before it is returned, so a certificate that
    is not the key's, or a fault, raises rather than yield a signature nobody can verify. The key
    does not leave its holder: ``decrypt``, ``private_numbers`` and ``private_bytes`` raise
    :class:`UnsupportedAlgorithm`."""

    _holder = "the key"
    _mismatch = "the key's signature does not verify with the certificate"
    _hidden = "the private key is the provider's"

    def __init__(self, public: rsa.RSAPublicKey) -> None:
        self._public = public

    @abstractmethod
    def _sign(self, data: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
        """The holder's raw PKCS#1 v1.5 signature of `data` (each subclass asks its holder)."""

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: Prehashed | hashes.HashAlgorithm | NoDigestInfo,
    ) -> bytes:
        if not isinstance(padding, PKCS1v15) or not isinstance(algorithm, hashes.HashAlgorithm):
            raise UnsupportedAlgorithm(f"{self._holder} signs with PKCS#1 v1.5 over the data only")
        value = self._sign(data, algorithm)
        try:
            self._public.verify(value, data, PKCS1v15(), algorithm)
        except InvalidSignature:
            raise KeyProviderError(self._mismatch) from None
        return value

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> bytes:
        raise UnsupportedAlgorithm(f"{self._holder} is used for signatures only")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise UnsupportedAlgorithm(self._hidden)

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise UnsupportedAlgorithm(self._hidden)

    def __copy__(self) -> _HeldRsaKey:
        return self  # a handle to the key: nothing to copy

    def __deepcopy__(self, memo: dict[int, object]) -> _HeldRsaKey:
        return self


class Pkcs11RsaPrivateKey(_HeldRsaKey):
    """An RSA key on a PKCS#11 token as a ``cryptography`` private key (see `_HeldRsaKey`):
    ``sign`` runs on the token, in the calling thread, with SHA-256/384/512 (the data hashed on
    the token).

    Args:
        key: the token key.
        certificate: the key's certificate (its public key is this key's public half).

    Raises:
        KeyProviderError: the certificate's key is not RSA.
    """

    _holder = "the token key"
    _mismatch = (
        "the token's signature does not verify with the certificate: is the certificate the one "
        "issued for this key?"
    )
    _hidden = "the private key does not leave the token"

    def __init__(self, key: Pkcs11Key, *, certificate: x509.Certificate) -> None:
        public = serialization.load_der_public_key(certificate.public_key.dump())
        if not isinstance(public, rsa.RSAPublicKey):
            raise KeyProviderError("the certificate's key is not an RSA key")
        super().__init__(public)
        self._key = key

    def _sign(self, data: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
        if algorithm.name not in {"sha256", "sha384", "sha512"}:
            raise UnsupportedAlgorithm(f"the token key does not sign with {algorithm.name}")
        return self._key.sign_blocking(dtbs=data, md_algorithm=algorithm.name)


class ProviderRsaPrivateKey(_HeldRsaKey):
    """Any `KeyProvider` with an RSA key (an in-memory key, a remote signer) as a
    ``cryptography`` private key (see `_HeldRsaKey`): its coroutine runs to completion in the
    calling thread, which must not be running an event loop."""

    def __init__(self, key: KeyProvider, public: rsa.RSAPublicKey) -> None:
        super().__init__(public)
        self._key = key

    def _sign(self, data: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
        return asyncio.run(self._key.sign(dtbs=data, md_algorithm=algorithm.name))


def write_softhsm_config(*, directory: Path) -> Path:
    """Write a SoftHSM2 configuration using ``directory/tokens`` as token store.

    Set the ``SOFTHSM2_CONF`` environment variable to the returned path *before* the PKCS#11
    module is first loaded in the process.

    Args:
        directory: where to put ``softhsm2.conf`` and ``tokens/``.

    Returns:
        The configuration file path.
    """
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n",
        encoding="utf-8",
    )
    return conf


_CERT_IMPORT = """
import sys, pkcs11
from pkcs11 import Attribute, ObjectClass, CertificateType
module, token_label, pin, label, key_id, der_path = sys.argv[1:]
token = pkcs11.lib(module).get_token(token_label=token_label)
from asn1crypto import x509
with open(der_path, 'rb') as f:
    der = f.read()
cert = x509.Certificate.load(der)
with token.open(rw=True, user_pin=pin) as s:
    s.create_object({Attribute.CLASS: ObjectClass.CERTIFICATE,
                     Attribute.CERTIFICATE_TYPE: CertificateType.X_509, Attribute.TOKEN: True,
                     Attribute.LABEL: label, Attribute.ID: bytes.fromhex(key_id),
                     Attribute.SUBJECT: cert.subject.dump(), Attribute.ISSUER: cert.issuer.dump(),
                     Attribute.SERIAL_NUMBER: cert['tbs_certificate']['serial_number'].dump(),
                     Attribute.VALUE: der})
"""


def create_softhsm_token(
    *,
    token_label: str,
    pin: str,
    so_pin: str,
    key_pem: bytes,
    certificate: x509.Certificate,
    key_label: str,
    key_id: bytes,
    module_path: str = SOFTHSM_MODULE,
) -> None:
    """Create a SoftHSM2 token and import a private key and its certificate (dev and tests).

    The work runs in child processes (``softhsm2-util`` and a short Python script), because a
    PKCS#11 module already initialised in this process does not see tokens created afterwards.
    ``SOFTHSM2_CONF`` must point to the configuration (see :func:`write_softhsm_config`).

    Args:
        token_label: label of the new token.
        pin: user PIN.
        so_pin: security officer PIN.
        key_pem: the private key as unencrypted PKCS#8 PEM.
        certificate: the matching certificate, stored with the same ``CKA_ID``.
        key_label: ``CKA_LABEL`` for the key and the certificate.
        key_id: ``CKA_ID`` for the key and the certificate.
        module_path: the SoftHSM2 PKCS#11 module.

    Raises:
        KeyProviderError: if SoftHSM refuses an operation.
    """
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        key_path = Path(tmp) / "key.pem"
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        der_path = Path(tmp) / "cert.der"
        der_path.write_bytes(certificate.dump())
        hexid = key_id.hex()
        init = ["--init-token", "--free", "--label", token_label, "--pin", pin, "--so-pin", so_pin]
        imp = ["--import", str(key_path), "--token", token_label, "--pin", pin]
        cert_args = [module_path, token_label, pin, key_label, hexid, str(der_path)]
        commands = [
            ["softhsm2-util", *init],
            ["softhsm2-util", *imp, "--label", key_label, "--id", hexid],
            [sys.executable, "-c", _CERT_IMPORT, *cert_args],
        ]
        for command in commands:
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
            if done.returncode != 0:
                raise KeyProviderError(
                    f"SoftHSM command {command[0]} failed: {done.stderr.strip() or done.stdout}"
                )


def token_certificates(
    *, module_path: str, token_label: str, pin: str
) -> dict[str, x509.Certificate]:
    """Read the X.509 certificates stored on a token, by their label.

    Args:
        module_path: the PKCS#11 module (shared library).
        token_label: the token's label.
        pin: the user PIN.

    Returns:
        The certificates by their ``CKA_LABEL``.

    Raises:
        KeyProviderError: the module cannot be loaded, the token is not there or the PIN is wrong.
    """
    with _PKCS11_LOCK:
        try:
            token = pkcs11.lib(module_path).get_token(token_label=token_label)
        except (pkcs11.exceptions.NoSuchToken, pkcs11.exceptions.MultipleTokensReturned) as exc:
            raise KeyProviderError(f"no single PKCS#11 token labelled {token_label!r}") from exc
        except (OSError, RuntimeError, pkcs11.exceptions.PKCS11Error) as exc:
            raise KeyProviderError(f"cannot load PKCS#11 module {module_path}: {exc!r}") from exc
        try:
            session = token.open(user_pin=pin)
        except pkcs11.exceptions.UserAlreadyLoggedIn:
            session = token.open()
        except pkcs11.exceptions.PinIncorrect as exc:
            raise KeyProviderError(f"wrong PIN for PKCS#11 token {token_label!r}") from exc
        except pkcs11.exceptions.PKCS11Error as exc:
            raise KeyProviderError(f"cannot log in to token {token_label!r}: {exc!r}") from exc
        try:
            found = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}))
            return {
                str(obj[Attribute.LABEL]): x509.Certificate.load(bytes(obj[Attribute.VALUE]))
                for obj in found
            }
        finally:
            session.close()
