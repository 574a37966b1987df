"""Reading a vendor's Retry-After (integrations/http.py)."""

from __future__ import annotations

import httpx
import pytest

from integrations.http import retry_after_seconds


def with_retry_after(raw: bytes) -> httpx.Response:
    return httpx.Response(429, headers=[(b"Retry-After", raw)])


@pytest.mark.parametrize(("raw", "seconds"), [(b"120", 120.0), (b" 7 ", 7.0), (b"Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_delta_seconds_and_past_http_dates_are_read(raw, seconds):
    assert retry_after_seconds(with_retry_after(raw)) == seconds


@pytest.mark.parametrize("raw", [b"\xb2", b"soon", b"-5", b"1.5e3"])
def test_an_unreadable_value_is_none_not_an_error(raw):
    # Before, a superscript two (latin-1 0xB2) passed str.isdigit() and float() raised ValueError.
    assert retry_after_seconds(with_retry_after(raw)) is None
