"""Member profiles and preferences, the tenant's member list, and role changes by admins."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from common.database import MemberRole, lock_until_commit
from common.errors import ConflictError, NotFoundError, PermissionDeniedError
from inventory.listing import KnownValues, Listing, ListQuery, Page
from inventory.member_schemas import NotificationSettings, ProfileUpdate
from inventory.records import one_row, refuse_inactive
from inventory.schemas import zone_name

PROFILE_COLUMNS = "display_name, locale, timezone, units, default_warehouse_id, notifications, updated_at"

MEMBERS = Listing(
    table="app.member_directory",
    columns=("id", "user_id", "email", "role", "display_name", "created_at"),
    sortable={"created_at": datetime},
    default_sort="created_at",
    equality_filters={"role": "text"},
    known_values={"role": KnownValues.of(MemberRole)},
    search_columns=("email", "display_name"),
)


async def get_profile(conn: asyncpg.Connection, user_id: UUID) -> dict:
    row = await conn.fetchrow(f"SELECT {PROFILE_COLUMNS} FROM app.member_profiles WHERE user_id = $1", user_id)
    if row is None:
        return {
            "display_name": None,
            "locale": "en",
            "timezone": "UTC",
            "units": "metric",
            "default_warehouse_id": None,
            "notifications": NotificationSettings().model_dump(),
            "updated_at": None,
        }
    profile = dict(row)
    profile["notifications"] = NotificationSettings.model_validate(profile["notifications"]).model_dump()
    return profile


async def zone_for(conn: asyncpg.Connection, user_id: UUID) -> tzinfo:
    """The time zone of the member's profile (UTC without one), in which they read dates."""
    name = await conn.fetchval("SELECT timezone FROM app.member_profiles WHERE user_id = $1", user_id)
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC  # a zone the profile check accepted but this system's tz database lacks


async def zone_name_for(conn: asyncpg.Connection, user_id: UUID) -> str:
    """The IANA name of the member's zone ('UTC' without one): what a warehouse without a zone is read in."""
    return zone_name(await zone_for(conn, user_id))


async def today_for(conn: asyncpg.Connection, user_id: UUID) -> date:
    """The member's calendar date in the time zone of their profile (UTC without one): "late", "due today" and
    "runs out in 3 days" must count from the day the reader is in, not the server's (at 17:00 in California
    an order due that day was already "1 day late" by the server's UTC date)."""
    return datetime.now(await zone_for(conn, user_id)).date()


async def update_profile(conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, changes: ProfileUpdate) -> dict:
    # Two updates at once (a settings screen saving each toggle as it changes): the second reads the profile
    # after the first has written it, so it merges into it instead of writing its stale copy over it.
    await lock_until_commit(conn, f"member-profile:{tenant_id}:{user_id}")
    current = await get_profile(conn, user_id)
    values: dict[str, Any] = changes.model_dump(exclude_unset=True, exclude={"notifications"})
    merged = {**current, **values}
    if changes.notifications is not None:
        merged["notifications"] = {
            **current["notifications"],
            **changes.notifications.model_dump(exclude_unset=True),
        }
    if merged["default_warehouse_id"] is not None and not await conn.fetchval(
        "SELECT 1 FROM app.warehouses WHERE id = $1", merged["default_warehouse_id"]
    ):
        raise NotFoundError(f"warehouse {merged['default_warehouse_id']} not found", code="unknown_warehouse")
    if values.get("default_warehouse_id") is not None:  # a newly chosen default, not one deactivated since
        await refuse_inactive(conn, "warehouse", values["default_warehouse_id"], where="the default ")
    await conn.execute(
        """INSERT INTO app.member_profiles
               (tenant_id, user_id, display_name, locale, timezone, units, default_warehouse_id, notifications)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (tenant_id, user_id) DO UPDATE SET
               display_name = EXCLUDED.display_name, locale = EXCLUDED.locale, timezone = EXCLUDED.timezone,
               units = EXCLUDED.units, default_warehouse_id = EXCLUDED.default_warehouse_id,
               notifications = EXCLUDED.notifications, updated_at = now()""",
        tenant_id,
        user_id,
        merged["display_name"],
        merged["locale"],
        merged["timezone"],
        merged["units"],
        merged["default_warehouse_id"],
        json.loads(json.dumps(merged["notifications"])),
    )
    return await get_profile(conn, user_id)


async def list_members(conn: asyncpg.Connection, query: ListQuery) -> Page:
    sql, params = MEMBERS.build(query)
    return MEMBERS.page(await conn.fetch(sql, *params), query)


async def change_role(conn: asyncpg.Connection, caller_role: str, user_id: UUID, role: str) -> dict:
    """Admins only; the tenant always keeps at least one admin."""
    if caller_role != "admin":
        raise PermissionDeniedError("only an admin can change members' roles")
    current = await conn.fetchrow("SELECT role FROM app.member_directory WHERE user_id = $1", user_id)
    if current is None:
        raise NotFoundError(f"member {user_id} not found in this tenant")
    if current["role"] == "admin" and role != "admin":
        # Lock the tenant's admins so two admins cannot demote each other at the same time.
        admins = await conn.fetch(
            "SELECT user_id FROM app.members WHERE tenant_id = (SELECT app.current_tenant_id()) AND role = 'admin' "
            "FOR UPDATE"
        )
        if len(admins) <= 1:
            raise ConflictError("the tenant must keep at least one admin", code="last_admin")
    await conn.execute(
        "UPDATE app.members SET role = $2 WHERE tenant_id = (SELECT app.current_tenant_id()) AND user_id = $1",
        user_id,
        role,
    )
    return await one_row(
        conn, f"SELECT {', '.join(MEMBERS.columns)} FROM app.member_directory WHERE user_id = $1", user_id
    )
