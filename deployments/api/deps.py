"""What routes receive: the authenticated caller and a way to run work in the caller's tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Request

from common.auth import AuthenticationError, TokenVerifier, VerifiedClaims
from common.config import Settings
from common.database import Database, TenantTransaction
from common.errors import InvalidInputError, ServiceUnavailableError

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    """Collaborators shared by all requests of one process; built by the app's lifespan."""

    database: Database
    verifier: TokenVerifier


@dataclass(frozen=True)
class ModelHandles:
    """DeploymentHandles to the model deployments composed into the app; None where one is not deployed.

    Typed ``Any`` so this module stays importable without Ray; each is a ``ray.serve.handle.DeploymentHandle``.
    """

    forecast: Any = None
    risk: Any = None
    copilot: Any = None
    llm: Any = None  # the LLMServer (vLLM) deployment, for the OpenAI-compatible route

    def require(self, name: str) -> Any:
        handle = getattr(self, name)
        if handle is None:
            raise ServiceUnavailableError(f"the {name} service is not deployed in this application")
        return handle


def get_model_handles(request: Request) -> ModelHandles:
    handles: ModelHandles = request.app.state.model_handles
    return handles


ModelHandlesDep = Annotated[ModelHandles, Depends(get_model_handles)]


@dataclass(frozen=True)
class Caller:
    claims: VerifiedClaims
    # The X-Tenant-Id header only: the token's tenant hint is no choice, and Database resolves it from the claims
    # (a hint naming a tenant the user has left is no 403).
    requested_tenant: UUID | None
    services: Services

    async def run(self, operation: Callable[[TenantTransaction], Awaitable[T]], *, write: bool = False) -> T:
        """Run ``operation`` in one transaction scoped to the caller's tenant under row-level security."""

        async def guarded(tx: TenantTransaction) -> T:
            if write:
                tx.require_write()
            return await operation(tx)

        return await self.services.database.run(self.claims.raw, self.requested_tenant, guarded)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_caller(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <Supabase access token>")] = None,
    x_tenant_id: Annotated[
        str | None, Header(description="Tenant to act on; required only for members of several tenants")
    ] = None,
) -> Caller:
    if not authorization:
        raise AuthenticationError("missing_token", "send an Authorization: Bearer <access token> header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("malformed_authorization", "the Authorization header must be 'Bearer <token>'")
    services = get_services(request)
    claims = await services.verifier.verify(token.strip())
    return Caller(claims, _tenant_from(x_tenant_id), services)


def _tenant_from(header: str | None) -> UUID | None:
    if header is None:
        return None
    try:
        return UUID(header)
    except ValueError as exc:
        raise InvalidInputError(f"X-Tenant-Id must be a UUID, got {header!r}", code="invalid_tenant_id") from exc


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_member(caller: CallerDep) -> Caller:
    """The caller, once a tenant transaction found them a member (403 otherwise), for routes that read no tenant
    data and so would not run one of their own (a verified token alone is not membership)."""

    async def membership(_tx: TenantTransaction) -> None:
        return None

    await caller.run(membership)
    return caller


MemberDep = Annotated[Caller, Depends(get_member)]


def get_app_settings(request: Request) -> Settings:
    """The settings ``create_api`` was built with (not re-read from the environment)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
