"""Connector bodies for the integrations API tests, in process and through Serve."""

from __future__ import annotations


def odoo_body(url: str, **extra: object) -> dict:
    return {
        "name": "odoo-main",
        "kind": "odoo",
        "base_url": url,
        "options": {"database": "prod"},
        "credentials": {"username": "sync@example.com", "api_key": "odoo-key"},
        "mapping": {"units": {"Units": "each"}, "default_currency": "EUR"},
        **extra,
    }
