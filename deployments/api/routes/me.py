"""The caller's own identity, role and profile in the tenant (PATCH /me lives in routes/members.py)."""

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from common.database import TenantTransaction
from deployments.api.deps import CallerDep
from inventory import members
from inventory.member_schemas import Profile

router = APIRouter(tags=["me"])


class Me(BaseModel):
    user_id: UUID
    email: str | None
    tenant_id: UUID
    role: str
    profile: Profile


@router.get("/me", response_model=Me, summary="Who am I, in which tenant, with which role")
async def get_me(caller: CallerDep) -> Me:
    async def op(tx: TenantTransaction) -> Me:
        profile = Profile.model_validate(await members.get_profile(tx.conn, tx.user_id))
        return Me(
            user_id=tx.user_id, email=caller.claims.email, tenant_id=tx.tenant_id, role=tx.role.value, profile=profile
        )

    return await caller.run(op)
