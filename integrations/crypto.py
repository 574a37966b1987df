"""Connector credentials are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) before they are stored.

The key comes from ``INTEGRATIONS_ENCRYPTION_KEY``: one or more comma-separated Fernet keys, the first
used to encrypt and all accepted to decrypt, so a key can be rotated without downtime. Outside production
a fixed development key is used when it is unset; production has none.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from common.errors import ServiceUnavailableError


class CredentialCipher:
    def __init__(self, keys: str) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
        except (ValueError, TypeError) as exc:
            raise ServiceUnavailableError(
                "INTEGRATIONS_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes)"
            ) from exc

    def encrypt(self, credentials: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(credentials, separators=(",", ":")).encode())

    def decrypt(self, token: bytes) -> dict[str, Any]:
        try:
            value: dict[str, Any] = json.loads(self._fernet.decrypt(bytes(token)))
        except InvalidToken as exc:
            raise ServiceUnavailableError(
                "stored connector credentials cannot be decrypted with INTEGRATIONS_ENCRYPTION_KEY (rotated "
                "without keeping the old key?): configure the connector's credentials again",
                code="credentials_undecryptable",
            ) from exc
        return value


def cipher_from_key(key: str | None) -> CredentialCipher:
    if not key:
        raise ServiceUnavailableError(
            "ERP integrations need INTEGRATIONS_ENCRYPTION_KEY (a Fernet key) to store credentials",
            code="integrations_not_configured",
        )
    return CredentialCipher(key)
