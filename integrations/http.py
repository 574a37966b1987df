"""HTTP for connectors: one httpx.AsyncClient per sync, retries with backoff that honour Retry-After.

Retried: 429, 502, 503, 504, and transport failures (refused, reset, dropped mid-response). A request that
may have reached the ERP is retried only when it is idempotent (reads, and JSON-RPC calls that only read),
so a dropped connection can never create a purchase order twice.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from integrations.address_guard import GuardedTransport
from integrations.errors import ConnectorProtocolError, ConnectorUnavailableError, WriteOutcomeUnknownError

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Answers of a proxy between us and the ERP, which say nothing of whether the ERP applied the request.
GATEWAY_STATUSES = frozenset({502, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_s: float = 0.5
    max_delay_s: float = 60.0
    timeout_s: float = 30.0
    # Networks connectors may call besides public addresses. None: no address guard (direct library use and
    # tests of a connector alone); the sync engine always sets it from INTEGRATIONS_ALLOWED_NETWORKS.
    allowed_networks: tuple[str, ...] | None = None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110 10.2.3); None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() also takes "²", which float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class HttpClient:
    """An httpx client that retries what is safe to retry and reports the rest as connector errors."""

    def __init__(self, vendor: str, base_url: str, policy: RetryPolicy, **client_kwargs: Any) -> None:
        self.vendor = vendor
        self.policy = policy
        if policy.allowed_networks is not None and "transport" not in client_kwargs:
            client_kwargs["transport"] = GuardedTransport(policy.allowed_networks)
        # A base URL stored before configuration refused it ("http://erp:8069x") fails each request as the ERP's
        # error, where a push releases its claim on the order, rather than the connector's construction.
        self.unusable_base_url: str | None = None
        try:
            httpx.URL(base_url)
        except httpx.InvalidURL as exc:
            self.unusable_base_url, base_url = f"base URL {base_url!r} is not a usable URL ({exc})", ""
        self.client = httpx.AsyncClient(base_url=base_url, timeout=policy.timeout_s, **client_kwargs)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(self, method: str, url: str, *, idempotent: bool | None = None, **kwargs: Any) -> httpx.Response:
        safe = method in ("GET", "HEAD") if idempotent is None else idempotent
        if self.unusable_base_url is not None:
            raise ConnectorProtocolError(f"{self.vendor}: {self.unusable_base_url}")
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.client.request(method, url, **kwargs)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                # A URL stored before configuration checked it (a token_url "http://login:443x/t"): no retry opens
                # it, and left to the caller it was a 500.
                raise ConnectorProtocolError(f"{self.vendor}: {method} {url} is not a usable URL ({exc})") from exc
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = f"cannot connect: {exc or type(exc).__name__}"
            except httpx.TransportError as exc:
                if not safe:
                    raise WriteOutcomeUnknownError(
                        f"{self.vendor}: connection lost during {method} {url} ({type(exc).__name__}); not retried "
                        "because the request may have been applied"
                    ) from exc
                failure = f"connection lost: {exc or type(exc).__name__}"
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                if not safe and response.status_code in GATEWAY_STATUSES:
                    # A proxy that gave up waiting: the ERP may still have applied the write (made the order).
                    raise WriteOutcomeUnknownError(
                        f"{self.vendor}: {method} {url} answered HTTP {response.status_code} from a gateway; not "
                        "retried because the request may have been applied"
                    )
                failure = f"HTTP {response.status_code}"
                delay = retry_after_seconds(response)
                if attempt < self.policy.max_attempts:
                    await asyncio.sleep(
                        min(delay if delay is not None else self._backoff(attempt), self.policy.max_delay_s)
                    )
                    continue
            if attempt >= self.policy.max_attempts:
                raise ConnectorUnavailableError(
                    f"{self.vendor}: {method} {url} failed after {attempt} attempts ({failure})"
                )
            await asyncio.sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        base = self.policy.backoff_s * 2 ** (attempt - 1)
        return min(base * (1 + random.random() / 2), self.policy.max_delay_s)  # noqa: S311 (jitter)
