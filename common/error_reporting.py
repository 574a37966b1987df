"""Sentry error reporting, enabled only when SENTRY_DSN is set."""

from __future__ import annotations

import sentry_sdk

from common.config import Settings


def init_error_reporting(settings: Settings) -> bool:
    """Initialise Sentry for this process; returns whether it is on."""
    if settings.sentry_dsn is None:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.environment.value,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        # Request bodies and tokens stay out of error reports. send_default_pii alone does not do it: the FastAPI
        # integration Sentry enables by itself attaches JSON bodies, and local variables (on by default) carry
        # each frame's ASGI scope with its Authorization header.
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
    )
    return True


def report_error(error: BaseException) -> None:
    """Send an unexpected error to Sentry (a no-op when it is not initialised)."""
    sentry_sdk.capture_exception(error)
