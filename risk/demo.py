"""Risk data for the demo tenant: supplier profiles, certifications, audits, two years of delivery and price
history, and open purchase orders to score, so that `make run` shows scores that differ for a reason.

Runs as the owner role after ``inventory.demo.seed_demo``; skipped (returns False) once loaded. Deterministic.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import numpy as np

from inventory.demo import _PRODUCTS, DEMO_TENANT_ID, DemoProduct, demo_id

# code: (credit rating, days payable, revenue trend %, distance km, mode, late rate, defect rate, lead days)
_PROFILES = {
    "SUP-WURTH": ("A", 45, 4.0, 350, "road", 0.05, 0.002, 5),
    "SUP-ARROW": ("BBB", 60, 1.0, 7200, "air", 0.18, 0.004, 21),
    "SUP-MEANWELL": ("A", 75, 6.0, 9100, "sea", 0.38, 0.010, 35),
    "SUP-SMURFIT": ("BBB", 55, -2.0, 1500, "road", 0.10, 0.003, 7),
    "SUP-NORSK": ("AA", 40, 3.0, 1100, "sea", 0.12, 0.002, 14),
    "SUP-THYSSEN": ("BB", 110, -14.0, 420, "road", 0.30, 0.025, 10),
    "SUP-BASF": ("A", 50, 2.0, 620, "rail", 0.08, 0.003, 12),
    "SUP-SKF": ("AA", 35, 5.0, 900, "road", 0.06, 0.001, 9),
    "SUP-SIEMENS": ("AA", 40, 3.0, 500, "road", 0.07, 0.001, 28),
}


async def seed_risk_demo(conn: asyncpg.Connection, *, seed: int = 11, today: date | None = None) -> bool:
    loaded = await conn.fetchval(
        "SELECT 1 FROM app.supplier_risk_profiles WHERE tenant_id = $1 LIMIT 1", DEMO_TENANT_ID
    )
    if loaded or not await conn.fetchval("SELECT 1 FROM app.tenants WHERE id = $1", DEMO_TENANT_ID):
        return False
    rng = np.random.default_rng(seed)
    day = today or date.today()
    tenant = DEMO_TENANT_ID
    countries = {
        r["code"]: r["country"]
        for r in await conn.fetch("SELECT code, country FROM app.suppliers WHERE tenant_id = $1", DEMO_TENANT_ID)
    }
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO app.supplier_risk_profiles (tenant_id, supplier_id, credit_rating, days_payable, "
            "revenue_trend_pct, distance_km, default_shipment_mode, categories) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (
                    tenant,
                    demo_id(f"supplier:{code}"),
                    p[0],
                    p[1],
                    Decimal(str(p[2])),
                    Decimal(p[3]),
                    p[4],
                    sorted({x.category for x in _PRODUCTS if x.supplier == code}),
                )
                for code, p in _PROFILES.items()
            ],
        )
        certifications = [
            (code, "ISO 9001", day + timedelta(days=25 if code == "SUP-SMURFIT" else int(rng.integers(200, 700))))
            for code in _PROFILES
            if code != "SUP-ARROW"
        ]
        certifications += [
            ("SUP-MEANWELL", "ISO 14001", day + timedelta(days=20)),
            ("SUP-SIEMENS", "IATF 16949", day + timedelta(days=400)),
            ("SUP-THYSSEN", "ISO 14001", day - timedelta(days=12)),
        ]
        await conn.executemany(
            "INSERT INTO app.supplier_certifications (tenant_id, supplier_id, standard, reference, issued_on, "
            "expires_on) VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (tenant, demo_id(f"supplier:{c}"), s, f"{c}-{s}", e - timedelta(days=3 * 365), e)
                for c, s, e in certifications
            ],
        )
        audits = [
            (code, day - timedelta(days=int(rng.integers(30, 300))), float(rng.integers(82, 97)), "pass")
            for code in _PROFILES
        ]
        audits = [a for a in audits if a[0] not in ("SUP-THYSSEN", "SUP-MEANWELL")]
        audits += [
            ("SUP-THYSSEN", day - timedelta(days=60), 61.0, "conditional"),
            ("SUP-MEANWELL", day - timedelta(days=420), 78.0, "pass"),
        ]
        await conn.executemany(
            "INSERT INTO app.supplier_audits (tenant_id, supplier_id, audited_on, score, outcome, next_due) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (tenant, demo_id(f"supplier:{c}"), d, Decimal(str(s)), o, d + timedelta(days=365))
                for c, d, s, o in audits
            ],
        )
        deliveries, prices = _history(rng, day, countries)
        await conn.copy_records_to_table(
            "supplier_deliveries",
            schema_name="app",
            columns=[
                "tenant_id",
                "supplier_id",
                "product_id",
                "origin_country",
                "shipment_mode",
                "order_date",
                "promised_date",
                "delivered_date",
                "quantity",
                "quantity_received",
                "quantity_rejected",
                "value",
                "reference",
                "import_key",
            ],
            records=deliveries,
        )
        await conn.copy_records_to_table(
            "supplier_price_history",
            schema_name="app",
            columns=["tenant_id", "supplier_id", "product_id", "observed_on", "unit_price", "import_key"],
            records=prices,
        )
        await _open_orders(conn, rng, day, {r[2]: r[4] for r in prices})
    return True


def _history(
    rng: np.random.Generator, day: date, countries: dict[str, str]
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    deliveries: list[tuple[object, ...]] = []
    prices: list[tuple[object, ...]] = []
    start = day - timedelta(days=730)
    for product in _PRODUCTS:
        _, _, _, _, mode, late_rate, defect_rate, lead = _PROFILES[product.supplier]
        supplier = demo_id(f"supplier:{product.supplier}")
        price = product.unit_cost
        # A raw-material price shock in the last month, for the market-risk view.
        shocked = product.sku == "RAW-AL-6061"
        for week in range(0, 104, 2 if product.daily_demand >= 5 else 6):
            ordered = start + timedelta(days=7 * week + int(rng.integers(0, 5)))
            if ordered >= day - timedelta(days=lead + 3):
                break
            # Promised lead times vary around the usual; tight promises are kept less often.
            tightness = float(rng.uniform(0.6, 1.3))
            promised = ordered + timedelta(days=max(2, round(lead * tightness)))
            season = 0.12 if promised.month in (11, 12, 1) else 0.0
            late = rng.random() < min(max(late_rate + season + 0.6 * (1 - tightness), 0.01), 0.95)
            delay = int(np.ceil(rng.gamma(2.0, 2.5 if mode != "sea" else 4.0))) if late else -int(rng.integers(0, 2))
            delivered = max(promised + timedelta(days=delay), ordered)
            quantity = max(1.0, round(product.daily_demand * 14 * float(rng.uniform(0.6, 1.4)), 0))
            price *= float(np.exp(rng.normal(0.002, 0.015)))
            if shocked and ordered > day - timedelta(days=45):
                price *= 1.25
                shocked = False
            rejected = float(rng.binomial(int(quantity), defect_rate)) if quantity < 1e6 else 0.0
            short = quantity * float(rng.uniform(0.0, 0.08)) if rng.random() < late_rate / 2 else 0.0
            # A line that would arrive after the seed day has not arrived: it stays open (overdue once its promise
            # has passed), not a delivery dated ahead of the clock. Its draws are made all the same, so the rest of
            # the history does not change.
            arrived = delivered <= day
            reference = f"HIST-{product.sku}-{week}"
            key = hashlib.sha256(f"demo|{reference}".encode()).hexdigest()
            deliveries.append(
                (
                    DEMO_TENANT_ID,
                    supplier,
                    demo_id(f"product:{product.sku}"),
                    countries.get(product.supplier),
                    mode,
                    ordered,
                    promised,
                    delivered if arrived else None,
                    Decimal(str(quantity)),
                    Decimal(str(round(quantity - short, 0))) if arrived else None,
                    Decimal(str(rejected if arrived else 0.0)),
                    Decimal(str(round(quantity * price, 2))),
                    reference,
                    key,
                )
            )
            prices.append(
                (
                    DEMO_TENANT_ID,
                    supplier,
                    demo_id(f"product:{product.sku}"),
                    ordered,
                    Decimal(str(round(price, 4))),
                    key,
                )
            )
    return deliveries, prices


async def _open_orders(
    conn: asyncpg.Connection, rng: np.random.Generator, day: date, last_price: dict[object, object]
) -> None:
    """Ten issued orders still to arrive, and one draft priced well above the recent history."""
    warehouse = demo_id("warehouse:BER-01")
    by_supplier: dict[str, list[DemoProduct]] = {}
    for product in _PRODUCTS:
        by_supplier.setdefault(product.supplier, []).append(product)
    plan = [
        "SUP-MEANWELL",
        "SUP-THYSSEN",
        "SUP-ARROW",
        "SUP-WURTH",
        "SUP-BASF",
        "SUP-SKF",
        "SUP-MEANWELL",
        "SUP-SMURFIT",
        "SUP-NORSK",
        "SUP-SIEMENS",
    ]
    for index, code in enumerate(plan):
        lead = _PROFILES[code][7]
        issued = datetime.combine(day - timedelta(days=int(rng.integers(1, 6))), datetime.min.time(), UTC)
        # Two orders promised well inside the supplier's usual lead time: tight, so at risk.
        promised_lead = max(2, int(lead * (0.5 if index in (0, 1) else 1.0)))
        order_id = await conn.fetchval(
            "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, expected_date, status, "
            "issued_at, origin) VALUES ($1, $2, $3, 'EUR', $4, 'issued', $5, 'risk demo') RETURNING id",
            DEMO_TENANT_ID,
            demo_id(f"supplier:{code}"),
            warehouse,
            issued.date() + timedelta(days=promised_lead),
            issued,
        )
        for line_no, product in enumerate(by_supplier[code][:2], start=1):
            quantity = Decimal(str(max(1, round(product.daily_demand * 20))))
            await conn.execute(
                "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, "
                "uom, uom_factor, quantity_base, unit_price) VALUES ($1, $2, $3, $4, $5, $6, 1, $5, $7)",
                DEMO_TENANT_ID,
                order_id,
                line_no,
                demo_id(f"product:{product.sku}"),
                quantity,
                product.unit_of_measure,
                last_price[demo_id(f"product:{product.sku}")],
            )
    draft = await conn.fetchval(
        "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, expected_date, origin) "
        "VALUES ($1, $2, $3, 'EUR', $4, 'risk demo') RETURNING id",
        DEMO_TENANT_ID,
        demo_id("supplier:SUP-BASF"),
        warehouse,
        day + timedelta(days=14),
    )
    await conn.execute(
        "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, "
        "uom_factor, quantity_base, unit_price) VALUES ($1, $2, 1, $3, 500, 'kg', 1, 500, $4)",
        DEMO_TENANT_ID,
        draft,
        demo_id("product:RAW-ABS-PEL"),
        Decimal("3.40"),
    )
