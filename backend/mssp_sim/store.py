"""In-memory state of the simulated MSSP: SIMs, PIN counters and signature transactions."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

from backend.mssp_sim.config import Behaviour, SimConfig, SimIdentity

__all__ = ["STATUS_NAMES", "ConfirmOutcome", "SimStore", "SimUser", "Transaction"]

STATUS_NAMES = {
    100: "REQUEST_OK",
    101: "WRONG_PARAM",
    102: "MISSING_PARAM",
    103: "WRONG_DATA_LENGTH",
    104: "UNAUTHORIZED_ACCESS",
    105: "UNKNOWN_CLIENT",
    108: "INCOMPATIBLE_INTERFACE",
    208: "EXPIRED_TRANSACTION",
    209: "OTA_ERROR",
    401: "USER_CANCEL",
    402: "PIN_NR_BLOCKED",
    422: "NO_CERT_FOUND",
    500: "SIGNATURE",
    504: "OUTSTANDING_TRANSACTION",
    900: "INTERNAL_ERROR",
}
OUTSTANDING = 504
ConfirmOutcome = Literal["signed", "wrong_pin", "blocked", "not_pending"]


@dataclass(slots=True)
class Transaction:
    """One MSS_SignatureReq and what became of it."""

    mssp_trans_id: str
    ap_trans_id: str
    msisdn: str
    digest: bytes
    display_text: str
    event_id: str
    created: float
    deadline: float
    status: int = OUTSTANDING
    signature: bytes | None = None

    @property
    def pending(self) -> bool:
        return self.status == OUTSTANDING

    @property
    def status_message(self) -> str:
        return STATUS_NAMES.get(self.status, "UNKNOWN")


@dataclass(slots=True)
class SimUser:
    """A SIM and its mutable state."""

    identity: SimIdentity
    behaviour: Behaviour
    wrong_pins: int = 0
    pin_blocked: bool = False


class SimStore:
    """All mutable simulator state. Methods never await, so the event loop serialises them."""

    def __init__(
        self,
        config: SimConfig,
        *,
        on_finish: Callable[[Transaction], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.users = {i.msisdn: SimUser(i, i.behaviour) for i in config.identities}
        self.transactions: dict[str, Transaction] = {}
        self.down = False
        self._on_finish = on_finish
        self._clock = clock

    def start(
        self,
        *,
        user: SimUser,
        ap_trans_id: str,
        digest: bytes,
        display_text: str,
        event_id: str,
        timeout: int,
    ) -> Transaction:
        """Open a transaction; the phone's behaviour may finish it at once."""
        now = self._clock()
        tx = Transaction(
            mssp_trans_id="S" + secrets.token_hex(12),
            ap_trans_id=ap_trans_id,
            msisdn=user.identity.msisdn,
            digest=digest,
            display_text=display_text,
            event_id=event_id,
            created=now,
            deadline=now + timeout,
        )
        self.transactions[tx.mssp_trans_id] = tx
        behaviour = user.behaviour
        if user.pin_blocked or behaviour is Behaviour.PIN_BLOCKED:
            user.pin_blocked = True
            self._finish(tx, 402)
        elif user.identity.certificate_der is None or behaviour is Behaviour.NO_CERT:
            self._finish(tx, 422)
        elif behaviour is Behaviour.AUTO_CONFIRM:
            self._sign(tx, user, digest)
        elif behaviour is Behaviour.WRONG_DATA:
            self._sign(tx, user, hashlib.sha256(b"not the document" + digest).digest())
        elif behaviour is Behaviour.AUTO_CANCEL:
            self._finish(tx, 401)
        elif behaviour is Behaviour.EXPIRE:
            self._finish(tx, 208)
        elif behaviour is Behaviour.UNREACHABLE:
            self._finish(tx, 209)
        return tx

    def get(self, mssp_trans_id: str) -> Transaction | None:
        """The transaction, expired first if its time is up."""
        tx = self.transactions.get(mssp_trans_id)
        if tx is not None and tx.pending and self._clock() >= tx.deadline:
            self._finish(tx, 208)
        return tx

    def pending_for(self, msisdn: str) -> list[Transaction]:
        """Outstanding transactions of one phone, oldest first."""
        found = [self.get(t.mssp_trans_id) for t in list(self.transactions.values())]
        return [t for t in found if t is not None and t.msisdn == msisdn and t.pending]

    def confirm(self, mssp_trans_id: str, pin: str) -> ConfirmOutcome:
        """The user entered ``pin`` and pressed confirm."""
        tx = self.get(mssp_trans_id)
        if tx is None or not tx.pending:
            return "not_pending"
        user = self.users[tx.msisdn]
        if not secrets.compare_digest(pin.encode(), self.config.pin.encode()):
            user.wrong_pins += 1
            if user.wrong_pins < self.config.max_pin_attempts:
                return "wrong_pin"
            user.pin_blocked = True
            self._finish(tx, 402)
            return "blocked"
        user.wrong_pins = 0
        if user.behaviour is Behaviour.WRONG_DATA:
            self._sign(tx, user, hashlib.sha256(b"not the document" + tx.digest).digest())
        else:
            self._sign(tx, user, tx.digest)
        return "signed"

    def cancel(self, mssp_trans_id: str) -> bool:
        """The user pressed cancel (401)."""
        return self._end_pending(mssp_trans_id, 401)

    def expire(self, mssp_trans_id: str) -> bool:
        """Let the transaction time out now (208)."""
        return self._end_pending(mssp_trans_id, 208)

    def set_behaviour(self, msisdn: str, behaviour: Behaviour) -> None:
        """Change a phone's behaviour; ``manual`` also unblocks its PIN."""
        user = self.users[msisdn]
        user.behaviour = behaviour
        if behaviour is Behaviour.MANUAL:
            user.pin_blocked = False
            user.wrong_pins = 0

    def _end_pending(self, mssp_trans_id: str, status: int) -> bool:
        tx = self.get(mssp_trans_id)
        if tx is None or not tx.pending:
            return False
        self._finish(tx, status)
        return True

    def _sign(self, tx: Transaction, user: SimUser, digest: bytes) -> None:
        key = serialization.load_pem_private_key(user.identity.private_key_pem, password=None)
        prehashed = Prehashed(hashes.SHA256())
        if isinstance(key, rsa.RSAPrivateKey):
            tx.signature = key.sign(digest, padding.PKCS1v15(), prehashed)
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            # SIMs return ECDSA as plain r‖s, not DER.
            r, s = decode_dss_signature(key.sign(digest, ec.ECDSA(prehashed)))
            size = (key.curve.key_size + 7) // 8
            tx.signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
        else:
            self._finish(tx, 900)
            return
        self._finish(tx, 500)

    def _finish(self, tx: Transaction, status: int) -> None:
        tx.status = status
        if self._on_finish is not None:
            self._on_finish(tx)
