"""SIM-PKI signing via a Mobile Signature Service Provider (ETSI TS 102 204, Kiuru JSON binding).

Flow: :meth:`MssClient.request_certificate` (before preparing the PDF), then
:meth:`MssClient.start_signature` with the DTBS hash, then :meth:`MssClient.await_signature` (or
:meth:`MssClient.poll_signature` step by step). The signature value is verified against the
certificate and the hash before it is returned. :func:`verify_notification` checks the MSSP's
signed completion callback.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from signing.mss_errors import (
    MssCardBlockedError,
    MssCertificateProblemError,
    MssError,
    MssExpiredError,
    MssInternalError,
    MssInvalidInputError,
    MssNoCertificateError,
    MssNoKeyError,
    MssPhoneUnreachableError,
    MssPinBlockedError,
    MssPollTimeoutError,
    MssProtocolError,
    MssRequestError,
    MssRevokedCertificateError,
    MssSignatureMismatchError,
    MssUnauthorizedError,
    MssUnavailableError,
    MssUnknownUserError,
    MssUserCancelledError,
    NotificationAlgorithmError,
    NotificationClaimsError,
    NotificationError,
    NotificationExpiredError,
    NotificationReplayError,
    NotificationSignatureError,
    error_for_status,
)
from signing.mss_notify import (
    InMemoryReplayGuard,
    MssNotification,
    ReplayGuard,
    verify_notification,
)
from signing.mss_protocol import (
    ETSI_PKCS1_FORMAT,
    KIURU_PKCS1_FORMAT,
    STATUS_OUTSTANDING,
    STATUS_REQUEST_OK,
    STATUS_SIGNATURE,
    STATUS_VALID_SIGNATURE,
    build_display_text,
    check_event_id,
    check_msisdn,
    control_code,
    fault_code,
    new_ap_trans_id,
    profile_request,
    sha256_digest_info,
    signature_request,
    status_code,
    status_request,
)
from signing.mss_verify import check_signature, load_certificate

__all__ = [
    "ETSI_PKCS1_FORMAT",
    "KIURU_PKCS1_FORMAT",
    "InMemoryReplayGuard",
    "MssCardBlockedError",
    "MssCertificateProblemError",
    "MssClient",
    "MssError",
    "MssExpiredError",
    "MssInternalError",
    "MssInvalidInputError",
    "MssNoCertificateError",
    "MssNoKeyError",
    "MssNotification",
    "MssPhoneUnreachableError",
    "MssPinBlockedError",
    "MssPollTimeoutError",
    "MssProtocolError",
    "MssRequestError",
    "MssRevokedCertificateError",
    "MssSignatureMismatchError",
    "MssTransaction",
    "MssUnauthorizedError",
    "MssUnavailableError",
    "MssUnknownUserError",
    "MssUserCancelledError",
    "NotificationAlgorithmError",
    "NotificationClaimsError",
    "NotificationError",
    "NotificationExpiredError",
    "NotificationReplayError",
    "NotificationSignatureError",
    "ReplayGuard",
    "build_display_text",
    "control_code",
    "error_for_status",
    "sha256_digest_info",
    "verify_notification",
]


@dataclass(frozen=True, slots=True)
class MssTransaction:
    """An MSS signature transaction in progress; keep it (e.g. in the session) between steps.

    Attributes:
        ap_trans_id: our unique transaction id (sent as AP_TransID).
        mssp_trans_id: the MSSP's transaction id, used for status queries.
        msisdn: the signer's phone number.
        dtbs_hash: the SHA-256 hash sent for signing; the signature must verify over it.
        certificate_der: the certificate the signature must verify with.
        event_id: the control code shown on the phone and on screen.
        started_at: ``time.time()`` when the MSSP accepted the request.
    """

    ap_trans_id: str
    mssp_trans_id: str
    msisdn: str
    dtbs_hash: bytes
    certificate_der: bytes
    event_id: str
    started_at: float


class MssClient:
    """Async client of one MSSP for one application provider (AP).

    Args:
        base_url: the MSSP's base URL, e.g. ``https://mssp.example.vn``.
        ap_id: our AP_ID (also the HTTP Basic user name).
        ap_password: our AP_PWD (also the HTTP Basic password).
        http_client: an ``httpx.AsyncClient`` to use; when omitted the client owns one and
            closes it in :meth:`aclose`.
        service_path: the single JSON endpoint, relative to ``base_url``.
        mss_format: the ``MSS_Format`` URI asking for a raw PKCS#1 signature.
        time_out: the ``TimeOut`` (seconds) the user has to answer on the phone.
        poll_initial_wait: seconds before the first status query (FiCom v2.2: 10).
        poll_interval: seconds between status queries (FiCom: 5).
        poll_timeout: seconds after which :meth:`await_signature` gives up (default 120).
        request_timeout: HTTP timeout of one request, seconds.
    """

    def __init__(
        self,
        base_url: str,
        ap_id: str,
        ap_password: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        service_path: str = "/rest/service",
        mss_format: str = KIURU_PKCS1_FORMAT,
        time_out: int = 120,
        poll_initial_wait: float = 10.0,
        poll_interval: float = 5.0,
        poll_timeout: float = 120.0,
        request_timeout: float = 15.0,
    ) -> None:
        self._url = base_url.rstrip("/") + service_path
        self._ap_id = ap_id
        self._ap_password = ap_password
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=request_timeout)
        self._auth = httpx.BasicAuth(ap_id, ap_password)
        self._request_timeout = request_timeout
        self._mss_format = mss_format
        self._time_out = time_out
        self.poll_initial_wait = poll_initial_wait
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_client:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def request_certificate(self, *, msisdn: str) -> bytes:
        """Fetch the user's signing certificate (``MSS_ProfileReq``), needed before preparing.

        Args:
            msisdn: the phone number in international form (``+84...``).

        Returns:
            The certificate, DER.

        Raises:
            MssUnknownUserError: the number is not registered (105).
            MssNoCertificateError: the user has no certificate (422).
            MssUnavailableError: the MSSP cannot be reached.
            MssError: any other MSS status, as its specific subclass.
        """
        check_msisdn(msisdn)
        document = await self._post(
            profile_request(
                ap_id=self._ap_id,
                ap_password=self._ap_password,
                ap_trans_id=new_ap_trans_id(),
                msisdn=msisdn,
            ),
            "MSS_ProfileResp",
        )
        code, detail = status_code(document)
        if code != STATUS_REQUEST_OK:
            raise error_for_status(code, detail)
        certificates = document.get("Certificates")
        if not isinstance(certificates, list) or not certificates:
            raise error_for_status(422, "MSS_ProfileResp lists no certificate")
        certificate_der = _b64(certificates[0], "certificate")
        load_certificate(certificate_der)
        return certificate_der

    async def start_signature(
        self,
        *,
        msisdn: str,
        certificate_der: bytes,
        dtbs_hash: bytes,
        display_text: str,
        event_id: str | None = None,
    ) -> MssTransaction:
        """Send ``MSS_SignatureReq`` (asynchClientServer) and return the open transaction.

        Args:
            msisdn: the phone number in international form (``+84...``).
            certificate_der: the certificate from :meth:`request_certificate`.
            dtbs_hash: SHA-256 of the data to be signed (for PAdES: of the signed attributes).
            display_text: the text shown on the phone (≤110 characters); see
                :func:`build_display_text`.
            event_id: the control code for both screens; defaults to
                :func:`control_code` of ``dtbs_hash``.

        Returns:
            The :class:`MssTransaction` to poll.

        Raises:
            MssInvalidInputError: bad phone number, hash, EventID, certificate or display text.
            MssUnavailableError: the MSSP cannot be reached.
            MssError: the MSSP refused the request, as the status code's subclass.
        """
        check_msisdn(msisdn)
        load_certificate(certificate_der)
        sha256_digest_info(dtbs_hash)
        if event_id is None:
            event_id = control_code(dtbs_hash)
        check_event_id(event_id)
        if not display_text or len(display_text) > 110:
            raise MssInvalidInputError("display text must be 1-110 characters")
        ap_trans_id = new_ap_trans_id()
        document = await self._post(
            signature_request(
                ap_id=self._ap_id,
                ap_password=self._ap_password,
                ap_trans_id=ap_trans_id,
                msisdn=msisdn,
                dtbs_hash=dtbs_hash,
                display_text=display_text,
                event_id=event_id,
                mss_format=self._mss_format,
                time_out=self._time_out,
            ),
            "MSS_SignatureResp",
        )
        code, detail = status_code(document)
        if code not in (STATUS_REQUEST_OK, STATUS_OUTSTANDING):
            raise error_for_status(code, detail)
        mssp_trans_id = document.get("MSSP_TransID")
        if not isinstance(mssp_trans_id, str) or not mssp_trans_id:
            raise MssProtocolError("MSS_SignatureResp without MSSP_TransID")
        return MssTransaction(
            ap_trans_id=ap_trans_id,
            mssp_trans_id=mssp_trans_id,
            msisdn=msisdn,
            dtbs_hash=dtbs_hash,
            certificate_der=certificate_der,
            event_id=event_id,
            started_at=time.time(),
        )

    async def poll_signature(self, transaction: MssTransaction) -> bytes | None:
        """Ask once (``MSS_StatusReq``) whether the user has signed.

        Args:
            transaction: from :meth:`start_signature`.

        Returns:
            ``None`` while the transaction is outstanding; otherwise the verified signature
            value (RSA: PKCS#1 v1.5 bytes; ECDSA: DER ``ECDSA-Sig-Value``).

        Raises:
            MssSignatureMismatchError: the MSSP returned a value that does not verify over
                ``transaction.dtbs_hash`` with ``transaction.certificate_der``.
            MssUserCancelledError, MssExpiredError, MssPinBlockedError, ...: the final status.
            MssUnavailableError: the MSSP cannot be reached.
        """
        document = await self._post(
            status_request(
                ap_id=self._ap_id,
                ap_password=self._ap_password,
                ap_trans_id=new_ap_trans_id(),
                mssp_trans_id=transaction.mssp_trans_id,
            ),
            "MSS_StatusResp",
        )
        code, detail = status_code(document)
        if code in (STATUS_OUTSTANDING, STATUS_REQUEST_OK):
            return None
        if code not in (STATUS_SIGNATURE, STATUS_VALID_SIGNATURE):
            raise error_for_status(code, detail)
        if document.get("MSSP_TransID", transaction.mssp_trans_id) != transaction.mssp_trans_id:
            raise MssProtocolError("MSS_StatusResp is for another transaction")
        signature = document.get("MSS_Signature")
        if not isinstance(signature, Mapping):
            raise MssProtocolError("MSS_StatusResp reports a signature but carries none")
        raw = _b64(signature.get("Base64Signature"), "signature")
        return check_signature(
            signature=raw,
            certificate_der=transaction.certificate_der,
            dtbs_hash=transaction.dtbs_hash,
        )

    async def await_signature(
        self,
        transaction: MssTransaction,
        *,
        initial_wait: float | None = None,
        interval: float | None = None,
        max_wait: float | None = None,
    ) -> bytes:
        """Poll until the user signs, refuses, or ``max_wait`` passes.

        Args:
            transaction: from :meth:`start_signature`.
            initial_wait: seconds before the first query; defaults to the client's setting.
            interval: seconds between queries; defaults to the client's setting.
            max_wait: seconds (from now) before giving up; defaults to ``poll_timeout``.

        Returns:
            The verified signature value, as :meth:`poll_signature` returns it.

        Raises:
            MssPollTimeoutError: no final answer within ``max_wait``.
            MssError: as :meth:`poll_signature`.
        """
        initial_wait = self.poll_initial_wait if initial_wait is None else initial_wait
        interval = self.poll_interval if interval is None else interval
        max_wait = self.poll_timeout if max_wait is None else max_wait
        deadline = time.monotonic() + max_wait
        await asyncio.sleep(min(initial_wait, max_wait))
        while True:
            signature = await self.poll_signature(transaction)
            if signature is not None:
                return signature
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MssPollTimeoutError(
                    f"no answer from {transaction.msisdn} within {max_wait:g} s "
                    f"(MSSP_TransID {transaction.mssp_trans_id})"
                )
            await asyncio.sleep(min(interval, remaining))

    async def _post(self, message: dict[str, Any], response_name: str) -> Mapping[str, Any]:
        try:
            response = await self._http.post(
                self._url, json=message, auth=self._auth, timeout=self._request_timeout
            )
        except httpx.HTTPError as exc:
            raise MssUnavailableError(
                f"{MssUnavailableError.default_en} ({type(exc).__name__}: {exc})"
            ) from None
        try:
            document = response.json()
        except ValueError:
            document = None
        if isinstance(document, Mapping):
            fault = fault_code(document)
            if fault is not None:
                raise error_for_status(*fault)
            body = document.get(response_name)
            if response.is_success and isinstance(body, Mapping):
                return body
        if response.status_code >= 500 or response.status_code in (404, 408, 429):
            raise MssUnavailableError(
                f"{MssUnavailableError.default_en} (HTTP {response.status_code})"
            )
        if response.status_code in (401, 403):
            raise MssUnauthorizedError(code=104, detail=f"HTTP {response.status_code}")
        raise MssProtocolError(
            f"unexpected MSSP answer: HTTP {response.status_code}, no {response_name}"
        )


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise MssProtocolError(f"MSSP response without {what}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MssProtocolError(f"MSSP sent an unreadable {what}") from None
