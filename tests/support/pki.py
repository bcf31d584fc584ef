"""A dev PKI with SoftHSM tokens made once per test session and copied into data dirs."""

from __future__ import annotations

import shutil
from pathlib import Path

from backend.core.settings import Settings
from backend.signing_flow import keyring

PEOPLE = [
    keyring.Person("leader", "Người leader", holds_server_key=True),
    # Who signs for whom: a Vice-Chairman (KT.) and the office chief (TL.) sign with their own.
    keyring.Person("deputy", "Người deputy", holds_server_key=True),
    keyring.Person("officechief", "Người office_chief", holds_server_key=True),
    keyring.Person("clerk", "Người clerk", holds_server_key=False),
    keyring.Person("specialist", "Người specialist", holds_server_key=False),
]
AGENCY = "Văn phòng UBND tỉnh Tây Ninh"


def make_signing_home(home: Path) -> Path:
    keyring.init(Settings(data_dir=home), people=PEOPLE, agency_name=AGENCY)
    return home


def install_pki(home: Path, data_dir: Path) -> None:
    """Copy the PKI, the tokens and the HSM PIN (the SoftHSM config names the session's token
    directory, so every copy shares the same tokens)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("pki", "softhsm", "secrets"):
        shutil.copytree(home / name, data_dir / name, dirs_exist_ok=True)
