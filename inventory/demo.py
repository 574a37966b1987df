"""A realistic demo dataset: one manufacturer with a year of stock history, and a second tenant.

Demand is simulated per product and warehouse (weekday pattern, yearly season, trend, and intermittent
spare parts), and replenished by an (s, Q) policy with supplier lead times, so the ledger looks like a
real one and later feeds forecasting. Deterministic for a given seed. Runs as the migration (owner)
role, which bypasses row-level security; the API never does.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import numpy as np

from inventory.demo_logistics import seed_logistics
from inventory.stock import copy_movements

_NAMESPACE = uuid.UUID("6f1c2b1e-9c51-4c0e-8f5e-2f7f3e1d0a11")


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, name)


DEMO_TENANT_ID = demo_id("tenant:northwind")
DEMO_ADMIN_ID = demo_id("user:ada.admin")
DEMO_PLANNER_ID = demo_id("user:pat.planner")
DEMO_VIEWER_ID = demo_id("user:vic.viewer")
OTHER_TENANT_ID = demo_id("tenant:globex")
OTHER_ADMIN_ID = demo_id("user:gus.globex")


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    category: str
    unit_of_measure: str
    unit_cost: float
    daily_demand: float  # mean units per weekday
    supplier: str


_PRODUCTS = [
    DemoProduct("FST-M6-20", "Hex bolt M6x20 zinc", "Fasteners", "each", 0.06, 180, "SUP-WURTH"),
    DemoProduct("FST-M8-30", "Hex bolt M8x30 zinc", "Fasteners", "each", 0.09, 140, "SUP-WURTH"),
    DemoProduct("FST-NUT-M6", "Hex nut M6 zinc", "Fasteners", "each", 0.02, 220, "SUP-WURTH"),
    DemoProduct("FST-WSH-M8", "Flat washer M8", "Fasteners", "each", 0.01, 160, "SUP-WURTH"),
    DemoProduct("ELC-RES-10K", "Resistor 10k 0603 reel", "Electronics", "reel", 3.20, 6, "SUP-ARROW"),
    DemoProduct("ELC-CAP-100N", "Capacitor 100nF 0402 reel", "Electronics", "reel", 4.10, 5, "SUP-ARROW"),
    DemoProduct("ELC-MCU-F4", "Microcontroller STM32F4", "Electronics", "each", 7.80, 40, "SUP-ARROW"),
    DemoProduct("ELC-PSU-24", "Power supply 24V 5A", "Electronics", "each", 21.50, 12, "SUP-MEANWELL"),
    DemoProduct("ELC-CBL-USB", "USB-C cable 1m", "Electronics", "each", 1.90, 55, "SUP-ARROW"),
    DemoProduct("PKG-BOX-S", "Shipping box small", "Packaging", "each", 0.35, 120, "SUP-SMURFIT"),
    DemoProduct("PKG-BOX-L", "Shipping box large", "Packaging", "each", 0.80, 70, "SUP-SMURFIT"),
    DemoProduct("PKG-TAPE", "Packing tape 66m", "Packaging", "roll", 1.10, 30, "SUP-SMURFIT"),
    DemoProduct("PKG-PALLET", "EUR pallet", "Packaging", "each", 11.00, 8, "SUP-SMURFIT"),
    DemoProduct("RAW-AL-6061", "Aluminium 6061 bar stock", "Raw materials", "kg", 4.60, 95, "SUP-NORSK"),
    DemoProduct("RAW-ST-S235", "Steel S235 sheet", "Raw materials", "kg", 1.20, 260, "SUP-THYSSEN"),
    DemoProduct("RAW-ABS-PEL", "ABS pellets", "Raw materials", "kg", 2.30, 140, "SUP-BASF"),
    DemoProduct("RAW-PAINT-RAL", "Powder coat RAL 7016", "Raw materials", "kg", 9.40, 18, "SUP-BASF"),
    DemoProduct("SPR-BRG-6204", "Bearing 6204-2RS", "Spare parts", "each", 3.90, 0.6, "SUP-SKF"),
    DemoProduct("SPR-BLT-XPZ", "V-belt XPZ 1250", "Spare parts", "each", 12.30, 0.3, "SUP-SKF"),
    DemoProduct("SPR-MTR-075", "Motor 0.75kW IE3", "Spare parts", "each", 145.00, 0.1, "SUP-SIEMENS"),
    DemoProduct("SPR-SNS-PROX", "Proximity sensor M12", "Spare parts", "each", 28.00, 0.4, "SUP-SIEMENS"),
    DemoProduct("SPR-FLT-HYD", "Hydraulic filter element", "Spare parts", "each", 19.00, 0.5, "SUP-SKF"),
    DemoProduct("ASM-CTRL-BOX", "Controller box assembly", "Assemblies", "each", 64.00, 9, "SUP-MEANWELL"),
    DemoProduct("ASM-HARNESS", "Wiring harness A7", "Assemblies", "each", 14.50, 22, "SUP-ARROW"),
]

_SUPPLIERS = [
    ("SUP-WURTH", "Würth Industrie Service", "DE", 5),
    ("SUP-ARROW", "Arrow Electronics", "US", 21),
    ("SUP-MEANWELL", "Mean Well Enterprises", "TW", 35),
    ("SUP-SMURFIT", "Smurfit Westrock", "IE", 7),
    ("SUP-NORSK", "Norsk Hydro", "NO", 14),
    ("SUP-THYSSEN", "thyssenkrupp Materials", "DE", 10),
    ("SUP-BASF", "BASF Performance Materials", "DE", 12),
    ("SUP-SKF", "SKF Bearings", "SE", 9),
    ("SUP-SIEMENS", "Siemens Digital Industries", "DE", 28),
]

_WAREHOUSES = [
    ("BER-01", "Berlin central", "DE", "Berlin", "Europe/Berlin"),
    ("RTM-01", "Rotterdam port hub", "NL", "Rotterdam", "Europe/Amsterdam"),
    ("LYS-01", "Lyon assembly plant", "FR", "Lyon", "Europe/Paris"),
]


async def seed_demo(conn: asyncpg.Connection, *, days: int = 365, seed: int = 7, today: datetime | None = None) -> bool:
    """Load the demo tenants. Returns False (and changes nothing) if they are already there."""
    exists = await conn.fetchval("SELECT 1 FROM app.tenants WHERE id = $1", DEMO_TENANT_ID)
    if exists:
        return False
    rng = np.random.default_rng(seed)
    end = (today or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    async with conn.transaction():
        await _tenants_and_members(conn)
        supplier_lead = {code: lead for code, _, _, lead in _SUPPLIERS}
        await conn.executemany(
            "INSERT INTO app.suppliers (id, tenant_id, code, name, country, lead_time_days) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            [(demo_id(f"supplier:{c}"), DEMO_TENANT_ID, c, n, country, lead) for c, n, country, lead in _SUPPLIERS],
        )
        await conn.executemany(
            "INSERT INTO app.warehouses (id, tenant_id, code, name, country, city, timezone) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [(demo_id(f"warehouse:{c}"), DEMO_TENANT_ID, c, *rest) for c, *rest in _WAREHOUSES],
        )
        await conn.executemany(
            "INSERT INTO app.products (id, tenant_id, sku, name, category, unit_of_measure, unit_cost, description) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (
                    demo_id(f"product:{p.sku}"),
                    DEMO_TENANT_ID,
                    p.sku,
                    p.name,
                    p.category,
                    p.unit_of_measure,
                    Decimal(str(p.unit_cost)),
                    f"Supplied by {p.supplier}",
                )
                for p in _PRODUCTS
            ],
        )
        records = []
        for index, product in enumerate(_PRODUCTS):
            # Each product is stocked in two of the three warehouses.
            for offset in (0, 1):
                code = _WAREHOUSES[(index + offset) % len(_WAREHOUSES)][0]
                share = 0.65 if offset == 0 else 0.35
                records.extend(_simulate(rng, product, code, share, supplier_lead[product.supplier], start, days))
        await copy_movements(conn, records, created_at=True)
        await seed_logistics(conn, DEMO_TENANT_ID, DEMO_PLANNER_ID, demo_id, end)
    return True


async def _tenants_and_members(conn: asyncpg.Connection) -> None:
    await conn.executemany(
        "INSERT INTO app.tenants (id, name, slug) VALUES ($1, $2, $3)",
        [(DEMO_TENANT_ID, "Northwind Components", "northwind"), (OTHER_TENANT_ID, "Globex Logistics", "globex")],
    )
    await conn.executemany(
        "INSERT INTO app.members (tenant_id, user_id, email, role) VALUES ($1, $2, $3, $4)",
        [
            (DEMO_TENANT_ID, DEMO_ADMIN_ID, "ada.admin@northwind.example", "admin"),
            (DEMO_TENANT_ID, DEMO_PLANNER_ID, "pat.planner@northwind.example", "planner"),
            (DEMO_TENANT_ID, DEMO_VIEWER_ID, "vic.viewer@northwind.example", "viewer"),
            (OTHER_TENANT_ID, OTHER_ADMIN_ID, "gus@globex.example", "admin"),
        ],
    )
    await conn.execute(
        "INSERT INTO app.warehouses (id, tenant_id, code, name, country, city) VALUES ($1, $2, 'GLX-01', "
        "'Globex Hamburg', 'DE', 'Hamburg')",
        demo_id("warehouse:GLX-01"),
        OTHER_TENANT_ID,
    )
    await conn.execute(
        "INSERT INTO app.products (id, tenant_id, sku, name, category) VALUES ($1, $2, 'FST-M6-20', "
        "'Globex private-label bolt M6x20', 'Fasteners')",
        demo_id("product:globex:FST-M6-20"),
        OTHER_TENANT_ID,
    )


def _simulate(
    rng: np.random.Generator,
    product: DemoProduct,
    warehouse_code: str,
    share: float,
    lead_time_days: int,
    start: datetime,
    days: int,
) -> list[tuple]:
    product_id = demo_id(f"product:{product.sku}")
    warehouse_id = demo_id(f"warehouse:{warehouse_code}")
    mean = product.daily_demand * share
    reorder_point = mean * (lead_time_days + 7) * 1.2 + 2
    order_quantity = max(math.ceil(mean * 30), 5)
    on_hand = math.ceil(reorder_point + order_quantity)
    incoming: dict[int, int] = {}
    trend = rng.uniform(-0.15, 0.35)
    records: list[tuple] = [
        (DEMO_TENANT_ID, product_id, warehouse_id, "receipt", Decimal(on_hand), "Opening balance", start, start)
    ]
    for day in range(days):
        when = start + timedelta(days=day, hours=8)
        arriving = incoming.pop(day, 0)
        if arriving:
            on_hand += arriving
            stamp = when + timedelta(hours=1)
            records.append(
                (
                    DEMO_TENANT_ID,
                    product_id,
                    warehouse_id,
                    "receipt",
                    Decimal(arriving),
                    f"PO-{product.sku}-{day}",
                    stamp,
                    stamp,
                )
            )
        weekday = when.weekday()
        season = 1 + 0.25 * math.sin(2 * math.pi * (when.timetuple().tm_yday - 80) / 365.25)
        level = mean * season * (1 + trend * day / days) * (1.15 if weekday < 5 else 0.25)
        demand = int(rng.poisson(level)) if level > 0 else 0
        issued = min(demand, on_hand)  # unmet demand is a lost sale, never negative stock
        if issued:
            on_hand -= issued
            stamp = when + timedelta(hours=6)
            records.append(
                (
                    DEMO_TENANT_ID,
                    product_id,
                    warehouse_id,
                    "issue",
                    Decimal(-issued),
                    f"SO-{product.sku}-{day}",
                    stamp,
                    stamp,
                )
            )
        if on_hand + sum(incoming.values()) <= reorder_point:
            arrival = day + max(1, int(rng.normal(lead_time_days, lead_time_days * 0.2)))
            incoming[arrival] = incoming.get(arrival, 0) + order_quantity
    return records
