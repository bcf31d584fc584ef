from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from backend.core.settings import Settings, SettingsError, load_or_create_secret

ROOT = Path(__file__).resolve().parents[3]


def test_env_example_lists_every_field_and_nothing_else() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = re.findall(r"^EOFFICE_([A-Z_]+)=", text, flags=re.MULTILINE)
    assert sorted(listed) == sorted(name.upper() for name in Settings.field_names())


def test_env_example_defaults_parse_to_the_dataclass_defaults(tmp_path: Path) -> None:
    env = dict(
        re.findall(r"^(EOFFICE_[A-Z_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.MULTILINE)
    )
    env["EOFFICE_DATA_DIR"] = str(tmp_path)
    parsed = Settings.from_env(env)
    defaults = Settings()
    for name in Settings.field_names():
        if name == "data_dir":
            continue
        assert getattr(parsed, name) == getattr(defaults, name), name


def test_from_env_reads_prefixed_variables(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "EOFFICE_DATA_DIR": str(tmp_path),
            "EOFFICE_DEMO": "yes",
            "EOFFICE_BASE_URL": "https://eoffice.example.gov.vn",
            "EOFFICE_MAX_UPLOAD_MB": "80",
        }
    )
    assert settings.demo is True
    assert settings.max_upload_mb == 80
    assert settings.rp_id == "eoffice.example.gov.vn"
    assert settings.is_https
    assert settings.embedded_redis
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/eoffice.db"


def test_a_secret_is_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path, "hsm_pin")
    second = load_or_create_secret(tmp_path, "hsm_pin")
    assert len(first) >= 48
    assert first == second
    path = tmp_path / "secrets" / "hsm_pin"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"EOFFICE_DEMO": "maybe"}, "EOFFICE_DEMO"),
        ({"EOFFICE_MAX_UPLOAD_MB": "lots"}, "EOFFICE_MAX_UPLOAD_MB"),
        ({"EOFFICE_BASE_URL": "ftp://x"}, "base_url"),
        ({"EOFFICE_BASE_URL": "http://localhost:8000/app"}, "without a path"),
        ({"EOFFICE_DEFAULT_LANGUAGE": "fr"}, "default_language"),
        ({"EOFFICE_BLOB_URL": "/srv/blobs"}, "s3://bucket/prefix"),
        ({"EOFFICE_BLOB_URL": "s3:///no-bucket"}, "s3://bucket/prefix"),
        ({"EOFFICE_BLOB_ENDPOINT_URL": "minio:9000"}, "blob_endpoint_url"),
    ],
)
def test_bad_values_are_refused_clearly(tmp_path: Path, env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env({"EOFFICE_DATA_DIR": str(tmp_path), **env})


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.demo = True  # type: ignore[misc]
