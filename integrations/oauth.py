"""OAuth 2.0 client credentials (RFC 6749 section 4.4) for the connectors that use it: SAP, Dynamics, NetSuite.

One ``ClientCredentials`` per connector: the token is asked for on first use, kept until a minute before
its ``expires_in`` runs out, and renewed once when the API answers 401 (expired or revoked early). Each
vendor differs only in the form it posts (a client secret in the form or in basic authentication, or a
signed JWT assertion) and in the hint its refusal carries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import httpx

from integrations.connector import Connector
from integrations.errors import ConnectorAuthError
from integrations.http import HttpClient

logger = logging.getLogger(__name__)

RENEW_MARGIN_S = 60.0  # renew this long before expiry, so a token never runs out in the middle of a call
DEFAULT_LIFETIME_S = 3600.0  # when the server leaves out expires_in (RFC 6749 5.1 makes it optional)


@dataclass
class ClientCredentials:
    """A bearer token from ``token_url``, cached until it nearly expires.

    ``form`` builds the token request's form fields; it is called for every new token (a JWT assertion must
    be fresh) and may raise ``ConnectorAuthError``. ``auth`` authenticates the client on the token request
    when the server wants it in a header (SAP). ``issuer`` names the server in errors; ``hint`` ends them.
    """

    http: HttpClient
    token_url: str
    form: Callable[[], dict[str, str]]
    _: KW_ONLY
    issuer: str
    auth: httpx.Auth | None = None
    hint: str = ""
    clock: Callable[[], float] = time.monotonic
    _token: str | None = field(default=None, init=False, repr=False)
    _expires: float = field(default=0.0, init=False, repr=False)

    async def token(self, *, renew: bool = False) -> str:
        if self._token is not None and not renew and self.clock() < self._expires - RENEW_MARGIN_S:
            return self._token
        response = await self.http.request(
            "POST",
            self.token_url,
            data=self.form(),
            auth=self.auth or httpx.USE_CLIENT_DEFAULT,
            headers={"Accept": "application/json"},
            idempotent=True,  # asking for a token twice only wastes one
        )
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):  # HTML from a proxy or a wrong URL, or JSON that is not an object
            body = {}
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            reason = f"{body.get('error') or ''} {_first_line(self.issuer, body.get('error_description'))}".strip()
            raise ConnectorAuthError(
                f"{self.issuer} refused the client credentials (HTTP {response.status_code}): "
                f"{reason or response.text[:200]}{self.hint}"
            )
        try:
            lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME_S)
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME_S
        self._token, self._expires = token, self.clock() + lifetime
        return token

    async def send(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The call with the bearer token; on a 401 the token is renewed and the call made once more. The
        caller reads the final answer's status (a second 401 means the client itself is refused)."""
        for attempt in (1, 2):
            token = await self.token(renew=attempt == 2)
            response = await self.http.request(
                method, url, headers={**(headers or {}), "Authorization": f"Bearer {token}"}, **kwargs
            )
            if response.status_code != 401:
                break
        return response


def _first_line(issuer: str, description: Any) -> str:
    """The refusal's reason for the run's error: the first line of ``error_description``. Microsoft ends it with
    lines of a Trace ID, Correlation ID and Timestamp, new on every request: they help whoever asks Microsoft about
    it, so they are logged, but in the error each run would read as a new failure and be notified again."""
    lines = [line.strip() for line in str(description or "").splitlines() if line.strip()]
    if len(lines) > 1:
        logger.warning("%s refused the client credentials: %s", issuer, " | ".join(lines))
    return lines[0] if lines else ""


class OAuthConnector(Connector):
    """A connector whose every API call carries a client-credentials bearer token (``self.oauth``). It says
    where the token comes from (``token_url``: the ``token_url`` option unless overridden), what form gets it
    (``token_form``) and how its token server is named in errors (``issuer``, ``issuer_hint``)."""

    issuer: ClassVar[str]
    issuer_hint: ClassVar[str] = ""

    @property
    def token_url(self) -> str:
        return str(self.option("token_url"))

    def token_form(self) -> dict[str, str]:
        raise NotImplementedError

    @cached_property
    def oauth(self) -> ClientCredentials:
        return ClientCredentials(self.http, self.token_url, self.token_form, issuer=self.issuer, hint=self.issuer_hint)
