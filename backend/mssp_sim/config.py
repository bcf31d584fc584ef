"""Configuration of the MSSP simulator: the AP it accepts, the demo SIMs, the test hooks."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

__all__ = ["Behaviour", "SimConfig", "SimIdentity", "demo_config", "generate_identity"]


class Behaviour(enum.StrEnum):
    """What a virtual phone does with a new signature request."""

    MANUAL = "manual"  # wait for the user on /phone/{msisdn}
    AUTO_CONFIRM = "auto_confirm"
    AUTO_CANCEL = "auto_cancel"  # 401
    EXPIRE = "expire"  # 208
    PIN_BLOCKED = "pin_blocked"  # 402
    WRONG_DATA = "wrong_data"  # signs, but over other data
    UNREACHABLE = "unreachable"  # 209
    NO_CERT = "no_cert"  # 422


@dataclass(frozen=True, slots=True)
class SimIdentity:
    """One signature SIM: its phone number, key and (optionally) certificate.

    Attributes:
        msisdn: the phone number, ``+84...``.
        private_key_pem: the SIM's private key (RSA or EC), unencrypted PKCS#8 PEM.
        certificate_der: the certificate the MSSP hands out; ``None`` means "no certificate" (422).
        display_name: the holder's name, shown on the virtual phone.
        behaviour: what the phone does initially (tests can change it through ``/_test/``).
    """

    msisdn: str
    private_key_pem: bytes
    certificate_der: bytes | None
    display_name: str = ""
    behaviour: Behaviour = Behaviour.MANUAL


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything the simulator app needs; build it directly in tests.

    Attributes:
        ap_id / ap_password: the single application provider accepted (body and HTTP Basic).
        identities: the demo SIMs.
        pin: the signing PIN of every demo SIM.
        max_pin_attempts: wrong PINs in a row before the PIN is blocked (402).
        default_timeout: seconds a request waits for the user when it names no TimeOut.
        mssp_id: our MSSP_ID; also the ``iss`` of notifications.
        enable_test_hooks: serve ``/_test/...`` (never in a shared deployment).
        notification_url: where to POST the signed completion notification; ``None``: don't.
        notification_key_pem: EC P-256 private key signing notifications; generated if ``None``.
        phone_refresh_seconds: how often the virtual phone page reloads itself.
    """

    ap_id: str = "http://eoffice.local/ap"
    ap_password: str = "dev-ap-password"  # noqa: S105 - a simulator's demo credential
    identities: tuple[SimIdentity, ...] = ()
    pin: str = "1234"
    max_pin_attempts: int = 3
    default_timeout: int = 300
    mssp_id: str = "http://mssp-sim.eoffice.local"
    enable_test_hooks: bool = False
    notification_url: str | None = None
    notification_key_pem: bytes | None = field(default=None, repr=False)
    phone_refresh_seconds: int = 3


def generate_identity(
    msisdn: str,
    *,
    display_name: str = "Người dùng thử nghiệm",
    key_type: str = "rsa",
    behaviour: Behaviour = Behaviour.MANUAL,
) -> SimIdentity:
    """A SIM with a fresh key and a self-signed certificate (fallback when no dev PKI is at hand).

    Args:
        msisdn: the phone number.
        display_name: the holder's name, used as the certificate's common name.
        key_type: ``"rsa"`` (RSA-2048) or ``"ec"`` (P-256).
        behaviour: the phone's initial behaviour.

    Returns:
        A :class:`SimIdentity` with certificate.
    """
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif key_type == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, display_name),
            x509.NameAttribute(NameOID.USER_ID, msisdn),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return SimIdentity(
        msisdn=msisdn,
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        certificate_der=cert.public_bytes(serialization.Encoding.DER),
        display_name=display_name,
        behaviour=behaviour,
    )


def demo_config(**overrides: object) -> SimConfig:
    """A ready-to-run configuration with two demo SIMs (self-signed certificates).

    ``+84900000001`` (RSA-2048, Nguyễn Văn An) and ``+84900000002`` (EC P-256, Trần Thị Bình).
    Keyword arguments override :class:`SimConfig` fields.
    """
    identities = (
        generate_identity("+84900000001", display_name="Nguyễn Văn An"),
        generate_identity("+84900000002", display_name="Trần Thị Bình", key_type="ec"),
    )
    values: dict[str, object] = {"identities": identities}
    values.update(overrides)
    return SimConfig(**values)  # type: ignore[arg-type]
