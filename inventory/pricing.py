"""What an order line costs when the buyer gives no price, from evidence in the order's own currency.

First the product's unit cost, when it is kept in the order's currency; else the price the supplier charged
for the product on its latest order in that currency that was issued (ERPNext's "last purchase rate", per
supplier as Odoo's vendor prices are). Chainsight keeps no exchange rates, so a cost in another currency is
never converted, and without either figure the buyer must give the price: a line is never priced at 0 or in
a currency the figure was not stated in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

import asyncpg

from common.errors import InvalidInputError
from inventory.purchasing_receipts import QUANTUM
from inventory.schemas import DEFAULT_CURRENCY, LARGEST_PRICE, LARGEST_QUANTITY

MAX_PRICE_ROUNDING = Decimal("0.001")  # of a derived unit price, lost to its four decimals

# A line's last price, per unit of the product's own unit, on the supplier's latest issued order in the
# currency; drafts are not yet prices anybody agreed to, cancelled orders may never have been. A line at 0 (free
# samples) is no price, as the price history holds (0138), and a line closed with nothing received bought nothing
# (as spend counts it). Its date is the receiving warehouse's, as the delivery history dates the order.
_PRICES = """
WITH wanted AS (SELECT unnest($1::uuid[]) AS product_id),
last_paid AS (
    SELECT DISTINCT ON (l.product_id) l.product_id, l.unit_price / l.uom_factor AS price, o.number,
           (coalesce(o.issued_at, o.created_at) AT TIME ZONE coalesce(wh.timezone, 'UTC'))::date AS issued_on
    FROM app.purchase_order_lines l
    JOIN app.purchase_orders o ON o.id = l.purchase_order_id
    JOIN app.warehouses wh ON wh.tenant_id = o.tenant_id AND wh.id = o.warehouse_id
    WHERE l.product_id = ANY($1::uuid[]) AND o.supplier_id = $2 AND o.currency = $3
      AND o.status IN ('issued', 'partially_received', 'received') AND l.unit_price > 0
      AND NOT (l.received_base = 0 AND l.received_base + l.cancelled_base >= l.quantity_base)
    ORDER BY l.product_id, o.issued_at DESC NULLS LAST, o.created_at DESC, l.line_no DESC
)
SELECT w.product_id, p.sku, p.unit_cost, p.unit_cost_currency, lp.price AS last_paid,
       lp.number AS last_paid_order, lp.issued_on AS last_paid_on,
       (SELECT code FROM app.suppliers WHERE id = $2) AS supplier_code
FROM wanted w
JOIN app.products p ON p.id = w.product_id
LEFT JOIN last_paid lp ON lp.product_id = w.product_id
"""


def kept_unit_price(exact: Decimal) -> Decimal | None:
    """``exact`` at the four decimals a unit price keeps (PostgreSQL rounds a longer one silently), or None where
    they would lose more than ``MAX_PRICE_ROUNDING`` of it, as an API line's derived price is refused: a price per
    1000 pieces, per piece (0.85 per 1000 kept as 0.0009, 6% high); 10.00 a dozen is kept as 0.8333 each."""
    if exact >= LARGEST_PRICE:
        return exact  # past what the column keeps at all (and quantize's 28 digits): the database refuses it
    kept = exact.quantize(QUANTUM, rounding=ROUND_HALF_UP)
    return kept if abs(kept - exact) <= exact * MAX_PRICE_ROUNDING else None


def listed_total(total: Decimal) -> Decimal:
    """An order's total as its summary states it: at four decimals, rounded half away from zero as PostgreSQL casts
    it to numeric(18, 4). One of ``LARGEST_QUANTITY`` or more once rounded (99999999999999.99995) fails that cast,
    and with it every list, read and export of the tenant's orders."""
    if total >= LARGEST_QUANTITY:
        return total  # past what the view keeps at all (and quantize's 28 digits)
    return total.quantize(QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PriceEvidence:
    product_id: UUID
    sku: str
    currency: str  # the order's
    unit_cost: Decimal | None
    unit_cost_currency: str | None
    last_paid: Decimal | None
    last_paid_order: str | None
    last_paid_on: date | None
    supplier_code: str | None

    @property
    def _cost_applies(self) -> bool:
        """The unit cost is known and kept in the order's currency."""
        return self.unit_cost is not None and self.unit_cost_currency == self.currency

    @property
    def price(self) -> Decimal | None:
        """Per unit of the product's own unit, in the order's currency; None when nothing supports a figure."""
        return self.unit_cost if self._cost_applies else self.last_paid

    @property
    def source(self) -> str | None:
        """Where ``price`` comes from, for the buyer to judge it: the unit cost, or the order and its date."""
        if self._cost_applies:
            return "unit cost"
        if self.last_paid is not None:
            return f"{self.last_paid_order} issued {self.last_paid_on}"
        return None

    def price_per(self, uom: str, factor: Decimal, base_uom: str, *, where: str = "") -> Decimal:
        """``price`` per ``uom`` (``factor`` product units each), at the four decimals a unit price keeps; refused
        where those would lose more than 0.1% of it (grams of a product costed per kg), with the line's total."""
        if self.price is None:
            raise unpriced_error([self.why_none()], where=where)
        exact = self.price * factor
        price = kept_unit_price(exact)
        if price is None:
            raise InvalidInputError(
                f"{where}{self.sku} at {self.price:f} {self.currency} per {base_uom} is {exact.normalize():f} per "
                f"{uom}, finer than the four decimals a unit price keeps: order in {base_uom}, or give unit_price",
                code="unit_price_required",
            )
        return price

    def why_none(self) -> str:
        if self.unit_cost is None:
            cost = "has no unit cost"
        elif self.unit_cost_currency is None:
            cost = f"has a unit cost of {self.unit_cost:f} in an unknown currency"
        else:
            cost = f"costs {self.unit_cost:f} {self.unit_cost_currency}, not {self.currency}"
        return f"{self.sku} {cost}, and supplier {self.supplier_code} has no issued order for it in {self.currency}"


async def supplier_currency(conn: asyncpg.Connection, supplier_id: UUID) -> str:
    """What an order to the supplier is in when the buyer does not say: its currency, else the default."""
    currency: str | None = await conn.fetchval("SELECT currency FROM app.suppliers WHERE id = $1", supplier_id)
    return currency or DEFAULT_CURRENCY


async def price_evidence(
    conn: asyncpg.Connection, supplier_id: UUID, currency: str, product_ids: Iterable[UUID]
) -> dict[UUID, PriceEvidence]:
    wanted = list(product_ids)
    rows = await conn.fetch(_PRICES, wanted, supplier_id, currency) if wanted else []
    return {row["product_id"]: PriceEvidence(currency=currency, **dict(row)) for row in rows}


def unpriced_error(reasons: list[str], *, where: str = "") -> InvalidInputError:
    """One refusal naming every line nothing prices."""
    shown = "; ".join(reasons[:10]) + (f"; and {len(reasons) - 10} more" if len(reasons) > 10 else "")
    return InvalidInputError(
        f"{where}no price in the order's currency: {shown}. Give unit_price (Chainsight keeps no exchange rates), "
        "or record the product's unit cost in that currency",
        code="unit_price_required",
        details={"unpriced": reasons},
    )
