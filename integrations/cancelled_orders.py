"""An ERP order still open for a purchase order cancelled in Chainsight.

A push whose process died during the ERP call leaves the ERP's order unlinked; once its claim lapses the order may
be cancelled here, and the next sync meets the ERP's order by the Chainsight number it carries
(``integrations.apply_orders``). The ERP's order is linked to the cancelled one all the same (``integrations.apply``),
so it is never imported as another order and a retried push answers ``already_pushed``; the cancelled order is not
reopened, and the ERP's record is dead-lettered (announced to the tenant) until it is cancelled there too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from integrations.errors import RecordRejected
from integrations.records import PurchaseOrderRecord
from inventory.purchasing_schemas import PurchaseOrderStatus


class OpenForCancelled(RecordRejected):
    """The ERP holds open an order cancelled here: dead-lettered, and linked to ``local_id`` all the same."""

    def __init__(self, message: str, local_id: UUID | None = None) -> None:
        super().__init__(message)
        self.local_id = local_id


async def refuse_open_for_cancelled(
    conn: asyncpg.Connection, order: Mapping[str, Any] | asyncpg.Record, model: PurchaseOrderRecord
) -> None:
    """Raise ``OpenForCancelled`` where ``order`` (``id``, ``number``, ``status``), the Chainsight order the ERP's
    record is, or was pushed from, was made here and is cancelled while the ERP's is not. An order the ERP made
    and then reopened goes on to the life cycle's refusal ("is cancelled and cannot become issued")."""
    if order["status"] != PurchaseOrderStatus.CANCELLED.value or model.status is PurchaseOrderStatus.CANCELLED:
        return
    origin = await conn.fetchval("SELECT origin FROM app.purchase_orders WHERE id = $1", order["id"])
    if origin is not None and origin.startswith("erp:"):
        return
    raise OpenForCancelled(
        f"ERP order {model.number} is open for purchase order {order['number']}, which is cancelled in "
        "Chainsight: cancel it in the ERP (a cancelled order is not reopened here)",
        order["id"],
    )
