from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest
from pydantic import ValidationError

from scanfleet.config import Settings


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/1")
    monkeypatch.setenv("SCANFLEET_DB_PGBOUNCER", "true")
    monkeypatch.setenv("SCANFLEET_DB_POOL_MAX_SIZE", "33")
    monkeypatch.setenv("SCANFLEET_FETCH_ALLOW_NETWORKS", "127.0.0.0/8, ::1/128")
    settings = Settings()
    assert settings.database_url == "postgresql://db/x"
    assert settings.redis_url == "redis://r:6379/1"
    assert settings.db_pgbouncer is True
    assert settings.db_pool_max_size == 33
    assert settings.fetch_allow_networks == [ip_network("127.0.0.0/8"), ip_network("::1/128")]


def test_pgbouncer_mode_turns_off_the_statement_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    from scanfleet.db.pool import connect_kwargs

    assert connect_kwargs(Settings(db_pgbouncer=True))["statement_cache_size"] == 0
    assert connect_kwargs(Settings(db_pgbouncer=False))["statement_cache_size"] > 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCANFLEET_DB_POOL_MAX_SIZE", "0"),
        ("SCANFLEET_FETCH_ALLOW_NETWORKS", "not-a-network"),
        ("SCANFLEET_PARTITION_PREMAKE_DAYS", "1"),
        ("SCANFLEET_PUBLIC_URL", "scanfleet.example.com"),
    ],
)
def test_bad_settings_are_refused_at_start(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("settings", "base"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"api_host": "0.0.0.0", "api_port": 9000}, "http://127.0.0.1:9000"),
        ({"api_host": "::"}, "http://[::1]:8000"),
        ({"api_host": "api.internal"}, "http://api.internal:8000"),
        ({"public_url": "https://scanfleet.example.com/base/"}, "https://scanfleet.example.com/base"),
    ],
)
def test_the_api_base_url_is_the_public_url_else_where_it_listens(settings: dict[str, Any], base: str) -> None:
    assert Settings(_env_file=None, **settings).api_base_url == base


def test_a_share_secret_is_long_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCANFLEET_REPORT_SHARE_SECRET", "too-short")
    with pytest.raises(ValidationError, match="report_share_secret"):
        Settings()
    monkeypatch.setenv("SCANFLEET_REPORT_SHARE_SECRET", "s" * 32)
    settings = Settings()
    assert settings.report_share_secret is not None and settings.report_share_secret.get_secret_value() == "s" * 32
    assert "s" * 32 not in repr(settings)


def test_the_sweep_grace_must_outlast_a_held_result(monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker holds a result whose blobs it wrote this long: a shorter grace would sweep them before the rows.
    monkeypatch.setenv("SCANFLEET_RESULT_HOLD_SECONDS", "3600")
    monkeypatch.setenv("SCANFLEET_ARTIFACT_SWEEP_GRACE_SECONDS", "3600")
    with pytest.raises(ValidationError, match=r"SCANFLEET_ARTIFACT_SWEEP_GRACE_SECONDS .* must exceed"):
        Settings()
    monkeypatch.setenv("SCANFLEET_ARTIFACT_SWEEP_GRACE_SECONDS", "3601")
    assert Settings().artifact_sweep_grace_seconds == 3601
    monkeypatch.delenv("SCANFLEET_ARTIFACT_SWEEP_GRACE_SECONDS")
    monkeypatch.delenv("SCANFLEET_RESULT_HOLD_SECONDS")
    defaults = Settings()
    assert defaults.artifact_sweep_grace_seconds > defaults.result_hold_seconds
