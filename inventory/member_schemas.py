"""Profiles, preferences and member management."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from inventory.schemas import StrictModel, TimeZone, UpdateModel

Locale = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$", description="BCP 47, e.g. en or de-DE")]
Units = Literal["metric", "imperial"]
Role = Literal["admin", "planner", "viewer"]


class NotificationSettings(BaseModel):
    in_app: bool = True
    email: bool = False
    low_stock: bool = True
    purchase_orders: bool = True
    shipments: bool = True


class NotificationSettingsUpdate(StrictModel):
    in_app: bool | None = None
    email: bool | None = None
    low_stock: bool | None = None
    purchase_orders: bool | None = None
    shipments: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> NotificationSettingsUpdate:
        # Omit a setting to keep it; null would store a value no reader accepts.
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"notifications.{name} must be true or false, not null")
        if self.email:  # a setting nothing would act on: no mail is sent from here
            raise ValueError("notifications.email: email delivery is not available; notifications are in the app")
        return self


class Profile(BaseModel):
    display_name: str | None
    locale: str
    timezone: str
    units: Units
    default_warehouse_id: UUID | None
    notifications: NotificationSettings
    updated_at: datetime | None


class ProfileUpdate(UpdateModel):
    non_nullable = frozenset({"locale", "timezone", "units", "notifications"})

    display_name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    locale: Locale | None = None
    timezone: TimeZone | None = None
    units: Units | None = None
    default_warehouse_id: UUID | None = None
    notifications: NotificationSettingsUpdate | None = None


class Member(BaseModel):
    user_id: UUID
    email: str | None
    role: Role
    display_name: str | None
    created_at: datetime


class RoleChange(StrictModel):
    role: Role


class Notification(BaseModel):
    id: UUID
    kind: str
    title: str
    data: dict
    personal: bool
    read: bool
    read_at: datetime | None
    created_at: datetime


class MarkedRead(BaseModel):
    marked: int
