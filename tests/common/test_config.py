"""Settings: safe defaults in development, refusal to start unsafe in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from common.config import DEVELOPMENT_JWT_SECRET, Settings, get_settings

STRONG_SECRET = "k3Jq9vXc2mB7nP4sT8wY1zA6dF0gH5jL"


def make(**fields: object) -> Settings:
    return Settings(_env_file=None, **fields)  # type: ignore[call-arg]


def test_development_uses_the_development_secret_when_none_is_set():
    assert make(environment="development").jwt_secret == DEVELOPMENT_JWT_SECRET


def test_production_without_database_url_refuses_to_start():
    with pytest.raises(ValidationError, match="DATABASE_URL must be set"):
        make(environment="production", supabase_jwt_secret=STRONG_SECRET)


def test_production_with_placeholder_secret_refuses_to_start():
    with pytest.raises(ValidationError, match="placeholder"):
        make(environment="production", database_url="postgresql://db/app", supabase_jwt_secret="changeme" * 5)


def test_production_with_short_secret_refuses_to_start():
    with pytest.raises(ValidationError, match="shorter than 32"):
        make(environment="production", database_url="postgresql://db/app", supabase_jwt_secret="short")


def test_production_without_any_way_to_verify_tokens_refuses_to_start():
    with pytest.raises(ValidationError, match="tokens can be verified"):
        make(environment="production", database_url="postgresql://db/app")


def test_production_without_a_jwt_issuer_refuses_to_start():
    with pytest.raises(ValidationError, match="SUPABASE_URL \\(or JWT_ISSUER\\)"):
        make(environment="production", database_url="postgresql://db/app", supabase_jwt_secret=STRONG_SECRET)


def test_production_accepts_an_explicit_jwt_issuer_without_supabase_url():
    settings = make(
        environment="production",
        database_url="postgresql://db/app",
        supabase_jwt_secret=STRONG_SECRET,
        jwt_issuer="https://auth.example.io/auth/v1",
    )
    assert settings.expected_issuer == "https://auth.example.io/auth/v1"


def test_production_never_falls_back_to_the_development_secret():
    settings = make(environment="production", database_url="postgresql://db/app", supabase_url="https://x.supabase.co")
    assert settings.jwt_secret is None


def test_supabase_url_gives_the_jwks_url_and_issuer():
    settings = make(supabase_url="https://abc.supabase.co/")
    assert settings.jwks_url == "https://abc.supabase.co/auth/v1/.well-known/jwks.json"
    assert settings.expected_issuer == "https://abc.supabase.co/auth/v1"


def test_settings_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SERVE_MAX_ONGOING_REQUESTS", "17")
    assert make().serve_max_ongoing_requests == 17


def test_a_developers_env_file_does_not_reach_the_suites_settings(tmp_path, monkeypatch):
    # Before, a .env with SUPABASE_URL (the compose steps write one) gave the suite's settings an issuer its test
    # tokens lack: every in-process API test answered 401.
    (tmp_path / ".env").write_text("SUPABASE_URL=https://abc.supabase.co\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    try:
        get_settings.cache_clear()
        assert get_settings().expected_issuer is None  # CHAINSIGHT_ENV_FILE="" (tests/conftest.py)
        monkeypatch.delenv("CHAINSIGHT_ENV_FILE")
        get_settings.cache_clear()
        assert get_settings().expected_issuer == "https://abc.supabase.co/auth/v1"  # elsewhere .env is read
    finally:
        get_settings.cache_clear()
