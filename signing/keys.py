"""Key providers: something that turns the data to be signed (DTBS) into a signature value.

The DTBS is the DER encoding of the CMS signed attributes; a provider hashes it with the digest
algorithm and signs with RSA PKCS#1 v1.5 or ECDSA (DER-encoded). Server-held keys live on a PKCS#11
token (:class:`signing.pkcs11.Pkcs11Key`); :class:`InMemoryKey` is for tests and development only.
"""

from __future__ import annotations

import abc
import asyncio

from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from signing.errors import KeyProviderError

__all__ = ["InMemoryKey", "KeyProvider", "hash_algorithm"]


def hash_algorithm(md_algorithm: str) -> hashes.HashAlgorithm:
    """Map a pyHanko digest name (``sha256``…) to a cryptography hash object.

    Raises:
        ValueError: for an unsupported algorithm.
    """
    table: dict[str, hashes.HashAlgorithm] = {
        "sha256": hashes.SHA256(),
        "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
    }
    try:
        return table[md_algorithm]
    except KeyError:
        raise ValueError(f"unsupported digest algorithm {md_algorithm!r}") from None


class KeyProvider(abc.ABC):
    """A signing key. Implementations must be safe to call concurrently."""

    @abc.abstractmethod
    async def sign(self, *, dtbs: bytes, md_algorithm: str = "sha256") -> bytes:
        """Sign the data to be signed.

        Args:
            dtbs: the DER-encoded CMS signed attributes (the key provider hashes them).
            md_algorithm: digest algorithm name.

        Returns:
            The signature value: PKCS#1 v1.5 for RSA, DER ``ECDSA-Sig-Value`` for ECDSA.

        Raises:
            KeyProviderError: if the key store fails.
        """


class InMemoryKey(KeyProvider):
    """A private key held in process memory. For tests and development only.

    Args:
        private_key: PKCS#8 PEM/DER bytes or an asn1crypto ``PrivateKeyInfo``.
    """

    def __init__(self, private_key: bytes | asn1_keys.PrivateKeyInfo) -> None:
        if isinstance(private_key, asn1_keys.PrivateKeyInfo):
            der = private_key.dump()
            loaded = serialization.load_der_private_key(der, password=None)
        elif private_key.lstrip().startswith(b"-----"):
            loaded = serialization.load_pem_private_key(private_key, password=None)
        else:
            loaded = serialization.load_der_private_key(private_key, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("only RSA and ECDSA keys are supported")
        self._key = loaded

    def _sign_sync(self, dtbs: bytes, md_algorithm: str) -> bytes:
        algo = hash_algorithm(md_algorithm)
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(dtbs, padding.PKCS1v15(), algo)
        return self._key.sign(dtbs, ec.ECDSA(algo))

    async def sign(self, *, dtbs: bytes, md_algorithm: str = "sha256") -> bytes:
        """Sign ``dtbs``; see :meth:`KeyProvider.sign`."""
        try:
            return await asyncio.to_thread(self._sign_sync, dtbs, md_algorithm)
        except ValueError as exc:
            raise KeyProviderError(str(exc)) from exc
