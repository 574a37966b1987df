"""CORS settings: which browser origins may call the API, per environment and configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from common.config import DEVELOPMENT_CORS_ORIGINS, Settings

PRODUCTION = {
    "environment": "production",
    "database_url": "postgresql://app:s3cret-value@db.internal:5432/chainsight",
    "supabase_url": "https://project.supabase.co",
}


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_development_allows_the_local_frontend_dev_servers_by_default() -> None:
    assert (
        settings().cors_origins == list(DEVELOPMENT_CORS_ORIGINS) == ["http://localhost:5173", "http://localhost:3000"]
    )


def test_production_allows_no_origin_until_configured() -> None:
    assert settings(**PRODUCTION).cors_origins == []
    assert settings(**PRODUCTION, cors_allowed_origins=["https://app.example.io"]).cors_origins == [
        "https://app.example.io"
    ]


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("https://app.example.io, http://localhost:5173", ["https://app.example.io", "http://localhost:5173"]),
        ('["https://app.example.io"]', ["https://app.example.io"]),
        ("", []),
    ],
    ids=["comma-separated", "json-list", "empty-turns-cors-off"],
)
def test_origins_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, raw: str, origins: list[str]) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", raw)
    assert settings().cors_origins == origins


@pytest.mark.parametrize("origin", ["*", "https://app.example.io/", "https://app.example.io/path", "app.example.io"])
def test_an_origin_a_browser_would_never_send_is_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match="must be scheme://host"):
        settings(cors_allowed_origins=[origin])
