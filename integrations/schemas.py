"""What the integrations API accepts and returns. Credentials go in, never out."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from integrations.connector import ALTERNATIVE_CREDENTIALS, REQUIRED_CREDENTIALS, REQUIRED_OPTIONS
from integrations.mapping import FieldMapping
from integrations.records import Entity

ConnectorKind = Literal["odoo", "sap", "dynamics", "netsuite"]
OptionValue = str | int | bool


URL_PATTERN = r"https?://[^\s]{1,490}"


def _usable_url(value: str) -> str:
    # The pattern lets through what no HTTP client can open ("http://erp:8069x", "https://a..b/"): syncs then
    # failed unrecorded and a push was a 500.
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a usable URL: {exc}") from exc
    if not url.host:
        raise ValueError("not a usable URL: no host")
    try:  # what the resolver is asked for; an empty label ("a..b") or one over 63 characters cannot be
        url.host.encode("idna")
    except UnicodeError as exc:
        raise ValueError(f"not a usable URL: host {url.host!r} is not a valid name") from exc
    if url.port is not None and not 0 < url.port < 65536:
        raise ValueError(f"not a usable URL: port {url.port} is not 1 to 65535")
    return value


def check_token_url(value: OptionValue) -> None:
    """Option ``token_url`` is a path on the base URL ("/sap/bc/sec/oauth2/token") or an http(s) URL an HTTP client
    can open; ValueError otherwise. Unchecked, "http://login:443x/t" was stored and every push was a 500."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        try:
            httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"option token_url is not a usable path: {exc}") from exc
        return
    if not isinstance(value, str) or not re.fullmatch(URL_PATTERN, value):
        raise ValueError("option token_url must be an http(s) URL or a path on base_url starting with /")
    try:
        _usable_url(value)
    except ValueError as exc:
        raise ValueError(f"option token_url is {exc}") from exc


BaseUrl = Annotated[str, Field(pattern=f"^{URL_PATTERN}$"), AfterValidator(_usable_url)]
# Bounds of a connector's sync schedule, as the database's CHECK has them (migration 0060).
MIN_SYNC_INTERVAL = 5
MAX_SYNC_INTERVAL = 7 * 24 * 60


def check_kind(kind: str, credentials: dict[str, str] | None, options: dict[str, OptionValue] | None) -> None:
    missing = [c for c in REQUIRED_CREDENTIALS[kind] if not (credentials or {}).get(c)]
    alternative = ALTERNATIVE_CREDENTIALS.get(kind)
    if alternative and all((credentials or {}).get(c) for c in alternative):
        missing = []
    if credentials is not None and missing:
        instead = f" (or {', '.join(alternative)})" if alternative else ""
        raise ValueError(f"{kind} connectors need credentials: {', '.join(missing)}{instead}")
    absent = [o for o in REQUIRED_OPTIONS[kind] if options is not None and o not in options]
    if absent:
        raise ValueError(f"{kind} connectors need options: {', '.join(absent)}")
    if options is not None and "token_url" in options:
        check_token_url(options["token_url"])
    if kind == "netsuite":
        check_signing(credentials, options)


def check_signing(credentials: dict[str, str] | None, options: dict[str, OptionValue] | None) -> None:
    """A NetSuite configuration's option algorithm is one NetSuite accepts and, given the credentials, one their
    private key signs with; ValueError otherwise. An update checks the configuration it leaves (the side it does
    not replace as stored): the key and the algorithm may come in different requests."""
    from integrations.netsuite_signing import ALGORITHMS, load_signing_key, signing_algorithm

    # PyJWT refuses an algorithm the key cannot sign with only when a sync or push signs (a 500 on a push).
    algorithm = (options or {}).get("algorithm")
    if algorithm and algorithm not in ALGORITHMS:
        raise ValueError(f"option algorithm must be one of {', '.join(ALGORITHMS)}, what NetSuite accepts")
    if credentials is not None:  # ValueError: not a usable PEM private key, or not one for the algorithm
        signing_algorithm(load_signing_key(credentials["private_key"]), algorithm)


class ConnectorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="unique per tenant, e.g. 'odoo-main'")
    kind: ConnectorKind
    base_url: BaseUrl
    options: dict[str, OptionValue] = Field(default_factory=dict, max_length=50)
    credentials: dict[str, str] = Field(min_length=1, max_length=20, description="stored encrypted, never returned")
    mapping: FieldMapping = Field(default_factory=FieldMapping)
    entities: list[Entity] | None = Field(default=None, description="what to sync; default: all the kind supports")
    enabled: bool = True
    sync_interval_minutes: int | None = Field(
        default=None,
        ge=MIN_SYNC_INTERVAL,
        le=MAX_SYNC_INTERVAL,
        description="minutes between scheduled syncs (5 to 10080, one week); null: manual syncs only",
    )

    @model_validator(mode="after")
    def _required(self) -> ConnectorCreate:
        check_kind(self.kind, self.credentials, self.options)
        return self


class ConnectorUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: BaseUrl | None = None
    options: dict[str, OptionValue] | None = Field(default=None, max_length=50)
    credentials: dict[str, str] | None = Field(default=None, min_length=1, max_length=20)
    mapping: FieldMapping | None = None
    entities: list[Entity] | None = None
    enabled: bool | None = None
    # Unlike the other fields, an explicit null here means "clear the schedule"; leaving it out keeps it.
    sync_interval_minutes: int | None = Field(
        default=None,
        ge=MIN_SYNC_INTERVAL,
        le=MAX_SYNC_INTERVAL,
        description="minutes between scheduled syncs (5 to 10080, one week); null: manual syncs only",
    )


class Connector(BaseModel):
    id: UUID
    name: str
    kind: ConnectorKind
    base_url: str
    options: dict[str, Any]
    mapping: FieldMapping
    entities: list[Entity]
    enabled: bool
    sync_interval_minutes: int | None = Field(description="minutes between scheduled syncs; null: manual only")
    acting_user_id: UUID = Field(description="the member whose rights sync jobs use")
    created_at: datetime
    updated_at: datetime


class SyncState(BaseModel):
    entity: Entity
    cursor: dict[str, Any] | None
    updated_at: datetime


class SyncRun(BaseModel):
    id: UUID
    connector_id: UUID
    status: Literal["queued", "running", "succeeded", "completed_with_errors", "failed"]
    trigger: Literal["api", "cli", "schedule"]
    requested_by: UUID | None
    counts: dict[str, dict[str, int]]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ConnectorStatus(Connector):
    state: list[SyncState]
    last_run: SyncRun | None
    open_dead_letters: int
    next_sync_at: datetime | None = Field(
        description="when the scheduler next starts a sync (it checks every few minutes); null: manual only"
    )


class DeadLetter(BaseModel):
    id: UUID
    entity: Entity
    external_id: str
    run_id: UUID | None
    error: str
    payload: Any
    attempts: int
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


class PushResult(BaseModel):
    purchase_order_id: UUID
    connector_id: UUID
    external_id: str = Field(description="the order's id in the ERP")
