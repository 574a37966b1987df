"""``settings_environment``: the variables a local cluster's jobs inherit read back as the settings they came from."""

from __future__ import annotations

import pytest

from common.config import Settings, settings_environment


def test_each_kind_of_set_field_reads_back_equal_and_defaults_are_left_out(monkeypatch: pytest.MonkeyPatch):
    source = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        supabase_jwt_secret="s" * 40,
        copilot_enabled=False,
        http_port=8123,
        integrations_backoff_s=0.25,
        embedded_postgres_dir="/tmp/pgdata-elsewhere",
        cors_allowed_origins=["http://a.example:5000"],
        integrations_allowed_networks=["10.20.0.0/16"],
    )
    environment = settings_environment(source)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    read_back = Settings(_env_file=None)  # type: ignore[call-arg]

    assert read_back.model_fields_set == source.model_fields_set
    assert read_back.model_dump() == source.model_dump()
    assert read_back.jwt_secret == "s" * 40
    assert "DATABASE_POOL_MAX_SIZE" not in environment
