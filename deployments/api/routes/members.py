"""The caller's profile and preferences, member management for admins, and notifications."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body

from deployments.api.deps import CallerDep
from deployments.api.list_route import add_list_route
from inventory import members, notifications
from inventory.member_schemas import MarkedRead, Member, Notification, Profile, ProfileUpdate, RoleChange

router = APIRouter(tags=["me"])
members_router = APIRouter(prefix="/members", tags=["members"])
notifications_router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.patch("/me", response_model=Profile, summary="Change your profile and preferences")
async def update_me(changes: Annotated[ProfileUpdate, Body()], caller: CallerDep) -> Profile:
    """Every member may change their own profile (viewers too); `notifications` is merged field by field."""

    return Profile.model_validate(
        await caller.run(lambda tx: members.update_profile(tx.conn, tx.tenant_id, tx.user_id, changes))
    )


add_list_route(
    members_router,
    "",
    members.MEMBERS,
    Member,
    members.list_members,
    "Members of your tenant (admins)",
    admin_only=True,
)


@members_router.patch("/{user_id}", response_model=Member, summary="Change a member's role (admins)")
async def change_role(user_id: UUID, change: Annotated[RoleChange, Body()], caller: CallerDep) -> Member:
    return Member.model_validate(
        await caller.run(lambda tx: members.change_role(tx.conn, tx.role.value, user_id, change.role))
    )


add_list_route(
    notifications_router,
    "",
    notifications.NOTIFICATIONS,
    Notification,
    notifications.list_notifications,
    "Your notifications, newest first",
)


@notifications_router.post("/read-all", response_model=MarkedRead, summary="Mark all your notifications read")
async def mark_all_read(caller: CallerDep) -> MarkedRead:
    return MarkedRead(
        marked=await caller.run(lambda tx: notifications.mark_all_read(tx.conn, tx.tenant_id, tx.user_id))
    )


@notifications_router.post("/{notification_id}/read", response_model=Notification, summary="Mark one read")
async def mark_read(notification_id: UUID, caller: CallerDep) -> Notification:
    return Notification.model_validate(
        await caller.run(lambda tx: notifications.mark_read(tx.conn, tx.tenant_id, tx.user_id, notification_id))
    )
