"""The purchasing and logistics routers, included in /api/v1 by ``create_api``."""

from fastapi import APIRouter

from deployments.api.routes import carrier_keys, exports, live, members, purchase_orders, reorder, reports, shipments


def logistics_routers() -> list[APIRouter]:
    return [
        purchase_orders.router,
        purchase_orders.units_router,
        reorder.router,
        shipments.router,
        shipments.webhook_router,
        carrier_keys.router,
        members.router,
        members.members_router,
        members.notifications_router,
        live.router,
        reports.router,  # before exports: its /exports/{name} would take /exports/forecast.pdf
        exports.router,
    ]
