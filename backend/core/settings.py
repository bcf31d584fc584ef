"""The one place the environment is read.

`Settings.from_env()` is called once by the CLI; everything else receives the frozen object.
Tests construct `Settings(...)` directly. Every field is listed in `.env.example` (a test keeps
them in step) and maps to an `EOFFICE_<FIELD>` variable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit

ENV_PREFIX = "EOFFICE_"


class SettingsError(Exception):
    """A configuration value is missing or malformed."""


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be a boolean, got {raw!r}")


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()} must be an integer, got {raw!r}") from None


_POSITIVE_INTS = (
    "max_upload_mb",
    "session_idle_minutes",
    "session_absolute_minutes",
    "rate_limit_per_ip",
    "rate_limit_per_account",
    "api_token_days",
    "pdf_workers",
    "max_pages",
    "push_max_attempts",
    "push_retry_seconds",
    "push_claim_seconds",
    "escalation_margin_days",
    "archive_renew_margin_days",
    "signing_timeout_seconds",
    "revocation_timeout_seconds",
    "jobs_lease_seconds",
    "jobs_concurrency",
    "jobs_retry_seconds",
    "axis_poll_seconds",
    "axis_send_concurrency",
    "axis_max_packet_mb",
    "axis_timeout_seconds",
    "axis_receive_concurrency",
)
_BOOLS = ("demo", "push_worker", "scheduler", "jobs_worker")


@dataclass(frozen=True, kw_only=True)
class Settings:
    # Where the SQLite file, blobs, generated secrets and dev keys live (git-ignored).
    data_dir: Path = Path("data")
    # SQLAlchemy async URL; empty means a SQLite file in the data dir.
    database_url: str = ""
    # redis:// or unix:// URL; empty means an embedded redis-server owned by the app.
    redis_url: str = ""
    # Public origin as people's browsers see it; gives the WebAuthn RP ID and origin.
    base_url: str = "http://localhost:8000"
    # Demo mode: demo banner, "sign in as" shortcuts (identity issue), demo data allowed.
    demo: bool = False
    # Default interface language: "vi" (Vietnamese) or "en".
    default_language: str = "vi"
    # Where blobs (uploaded files, renditions, signed PDFs) are kept: empty means files under
    # the data dir; s3://bucket/prefix an S3-compatible object store (the bucket must exist;
    # `eoffice blobs migrate` copies the file store there). Its endpoint (empty: AWS), access
    # key and secret key (empty: boto3's usual chain, e.g. an instance role) and region.
    blob_url: str = ""
    blob_endpoint_url: str = ""
    blob_access_key: str = ""
    blob_secret_key: str = field(default="", repr=False)
    blob_region: str = ""
    # Upload size limit in megabytes.
    max_upload_mb: int = 50
    # Log level for the server.
    log_level: str = "info"
    # A session ends after this many minutes without a request…
    session_idle_minutes: int = 240
    # …and in any case this many minutes after sign-in (a tablet stays signed in for a working day).
    session_absolute_minutes: int = 720
    # Sign-in, enrolment and invitation attempts allowed per minute from one IP address…
    rate_limit_per_ip: int = 30
    # …and per account.
    rate_limit_per_account: int = 10
    # Default lifetime of a new API token, in days.
    api_token_days: int = 90
    # Worker processes for PDF checks, scan combining and page rendering.
    pdf_workers: int = 2
    # Page limit of one uploaded document.
    max_pages: int = 2000
    # PEM bundle of trusted root certificates for checking signatures (the Government Cipher
    # Committee's roots in production). Empty: the dev PKI's root, if `eoffice pki init` ran.
    trust_roots_file: str = ""
    # Production signing (all empty: the dev PKI made by `eoffice pki init`, the demo default).
    # Setting the PKCS#11 module turns it on; then the trust roots file and the token label are
    # required. The module (.so) of the HSM holding the agency seal key and leaders' server keys…
    hsm_module: str = ""
    # …the label of the token on it, and its user PIN: from a file (preferred) or the variable.
    hsm_token_label: str = ""
    hsm_pin_file: str = ""
    hsm_pin: str = field(default="", repr=False)
    # Keys on the token are labelled "seal" (agency seal) and <username> (a leader's key). Their
    # certificates come from <signing_certs_dir>/<label>.pem when that file exists, otherwise
    # from the certificate object with the same label on the token.
    signing_certs_dir: str = ""
    # PEM bundle of intermediate CA certificates (e.g. the Government CA's issuing CAs).
    ca_certs_file: str = ""
    # RFC 3161 timestamp authority; empty in production means signatures at level B-B only
    # (refused: production requires it). OCSP and CRLs are fetched over HTTP from the URLs in
    # the certificates, each request waiting at most this many seconds.
    tsa_url: str = ""
    revocation_timeout_seconds: int = 10
    # Web Push: send notices from this process (off when `eoffice worker` runs separately)…
    push_worker: bool = True
    # …`sub` claim of the VAPID token, how push services reach the operator (mailto: or https:).
    # Empty: mailto:webmaster@<host of base_url>.
    push_contact: str = ""
    # Attempts before a notice is dead-lettered, and the first retry delay (doubling each time).
    push_max_attempts: int = 5
    push_retry_seconds: int = 30
    # A notice a worker took and did not finish within this many seconds (the worker died) is
    # taken over by another worker; the outbox relays it again after twice as long.
    push_claim_seconds: int = 30
    # Background jobs (SIM polls, the signing sweep, reminders, archival renewal, signature
    # checks after a batch): run them in this process (off when only `eoffice worker` processes
    # should). A job's holder renews its lease while it runs; a process
    # silent for `jobs_lease_seconds` is presumed dead and its jobs are taken over. At most
    # `jobs_concurrency` jobs at once per process (a SIM poll waits on a phone: mostly idle).
    # A failed job is retried after `jobs_retry_seconds`, doubling each time (up to an hour).
    jobs_worker: bool = True
    jobs_lease_seconds: int = 20
    jobs_concurrency: int = 50
    jobs_retry_seconds: int = 30
    # Periodic jobs: this process enqueues them (each once per period, whichever process is
    # first); the morning digest hour (Hà Nội time); days a lead may be overdue before the
    # assigner is told; public holidays (comma-separated ISO dates) besides weekends.
    scheduler: bool = True
    digest_hour: int = 7
    escalation_margin_days: int = 1
    # Issued B-LTA files get a new archival timestamp this many days before the newest one's
    # TSA certificate ends (a periodic job).
    archive_renew_margin_days: int = 365
    holidays: str = ""
    # The hour a deadline given as a date alone means (HH:MM, Hà Nội): the end of the working day.
    deadline_time: str = "17:00"
    # Seconds a signing request waits for the signer's confirmation (passkey or SIM PIN).
    signing_timeout_seconds: int = 120
    # SIM-PKI: the Mobile Signature Service Provider's URL; empty in demo mode means the
    # simulator inside this app (base_url + "/mssp-sim"), elsewhere SIM signing is off…
    mssp_url: str = ""
    # …and our application provider's credentials there (the simulator's defaults in demo).
    mssp_ap_id: str = "http://eoffice.local/ap"
    mssp_ap_password: str = field(default="dev-ap-password", repr=False)
    # The national document axis (VXP): the adapter's URL (empty in demo mode means the axis
    # simulator inside this app, base_url + "/axis-sim/XrdAdapter/adapter"; elsewhere the
    # exchange is off), this system's id (mã trung tâm, e.g. 00.53.W00) and its secret.
    axis_url: str = ""
    axis_system_id: str = ""
    axis_secret: str = field(default="", repr=False)
    # Seconds between polls of the axis for documents and statuses; parallel sends per
    # document; the largest packet accepted (MB, attachments included, base64 counted).
    axis_poll_seconds: int = 60
    axis_send_concurrency: int = 8
    # Packets fetched and checked side by side by one poll (their effects apply in order).
    axis_receive_concurrency: int = 8
    axis_max_packet_mb: int = 50
    # Seconds a call to the axis may take (a send of tens of MB included).
    axis_timeout_seconds: int = 60
    # How a recall is asked of a recipient that has the document (README §5.3): "status", a
    # status packet 13, or "packet", a BussinessDocType-1 document packet repeating the
    # original's header. Both are received either way; which one this province's partners
    # expect is [unverified].
    axis_recall_mechanism: str = "status"

    def __post_init__(self) -> None:
        # Absolute once, here: children (the embedded redis-server chdirs to its --dir) and
        # anything that changes directory must not read a relative data dir against another cwd.
        object.__setattr__(self, "data_dir", Path(self.data_dir).absolute())
        parts = urlsplit(self.base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise SettingsError(f"base_url must be an http(s) origin, got {self.base_url!r}")
        if parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise SettingsError("base_url must be an origin without a path")
        if self.default_language not in {"vi", "en"}:
            raise SettingsError("default_language must be 'vi' or 'en'")
        if self.blob_url:
            parts = urlsplit(self.blob_url)
            if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
                raise SettingsError(f"blob_url must be s3://bucket/prefix, got {self.blob_url!r}")
        if self.blob_endpoint_url and urlsplit(self.blob_endpoint_url).scheme not in {
            "http",
            "https",
        }:
            raise SettingsError("blob_endpoint_url must be an http(s) URL")
        if self.axis_recall_mechanism not in {"status", "packet"}:
            raise SettingsError("axis_recall_mechanism must be 'status' or 'packet'")
        for name in _POSITIVE_INTS:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name} must be positive")
        if not 0 <= self.digest_hour <= 23:
            raise SettingsError("digest_hour must be 0–23")
        try:
            time.fromisoformat(self.deadline_time)
        except ValueError:
            raise SettingsError("deadline_time must be HH:MM, e.g. 17:00") from None
        if self.push_contact and not self.push_contact.startswith(("mailto:", "https:")):
            raise SettingsError("push_contact must start with mailto: or https:")
        if self.hsm_module:
            missing = [
                ENV_PREFIX + name.upper()
                for name in ("trust_roots_file", "hsm_token_label", "tsa_url")
                if not getattr(self, name)
            ]
            if not (self.hsm_pin or self.hsm_pin_file):
                missing.append("EOFFICE_HSM_PIN_FILE (or EOFFICE_HSM_PIN)")
            if missing:
                raise SettingsError(
                    "production signing (EOFFICE_HSM_MODULE is set) also needs: "
                    + ", ".join(missing)
                )
        if self.session_idle_minutes > self.session_absolute_minutes:
            raise SettingsError("session_idle_minutes must not exceed session_absolute_minutes")

    @property
    def production_signing(self) -> bool:
        return bool(self.hsm_module)

    @property
    def vapid_contact(self) -> str:
        return self.push_contact or f"mailto:webmaster@{urlsplit(self.base_url).hostname}"

    @property
    def origin(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def effective_mssp_url(self) -> str:
        if self.mssp_url:
            return self.mssp_url.rstrip("/")
        return self.origin + "/mssp-sim" if self.demo else ""

    @property
    def effective_axis_url(self) -> str:
        if self.axis_url:
            return self.axis_url.rstrip("/")
        return self.origin + "/axis-sim/XrdAdapter/adapter" if self.demo else ""

    @property
    def rp_id(self) -> str:
        """WebAuthn relying-party id: the host of the public origin (never an IP address)."""
        host = urlsplit(self.base_url).hostname
        assert host is not None
        return host

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def session_cookie(self) -> str:
        # `__Host-`: the browser refuses it unless Secure, host-only and Path=/.
        return "__Host-eoffice_session" if self.is_https else "eoffice_session"

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'eoffice.db').resolve()}"

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            if f.name == "data_dir":
                values[f.name] = Path(raw)
            elif f.name in _BOOLS:
                values[f.name] = _parse_bool(f.name, raw)
            elif f.name in (*_POSITIVE_INTS, "digest_hour"):
                values[f.name] = _parse_int(f.name, raw)
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]


def load_or_create_secret(data_dir: Path, name: str) -> str:
    """Return the secret stored in `<data_dir>/secrets/<name>`, creating it on first use."""
    directory = data_dir / "secrets"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once agree on one secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
