"""The one typed settings object. Built when needed (``get_settings()``), never at import."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Secrets that may only appear in development and tests. Production refuses them.
DEVELOPMENT_JWT_SECRET = "chainsight-development-secret-not-for-production-use"  # noqa: S105 (refused in production)
DEVELOPMENT_INTEGRATIONS_KEY = "Y2hhaW5zaWdodC1kZXYtb25seS1pbnRlZ3JhdGlvbnM="
PLACEHOLDER_MARKERS = ("changeme", "change-me", "placeholder", "your-", "not-for-production", "example")
# Browser frontends allowed by default outside production: the Vite and Next.js/CRA development servers.
DEVELOPMENT_CORS_ORIGINS = ("http://localhost:5173", "http://localhost:3000")
# The longest ERP push deadline a deployment may set: a purchase order's edits here are held against a push's
# claim for this plus a margin (inventory.purchasing_status), whatever the deadline, so it must bound every one.
ERP_PUSH_DEADLINE_MAX_S = 120.0


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT

    # Database. Unset in development: the local stack starts an embedded PostgreSQL.
    database_url: str | None = None
    database_pool_min_size: int = Field(default=2, ge=0)
    database_pool_max_size: int = Field(default=10, ge=1)
    database_statement_timeout_ms: int = Field(default=15_000, ge=0)
    # API requests wait this long for a pooled connection, then get 503 with Retry-After.
    database_acquire_timeout_s: float = Field(default=5.0, gt=0)
    # The server ends a transaction idle this long (a stalled export download holding its connection); 0 disables.
    database_idle_in_transaction_timeout_ms: int = Field(default=60_000, ge=0)
    embedded_postgres_dir: Path = Path(".chainsight/pgdata")

    # Supabase auth. HS256 uses the legacy JWT secret; ES256/RS256 keys come from the JWKS URL.
    supabase_url: str | None = None
    supabase_jwt_secret: SecretStr | None = None
    supabase_jwks_url: str | None = None
    jwt_audience: str = "authenticated"
    jwt_issuer: str | None = None
    jwt_leeway_s: int = Field(default=0, ge=0, le=300)
    jwks_cache_ttl_s: float = Field(default=600.0, gt=0)
    jwks_min_refetch_interval_s: float = Field(default=30.0, ge=0)

    # Error reporting: Sentry is initialised only when a DSN is set.
    sentry_dsn: SecretStr | None = None
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)

    # Serve.
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    serve_max_ongoing_requests: int = Field(default=64, ge=1)
    serve_min_replicas: int = Field(default=1, ge=0)
    serve_max_replicas: int = Field(default=4, ge=1)
    serve_access_log: bool = False
    serve_high_throughput: bool = True
    # Largest request body any route reads (upload routes add their own limits, for authenticated callers only).
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Exports one user may stream at once (each holds a database connection while the client downloads).
    exports_per_user: int = Field(default=2, ge=1)
    # Rows one CSV or xlsx export may hold: a larger set is refused (400 export_too_large) before the first byte.
    export_max_rows: int = Field(default=5_000_000, ge=1)
    ray_address: str | None = None
    # The local Ray dashboard's interface: loopback, except in a container whose published port must reach it.
    ray_dashboard_host: str = "127.0.0.1"
    ray_dashboard_port: int = 8265
    # Ray Train (training.compute): workers, and CPUs/GPUs each asks for. GPUs > 0 turns on Lightning's GPU
    # accelerator and xgboost's device="cuda"; the default trains on CPU.
    train_workers: int = Field(default=2, ge=1)
    train_cpus_per_worker: float = Field(default=1.0, gt=0)
    train_gpus_per_worker: float = Field(default=0.0, ge=0)

    # CORS for browser frontends on other origins (HTTP, SSE and the /events WebSocket alike). Unset, development
    # and test allow DEVELOPMENT_CORS_ORIGINS and production allows none. Comma-separated or a JSON list.
    cors_allowed_origins: Annotated[list[str] | None, NoDecode] = None
    cors_allow_credentials: bool = True
    cors_max_age_s: int = Field(default=600, ge=0, le=86_400)

    # Copilot. The LLM is a local safetensors folder or a Hugging Face id; unset, the packaged SmolLM2 GGUF is
    # converted once into copilot_model_dir. The embedding model is a folder or name; unset, the packaged one.
    copilot_enabled: bool = True
    copilot_llm_model: str | None = None
    copilot_model_dir: Path = Path(".chainsight/models/smollm2-135m-instruct")
    copilot_llm_device: Literal["cpu", "gpu"] = "cpu"
    copilot_llm_tensor_parallel_size: int = Field(default=1, ge=1)
    copilot_llm_max_model_len: int = Field(default=2048, ge=256)
    copilot_embedding_model: str | None = None
    copilot_max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    copilot_max_question_chars: int = Field(default=2000, ge=1)
    copilot_questions_per_minute: int = Field(default=20, ge=1)
    copilot_llm_requests_per_minute: int = Field(default=20, ge=1)
    # Longest prompt (characters over all messages) the OpenAI-compatible route accepts.
    copilot_llm_max_prompt_chars: int = Field(default=8000, ge=1)
    copilot_answer_tokens: int = Field(default=256, ge=1)
    # What one copilot answer may cost (POST /ask); unset, chosen by COPILOT_LLM_DEVICE so that on 2 CPU cores
    # the first token comes within 3 s and the whole answer within 20 s (bench/copilot_faithfulness.py):
    # prompt tokens (system rules, tool rows, passages, history) 768 on CPU, the whole window on GPU;
    # tokens of the model's summary 96 on CPU, COPILOT_ANSWER_TOKENS on GPU (never more than it);
    # retrieved passages 3 on CPU, 5 on GPU; earlier turns 2 on CPU, 4 on GPU.
    copilot_prompt_tokens: int | None = Field(default=None, ge=128)
    copilot_summary_tokens: int | None = Field(default=None, ge=1)
    copilot_passages: int | None = Field(default=None, ge=0, le=20)
    copilot_history_turns: int | None = Field(default=None, ge=0, le=20)
    # Hybrid retrieval's weighted reciprocal rank fusion (bench/retrieval_quality.py tunes them).
    copilot_rrf_k: int = Field(default=60, ge=1)
    copilot_rrf_vector_weight: float = Field(default=1.0, ge=0)
    copilot_rrf_text_weight: float = Field(default=1.0, ge=0)

    # Purchasing and logistics.
    purchase_over_receipt_tolerance_pct: float = Field(default=0.0, ge=0, le=100)
    # Carrier webhooks are signed with per-tenant keys (/carrier-webhook-keys): a signature older than this is
    # refused, and each event_id is recorded once per tenant.
    carrier_webhook_max_skew_s: int = Field(default=300, ge=1, le=86_400)

    # Supplier risk. Largest delivery-history CSV one upload may carry.
    risk_import_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)

    # ERP integrations. Credentials are encrypted with these Fernet keys (comma-separated; the first encrypts).
    integrations_encryption_key: SecretStr | None = None
    integrations_http_timeout_s: float = Field(default=30.0, gt=0)
    integrations_max_attempts: int = Field(default=5, ge=1, le=20)
    integrations_backoff_s: float = Field(default=0.5, ge=0)
    integrations_max_retry_delay_s: float = Field(default=60.0, ge=0)
    integrations_page_size: int = Field(default=500, ge=1, le=5000)
    # One push's ERP work, every request and retry together: past it the push stops, keeps its claim on the order
    # until the claim lapses (the ERP may still be creating it) and answers 503 erp_timeout (the retries alone may
    # take minutes per request).
    erp_push_deadline_s: float = Field(default=ERP_PUSH_DEADLINE_MAX_S, gt=0, le=ERP_PUSH_DEADLINE_MAX_S)
    # Networks connectors may call besides public addresses (CIDRs, JSON list), e.g. an on-premises ERP at
    # ["10.20.0.0/16"]. Loopback, private, link-local and metadata addresses are refused unless listed here.
    integrations_allowed_networks: list[str] = Field(default_factory=list)

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [part.strip() for part in text.split(",") if part]
        return value

    @field_validator("cors_allowed_origins")
    @classmethod
    def _check_origins(cls, origins: list[str] | None) -> list[str] | None:
        for origin in origins or []:
            parts = urlsplit(origin)
            # A browser's Origin header is exactly scheme://host[:port]; anything else would never match.
            if (
                origin == "*"
                or parts.scheme not in ("http", "https")
                or not parts.netloc
                or origin != f"{parts.scheme}://{parts.netloc}"
            ):
                raise ValueError(f"CORS origin {origin!r} must be scheme://host[:port] (no path, no '*')")
        return origins

    @property
    def cors_origins(self) -> list[str]:
        """The origins whose browser pages may call the API."""
        if self.cors_allowed_origins is not None:
            return list(self.cors_allowed_origins)
        return [] if self.environment is Environment.PRODUCTION else list(DEVELOPMENT_CORS_ORIGINS)

    @property
    def jwks_url(self) -> str | None:
        return self._explicit_or_supabase_auth(self.supabase_jwks_url, "/.well-known/jwks.json")

    @property
    def expected_issuer(self) -> str | None:
        return self._explicit_or_supabase_auth(self.jwt_issuer, "")

    def _explicit_or_supabase_auth(self, explicit: str | None, path: str) -> str | None:
        """``explicit`` when set, else ``path`` under the project's Supabase Auth (``<supabase_url>/auth/v1``)."""
        if explicit:
            return explicit
        if self.supabase_url:
            return self.supabase_url.rstrip("/") + "/auth/v1" + path
        return None

    @property
    def jwt_secret(self) -> str | None:
        return self._secret_or_development(self.supabase_jwt_secret, DEVELOPMENT_JWT_SECRET)

    @property
    def integrations_key(self) -> str | None:
        return self._secret_or_development(self.integrations_encryption_key, DEVELOPMENT_INTEGRATIONS_KEY)

    def _secret_or_development(self, secret: SecretStr | None, development: str) -> str | None:
        """The configured ``secret``; else the well-known ``development`` one, never in production."""
        if secret is not None:
            return secret.get_secret_value()
        if self.environment is not Environment.PRODUCTION:
            return development
        return None

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment is not Environment.PRODUCTION:
            return self
        problems: list[str] = []
        if not self.database_url:
            problems.append("DATABASE_URL must be set")
        secret = self.supabase_jwt_secret.get_secret_value() if self.supabase_jwt_secret else None
        if secret is None and self.jwks_url is None:
            problems.append("set SUPABASE_JWT_SECRET or SUPABASE_URL/SUPABASE_JWKS_URL so tokens can be verified")
        if self.expected_issuer is None:
            problems.append(
                "set SUPABASE_URL (or JWT_ISSUER) so every token's issuer is checked; without it a token from any "
                "issuer sharing the key would be accepted"
            )
        if secret is not None and (len(secret) < 32 or _is_placeholder(secret)):
            problems.append("SUPABASE_JWT_SECRET is a placeholder or shorter than 32 characters")
        if self.database_url and _is_placeholder(self.database_url):
            problems.append("DATABASE_URL is a placeholder")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        if self.database_pool_min_size > self.database_pool_max_size:
            raise ValueError("DATABASE_POOL_MIN_SIZE exceeds DATABASE_POOL_MAX_SIZE")
        return self


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment variables that make ``get_settings()`` in another process read what ``settings`` holds: one
    for each field set explicitly (by the environment, a `.env` file or the caller; defaults and None are left out),
    secrets included, as the text the field parses back (JSON for lists)."""
    environment = {}
    for name in sorted(settings.model_fields_set):
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, bool | list):
            text = json.dumps(value)
        elif isinstance(value, StrEnum):
            text = value.value
        else:
            text = str(value)
        environment[name.upper()] = text
    return environment


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process, read from the environment on first use, and from ``CHAINSIGHT_ENV_FILE`` (default
    ``.env`` in the working directory; empty: none, as the test suite sets so a developer's `.env` cannot reach it)."""
    return Settings(_env_file=os.environ.get("CHAINSIGHT_ENV_FILE", ".env") or None)
