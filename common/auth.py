"""Verification of Supabase access tokens (HS256 legacy secret, ES256/RS256 via JWKS)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from common.config import Settings
from common.errors import DomainError, ServiceUnavailableError

logger = logging.getLogger(__name__)

# Besides HS256 (legacy secret) these are the only accepted algorithms, each tied to the key type it needs.
_ASYMMETRIC_KEY_CHECKS: dict[str, Callable[[Any], bool]] = {
    "ES256": lambda key: isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1",
    "RS256": lambda key: isinstance(key, rsa.RSAPublicKey),
}

# Order matters: several of these subclass DecodeError / InvalidTokenError.
_ERROR_CODES: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid"),
    (jwt.InvalidAudienceError, "invalid_audience"),
    (jwt.InvalidIssuerError, "invalid_issuer"),
    (jwt.InvalidSignatureError, "invalid_signature"),
    (jwt.InvalidAlgorithmError, "unsupported_algorithm"),
    (jwt.exceptions.InvalidSubjectError, "missing_subject"),
    (jwt.InvalidTokenError, "malformed_token"),
)
_MISSING_CLAIM_CODES = {"aud": "invalid_audience", "iss": "invalid_issuer", "sub": "missing_subject"}
# Tokens already verified in this process (a client sends the same token with every request until it
# expires): decoding and checking a signature again was about a fifth of a stock read's CPU.
VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class VerifiedClaims:
    subject: uuid.UUID
    role: str
    email: str | None
    raw: dict[str, Any]


class AuthenticationError(DomainError):
    """A token that cannot be trusted (missing, expired, forged, unknown key): 401 with ``WWW-Authenticate``."""

    code = "invalid_token"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.message), self.__dict__)


class AuthUnavailableError(ServiceUnavailableError):
    """The signing keys a token needs could not be fetched: the token may well be good, the server cannot tell now.
    503 with ``Retry-After``, never 401 (clients log their user out on a 401). The message stays generic: the JWKS
    URL and the upstream's error are logged, not told to whoever sent a token."""

    code = "auth_unavailable"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("tokens cannot be verified right now; retry shortly", details={"retry_after_s": retry_after_s})

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.details["retry_after_s"],), self.__dict__)


class JWKSCache:
    """Signing keys from a JWKS URL, refetched on expiry or on an unknown kid, at a bounded rate."""

    def __init__(
        self,
        url: str,
        *,
        ttl_s: float,
        min_refetch_interval_s: float,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self._url = url
        self._ttl_s = ttl_s
        self._min_refetch_interval_s = min_refetch_interval_s
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout_s)
        self._timeout_s = timeout_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_fetch_failed = False
        self._lock = asyncio.Lock()

    def _is_fresh(self) -> bool:
        return self._fetched_at is not None and time.monotonic() - self._fetched_at < self._ttl_s

    async def get_key(self, kid: str) -> jwt.PyJWK:
        # While a refresh is in flight a known key is served stale rather than queued behind a slow JWKS.
        if kid in self._keys and (self._is_fresh() or self._lock.locked()):
            return self._keys[kid]
        async with self._lock:
            # Waiters re-check: the fetch they queued behind may already have answered them.
            if self._is_fresh() and kid in self._keys:
                return self._keys[kid]
            may_fetch = (
                self._attempted_at is None or time.monotonic() - self._attempted_at >= self._min_refetch_interval_s
            )
            if may_fetch:
                try:
                    await self._refresh()
                except AuthUnavailableError:
                    # A stale key beats an outage; rotation is rare, JWKS hiccups are not.
                    if kid in self._keys:
                        return self._keys[kid]
                    raise
            if kid in self._keys:
                return self._keys[kid]
            if self._last_fetch_failed:
                raise AuthUnavailableError(self._retry_after_s())
            raise AuthenticationError("unknown_key", f"no signing key with kid {kid!r}")

    async def _refresh(self) -> None:
        self._attempted_at = time.monotonic()
        self._last_fetch_failed = True
        try:
            response = await self._client.get(self._url, timeout=self._timeout_s)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("JWKS fetch from %s failed: %r", self._url, exc)
            raise AuthUnavailableError(self._retry_after_s()) from exc
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            logger.warning("JWKS response from %s has no 'keys' list", self._url)
            raise AuthUnavailableError(self._retry_after_s())
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document["keys"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                # One key we cannot use (new kty, bad encoding) must not take the others down.
                continue
        self._keys = keys
        self._fetched_at = time.monotonic()
        self._last_fetch_failed = False

    def _retry_after_s(self) -> int:
        # No fetch is tried again before the refetch interval has passed since the last attempt.
        since = 0.0 if self._attempted_at is None else time.monotonic() - self._attempted_at
        return max(1, math.ceil(self._min_refetch_interval_s - since))

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


@dataclass(frozen=True, slots=True)
class _Verified:
    claims: VerifiedClaims
    expires_at: float
    key: jwt.PyJWK | None  # the JWKS key that verified it; None for HS256 (the secret is fixed per process)


class TokenVerifier:
    """Verifies tokens; a token verified once is accepted again without re-checking its signature only
    while it has not expired (same leeway) and, for JWKS tokens, while the cached JWKS still holds the
    very key that verified it (a rotated-out key refuses it as before)."""

    def __init__(self, settings: Settings, *, jwks: JWKSCache | None = None) -> None:
        self._settings = settings
        self._verified: dict[str, _Verified] = {}
        if jwks is None and settings.jwks_url is not None:
            jwks = JWKSCache(
                settings.jwks_url,
                ttl_s=settings.jwks_cache_ttl_s,
                min_refetch_interval_s=settings.jwks_min_refetch_interval_s,
            )
        self._jwks = jwks

    async def verify(self, token: str) -> VerifiedClaims:
        try:
            return await self._verify(token)
        except jwt.PyJWTError as exc:
            raise AuthenticationError(_error_code(exc), str(exc)) from exc

    async def _verify(self, token: str) -> VerifiedClaims:
        if not isinstance(token, str) or not token:
            raise AuthenticationError("malformed_token", "empty token")
        known = self._verified.get(token)
        if known is not None:
            if await self._still_valid(known):
                return known.claims
            self._verified.pop(token, None)  # a concurrent request with it may have dropped it first
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        key: str | jwt.PyJWK
        if alg == "HS256":
            secret = self._settings.jwt_secret
            if secret is None:
                raise AuthenticationError("unsupported_algorithm", "HS256 tokens are not accepted here")
            key = secret
        elif isinstance(alg, str) and alg in _ASYMMETRIC_KEY_CHECKS:
            key = await self._asymmetric_key(alg, header.get("kid"))
        else:
            raise AuthenticationError("unsupported_algorithm", f"algorithm {alg!r} is not accepted")

        settings = self._settings
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=settings.jwt_audience,
            issuer=settings.expected_issuer,
            leeway=settings.jwt_leeway_s,
            options={"require": ["exp"]},
        )
        verified = _to_verified_claims(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[token] = _Verified(verified, float(claims["exp"]), key if isinstance(key, jwt.PyJWK) else None)
        return verified

    async def _still_valid(self, known: _Verified) -> bool:
        # The test PyJWT applies to exp; nbf and iat only become truer as time passes.
        if known.expires_at <= time.time() - self._settings.jwt_leeway_s:
            return False
        if known.key is None:
            return True
        try:
            current = await self._asymmetric_key(str(known.key.algorithm_name), known.key.key_id)
        except AuthenticationError:
            return False
        return current is known.key

    async def _asymmetric_key(self, alg: str, kid: object) -> jwt.PyJWK:
        if self._jwks is None:
            raise AuthenticationError("unsupported_algorithm", f"{alg} needs a JWKS URL, none is configured")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("unknown_key", f"{alg} token has no kid")
        jwk = await self._jwks.get_key(kid)
        # PyJWK binds the JWK's declared alg (or the one implied by kty/crv); both must agree with the header.
        if jwk.algorithm_name != alg or not _ASYMMETRIC_KEY_CHECKS[alg](jwk.key):
            raise AuthenticationError("unsupported_algorithm", f"key {kid!r} cannot verify {alg} tokens")
        return jwk

    async def aclose(self) -> None:
        if self._jwks is not None:
            await self._jwks.aclose()


def _error_code(exc: jwt.PyJWTError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return _MISSING_CLAIM_CODES.get(exc.claim, "malformed_token")
    # Anything unlisted (e.g. InvalidKeyError from a misconfigured secret) is still a refusal.
    return next((code for kind, code in _ERROR_CODES if isinstance(exc, kind)), "invalid_token")


def _to_verified_claims(claims: dict[str, Any]) -> VerifiedClaims:
    subject = _as_uuid(claims.get("sub"))
    if subject is None:
        raise AuthenticationError("missing_subject", "sub claim must be a user UUID")
    role = claims.get("role", "authenticated")
    if not isinstance(role, str) or not role:
        raise AuthenticationError("malformed_token", "role claim must be a non-empty string")
    email = claims.get("email")
    try:
        # The claims go to PostgreSQL as JSON, which has no NaN/Infinity.
        json.dumps(claims, allow_nan=False)
    except ValueError as exc:
        raise AuthenticationError("malformed_token", "claims are not plain JSON") from exc
    return VerifiedClaims(
        subject=subject,
        role=role,
        email=email if isinstance(email, str) else None,
        raw=claims,
    )


def tenant_hint(claims: Mapping[str, Any]) -> uuid.UUID | None:
    """The tenant the token's ``app_metadata.tenant_id`` names (a Supabase custom access token hook), if it is one."""
    app_metadata = claims.get("app_metadata")
    return _as_uuid(app_metadata.get("tenant_id")) if isinstance(app_metadata, Mapping) else None


def _as_uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
