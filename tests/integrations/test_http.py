"""Reading a vendor's Retry-After, retries, and URLs no client can open (integrations/http.py)."""

from __future__ import annotations

import httpx
import pytest

from integrations.errors import ConnectorProtocolError, ConnectorUnavailableError
from integrations.http import HttpClient, RetryPolicy, retry_after_seconds


def with_retry_after(raw: bytes) -> httpx.Response:
    return httpx.Response(429, headers=[(b"Retry-After", raw)])


@pytest.mark.parametrize(("raw", "seconds"), [(b"120", 120.0), (b" 7 ", 7.0), (b"Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_delta_seconds_and_past_http_dates_are_read(raw, seconds):
    assert retry_after_seconds(with_retry_after(raw)) == seconds


@pytest.mark.parametrize("raw", [b"\xb2", b"soon", b"-5", b"1.5e3"])
def test_an_unreadable_value_is_none_not_an_error(raw):
    # Before, a superscript two (latin-1 0xB2) passed str.isdigit() and float() raised ValueError.
    assert retry_after_seconds(with_retry_after(raw)) is None


def answering(statuses: list[int], seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(statuses.pop(0) if statuses else 200, json={})

    return httpx.MockTransport(handler)


async def test_a_write_a_gateway_answered_with_504_is_not_sent_again_but_a_read_is():
    # Before, a create answered 504 by a proxy (while the ERP finished making the order) was posted again: two orders.
    policy = RetryPolicy(max_attempts=3, backoff_s=0.01, timeout_s=5.0)
    writes: list[str] = []
    client = HttpClient("Odoo", "http://erp", policy, transport=answering([504], writes))
    with pytest.raises(ConnectorUnavailableError, match="may have been applied"):
        await client.request("POST", "/create", idempotent=False)
    reads: list[str] = []
    client = HttpClient("Odoo", "http://erp", policy, transport=answering([504], reads))
    assert (await client.request("GET", "/read")).status_code == 200 and (writes, reads) == (["POST"], ["GET", "GET"])


# Connectors stored before configuration checked their URLs: each request is the ERP's error (a push a 503 that
# releases its claim), not a 500.
async def test_a_stored_url_with_an_unusable_port_is_a_connector_error():
    client = HttpClient("Dynamics", "https://erp.example.com", RetryPolicy(max_attempts=1, allowed_networks=()))
    with pytest.raises(ConnectorProtocolError, match="not a usable URL"):
        await client.request("POST", "http://login:443x/t", idempotent=True)


async def test_a_stored_base_url_with_an_unusable_port_is_a_connector_error():
    client = HttpClient("Odoo", "http://erp:8069x", RetryPolicy(max_attempts=1, allowed_networks=()))
    with pytest.raises(ConnectorProtocolError, match="not a usable URL"):
        await client.request("GET", "/web/version")


async def test_a_stored_host_the_resolver_cannot_encode_is_a_connector_error():
    # "a..b" has an empty label: getaddrinfo raised UnicodeError, which the address guard let through.
    client = HttpClient("Odoo", "https://a..b/", RetryPolicy(max_attempts=1, allowed_networks=()))
    with pytest.raises(ConnectorUnavailableError, match=r"cannot resolve a\.\.b"):
        await client.request("GET", "/web/version")
