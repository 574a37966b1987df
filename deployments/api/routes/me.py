"""The caller's own identity and role in the tenant."""

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from common.database import TenantTransaction
from deployments.api.deps import CallerDep

router = APIRouter(tags=["me"])


class Me(BaseModel):
    user_id: UUID
    email: str | None
    tenant_id: UUID
    role: str


@router.get("/me", response_model=Me, summary="Who am I, in which tenant, with which role")
async def get_me(caller: CallerDep) -> Me:
    async def op(tx: TenantTransaction) -> Me:
        return Me(user_id=tx.user_id, email=caller.claims.email, tenant_id=tx.tenant_id, role=tx.role.value)

    return await caller.run(op)
