"""SAP S/4HANA over OData v2 against a fake Gateway on loopback: full, incremental, rerun, failures, push."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from integrations import store
from integrations.connector import ConnectorConfig
from integrations.http import RetryPolicy
from integrations.push import push_purchase_order
from integrations.records import Entity, PurchaseOrderRecord
from integrations.sap import SapConnector
from integrations.schemas import ConnectorUpdate
from integrations.sync import run_sync
from tests.integrations.conftest import (
    SAP_MAPPING,
    completed_run,
    dead_letters,
    draft_order,
    failed_run,
    lapse_push_claim,
    pull_across_token_expiry,
    sap_tenant,
    snapshot,
    sync_after_lost_push,
)


async def test_initial_sync_creates_exactly_the_erp_records(sync_deps, owner_pool, make_tenant, sap):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await completed_run(sync_deps, tenant, connector)
    state = await snapshot(owner_pool, tenant.id)
    assert [s[:3] for s in state["suppliers"]] == [
        ("100000", "Vendor 0", "DE"),
        ("100001", "Vendor 1", "DE"),
        ("100002", "Vendor 2", "DE"),
    ]  # the customer partner is not read
    # The currency its purchasing organisations order in, when they agree (none set where they differ).
    assert [s[5] for s in state["suppliers"]] == ["EUR", None, "USD"]
    assert [p[:3] for p in state["products"]] == [
        ("MAT000002", "Material 2", "kg"),
        ("MAT000003", "Material 3", "each"),
        ("MAT000004", "Material 4", "kg"),
    ]
    # Two storage locations summed per plant.
    assert state["levels"][:2] == [("MAT000002", "WH-0", Decimal("2.0000")), ("MAT000002", "WH-1", Decimal("2.0000"))]
    assert len(state["levels"]) == 6
    assert [(o[0], o[1], o[2], o[4]) for o in state["orders"]] == [
        ("4500000000", "100000", "WH-0", "draft"),
        ("4500000001", "100001", "WH-1", "issued"),
        ("4500000002", "100002", "WH-0", "cancelled"),
    ]
    # Expected when the first live item's schedule line is due (the cancelled order's items are deleted).
    assert [o[5] for o in state["orders"]] == [date(2026, 3, 2), date(2026, 3, 3), None]
    # Net price 25.00 per 10 units -> 2.5 per unit.
    assert '"MAT000002", 3.0000, "kg", 2.5000' in state["orders"][0][6]
    assert {d[0] for d in state["dead_letters"]} == {"products"} and len(state["dead_letters"]) == 2


async def test_rerun_changes_nothing_and_incremental_sync_applies_changes(sync_deps, owner_pool, make_tenant, sap):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    before = await snapshot(owner_pool, tenant.id)
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert all(c["created"] == c["updated"] == 0 for c in rerun["counts"].values()), rerun["counts"]
    assert await snapshot(owner_pool, tenant.id) == before

    sap.put("A_Product", "MAT000003", {"to_Description": [{"Language": "EN", "ProductDescription": "Renamed"}]})
    order = sap.sets["A_PurchaseOrder"]["4500000001"]
    sap.put(
        "A_PurchaseOrder",
        "4500000001",
        {
            "to_PurchaseOrderItem": [
                {**order["to_PurchaseOrderItem"][0], "IsCompletelyDelivered": True},
                order["to_PurchaseOrderItem"][1],
            ]
        },
    )
    sap.requests.clear()
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["products"]["updated"] == 1 and run["counts"]["products"]["created"] == 0
    # The order at the cursor is re-read (the boundary is inclusive) and left alone.
    assert run["counts"]["purchase_orders"] == {"created": 0, "updated": 1, "unchanged": 1, "dead_lettered": 0}
    state = await snapshot(owner_pool, tenant.id)
    assert state["products"][1][:2] == ("MAT000003", "Renamed")
    assert state["orders"][1][4] == "partially_received"


def mark_item_20_of_4500000001(sap, deletion_code: str) -> None:
    """Sets the PurchasingDocumentDeletionCode of order 4500000001's second item ("L": deleted, "": live)."""
    items = sap.sets["A_PurchaseOrder"]["4500000001"]["to_PurchaseOrderItem"]
    marked = {**items[1], "PurchasingDocumentDeletionCode": deletion_code}
    sap.put("A_PurchaseOrder", "4500000001", {"to_PurchaseOrderItem": [items[0], marked]})


async def lines_of_4500000001(owner_pool, tenant) -> list[tuple[Decimal, Decimal]]:
    """Order 4500000001's lines here: (cancelled_base, still to come), by line number."""
    lines = await owner_pool.fetch(
        """SELECT l.cancelled_base, greatest(l.quantity_base - l.received_base - l.cancelled_base, 0) AS to_come
           FROM app.purchase_orders po JOIN app.purchase_order_lines l ON l.purchase_order_id = po.id
           WHERE po.tenant_id = $1 AND po.number = '4500000001' ORDER BY l.line_no""",
        tenant.id,
    )
    return [tuple(r) for r in lines]


async def test_a_deleted_item_of_a_live_order_is_no_longer_expected(sync_deps, owner_pool, make_tenant, sap):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    mark_item_20_of_4500000001(sap, "L")
    await run_sync(sync_deps, tenant.id, connector)
    assert await lines_of_4500000001(owner_pool, tenant) == [(0, 3), (4, 0)]


async def test_a_deleted_item_sap_restores_is_expected_again(sync_deps, owner_pool, make_tenant, sap):
    # Until 2026-12-07 the line stayed cancelled (4 cancelled, 0 to come): a 0 from the ERP kept the stored closure.
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    mark_item_20_of_4500000001(sap, "L")
    await run_sync(sync_deps, tenant.id, connector)
    mark_item_20_of_4500000001(sap, "")
    await run_sync(sync_deps, tenant.id, connector)
    assert await lines_of_4500000001(owner_pool, tenant) == [(0, 3), (0, 4)]


def change_items_of_4500000001(sap, item_10: dict[str, Any], item_20: dict[str, Any]) -> None:
    """Puts order 4500000001 with the fields of its items 10 (3 PC of MAT000003) and 20 (4 kg of MAT000004) changed."""
    items = sap.sets["A_PurchaseOrder"]["4500000001"]["to_PurchaseOrderItem"]
    sap.put(
        "A_PurchaseOrder", "4500000001", {"to_PurchaseOrderItem": [{**items[0], **item_10}, {**items[1], **item_20}]}
    )


async def synced_with_mat000004_kept_at_25_in_wh_1(sync_deps, owner_pool, make_tenant, sap):
    """A synced SAP tenant with a reorder rule keeping MAT000004 at 25 kg at least in WH-1, where it projects 26:
    22 on hand and 4 to come on order 4500000001's item 20."""
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    await owner_pool.execute(
        """INSERT INTO app.reorder_rules (tenant_id, product_id, warehouse_id, supplier_id, min_quantity, max_quantity)
           SELECT $1, p.id, w.id, s.id, 25, 40 FROM app.products p, app.warehouses w, app.suppliers s
           WHERE p.tenant_id = $1 AND p.sku = 'MAT000004' AND w.tenant_id = $1 AND w.code = 'WH-1'
             AND s.tenant_id = $1 AND s.code = '100001'""",
        tenant.id,
    )
    return tenant, connector


async def low_stock_notifications(owner_pool, tenant) -> list[str]:
    """The titles of the tenant's low-stock notifications, oldest first."""
    rows = await owner_pool.fetch(
        "SELECT title FROM app.notifications WHERE tenant_id = $1 AND kind = 'low_stock' ORDER BY created_at, id",
        tenant.id,
    )
    return [r["title"] for r in rows]


async def test_an_order_received_with_its_backorder_closed_in_sap_notifies_the_fall_below_the_minimum_once(
    sync_deps, owner_pool, make_tenant, sap
):
    # Until 2026-12-07 no notification: the order was made received before its lines were written, and the closed
    # item of a received order no longer counted as incoming lost.
    tenant, connector = await synced_with_mat000004_kept_at_25_in_wh_1(sync_deps, owner_pool, make_tenant, sap)
    change_items_of_4500000001(sap, {"IsCompletelyDelivered": True}, {"PurchasingDocumentDeletionCode": "L"})
    await run_sync(sync_deps, tenant.id, connector)
    assert (await snapshot(owner_pool, tenant.id))["orders"][1][4] == "received"
    assert await low_stock_notifications(owner_pool, tenant) == [
        "MAT000004 in WH-1 is below its minimum: projected 22 < 25 (on hand 22, reserved 0, incoming 0)"
    ]


async def test_a_receipt_in_sap_that_hides_consumption_in_the_stock_notifies_the_fall_below_the_minimum(
    sync_deps, owner_pool, make_tenant, sap
):
    # Item 20's 4 kg delivered and 5 kg used: SAP's stock goes from 22 to 21, its adjustment of -1 leaves 25
    # projected (the 4 still to come), then the order's receipt takes the 4 away. Until 2026-12-07 no notification:
    # a receipt was taken for one recorded here, which brings its stock on hand in the same move.
    tenant, connector = await synced_with_mat000004_kept_at_25_in_wh_1(sync_deps, owner_pool, make_tenant, sap)
    change_items_of_4500000001(sap, {}, {"IsCompletelyDelivered": True})
    sap.put("A_MatlStkInAcctMod", "MAT000004/1020/0001", {"MatlWrhsStkQtyInMatlBaseUnit": Decimal(10)})
    await run_sync(sync_deps, tenant.id, connector)
    assert await low_stock_notifications(owner_pool, tenant) == [
        "MAT000004 in WH-1 is below its minimum: projected 21 < 25 (on hand 21, reserved 0, incoming 0)"
    ]


async def test_an_item_moved_to_another_material_in_sap_notifies_the_fall_below_the_minimum_it_leaves(
    sync_deps, owner_pool, make_tenant, sap
):
    # Until 2026-12-07 no notification: the line's lost incoming was weighed only for a lower quantity or a closure.
    tenant, connector = await synced_with_mat000004_kept_at_25_in_wh_1(sync_deps, owner_pool, make_tenant, sap)
    change_items_of_4500000001(sap, {}, {"Material": "MAT000002"})  # kg as MAT000004
    await run_sync(sync_deps, tenant.id, connector)
    assert await low_stock_notifications(owner_pool, tenant) == [
        "MAT000004 in WH-1 is below its minimum: projected 22 < 25 (on hand 22, reserved 0, incoming 0)"
    ]


async def test_items_trading_materials_in_sap_notify_nothing_where_as_much_is_still_to_come(
    sync_deps, owner_pool, make_tenant, sap
):
    # Item 10 now brings MAT000004's 4 kg, item 20 MAT000003's 3 PC: WH-1 still expects 4 kg, 26 projected, already
    # below a minimum of 27. The 4 kg item 20 no longer brings are weighed with the 4 item 10 now brings.
    tenant, connector = await synced_with_mat000004_kept_at_25_in_wh_1(sync_deps, owner_pool, make_tenant, sap)
    await owner_pool.execute("UPDATE app.reorder_rules SET min_quantity = 27 WHERE tenant_id = $1", tenant.id)
    change_items_of_4500000001(
        sap,
        {"Material": "MAT000004", "PurchaseOrderQuantityUnit": "KGM", "OrderQuantity": Decimal(4)},
        {"Material": "MAT000003", "PurchaseOrderQuantityUnit": "PC", "OrderQuantity": Decimal(3)},
    )
    await run_sync(sync_deps, tenant.id, connector)
    assert await lines_of_4500000001(owner_pool, tenant) == [(0, 4), (0, 3)]
    assert await low_stock_notifications(owner_pool, tenant) == []


async def test_an_order_whose_price_per_unit_four_decimals_cannot_keep_is_rejected_and_the_others_synced(
    sync_deps, owner_pool, make_tenant, sap
):
    # Until 2026-12-07 PostgreSQL rounded it silently: 50,000 PC at 0.85 per 1000 was kept at 0.0009 each, the line
    # 45.00 instead of 42.50.
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    items = sap.sets["A_PurchaseOrder"]["4500000000"]["to_PurchaseOrderItem"]
    per_thousand = {
        "OrderQuantity": Decimal(50000),
        "NetPriceAmount": Decimal("0.85"),
        "NetPriceQuantity": Decimal(1000),
    }
    sap.put("A_PurchaseOrder", "4500000000", {"to_PurchaseOrderItem": [items[0], {**items[1], **per_thousand}]})
    run = await run_sync(sync_deps, tenant.id, connector)
    assert await dead_letters(owner_pool, tenant.id, "purchase_orders") == [
        (
            "4500000000",
            "line 2 (MAT000003): its price per PC, 0.00085, is finer than the four decimals a unit price keeps (more "
            "than 0.1% of it would be lost): order it in a larger unit in the ERP",
        )
    ]
    assert run["counts"]["purchase_orders"] == {"created": 2, "updated": 0, "unchanged": 0, "dead_lettered": 1}
    assert [o[0] for o in (await snapshot(owner_pool, tenant.id))["orders"]] == ["4500000001", "4500000002"]


async def map_plants(sync_deps, tenant, connector, warehouses: dict[str, str]) -> None:
    """Changes the connector's plant mapping as its admin (PATCH), the rest of SAP_MAPPING kept."""
    mapping = ConnectorUpdate.model_validate({"mapping": {**SAP_MAPPING, "warehouses": warehouses}})
    await sync_deps.database.run(
        tenant.claims(tenant.admin), None, lambda tx: store.update_connector(tx, connector, mapping, sync_deps.cipher)
    )


async def test_a_plant_gone_from_the_stock_does_not_zero_a_warehouse_another_plant_still_fills(
    sync_deps, owner_pool, make_tenant, sap
):
    # Plants 1010 and 1020 both map to WH-0; 1020's stock goes. WH-0 keeps 1010's figure, not 0.
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    await map_plants(sync_deps, tenant, connector, {"1010": "WH-0", "1020": "WH-0"})
    await run_sync(sync_deps, tenant.id, connector)
    with sap.lock:
        for key in [k for k, row in sap.sets["A_MatlStkInAcctMod"].items() if row["Plant"] == "1020"]:
            del sap.sets["A_MatlStkInAcctMod"][key]
    await run_sync(sync_deps, tenant.id, connector)
    levels = (await snapshot(owner_pool, tenant.id))["levels"]
    assert ("MAT000002", "WH-0", Decimal("2.0000")) in levels  # two storage locations of 1 at plant 1010


async def test_two_plants_mapped_onto_one_warehouse_hold_their_sum_there(sync_deps, owner_pool, make_tenant, sap):
    # Until 2026-12-07 each plant's record set the level to its own figure: the last one read won (20, not 22), and
    # every rerun posted -18 and +18 again.
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await map_plants(sync_deps, tenant, connector, {"1010": "WH-0", "1020": "WH-0"})
    with sap.lock:  # MAT000002: 1 + 1 in plant 1010's two storage locations, 10 + 10 in 1020's
        for row in sap.sets["A_MatlStkInAcctMod"].values():
            if row["Material"] == "MAT000002" and row["Plant"] == "1020":
                row["MatlWrhsStkQtyInMatlBaseUnit"] = Decimal(10)
    await run_sync(sync_deps, tenant.id, connector)
    before = await snapshot(owner_pool, tenant.id)
    assert ("MAT000002", "WH-0", Decimal("22.0000")) in before["levels"]
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert rerun["counts"]["stock"]["updated"] == 0
    assert (await snapshot(owner_pool, tenant.id))["ledger"] == before["ledger"]


def set_plant_stock(sap, material: str, plant: str, quantity: int) -> None:
    """Puts ``quantity`` in each of the plant's storage locations of ``material`` (two in the sample plants)."""
    with sap.lock:
        for row in sap.sets["A_MatlStkInAcctMod"].values():
            if row["Material"] == material and row["Plant"] == plant:
                row["MatlWrhsStkQtyInMatlBaseUnit"] = Decimal(quantity)


async def mat000002_in_wh_0_from_plants_1010_and_1020(sync_deps, owner_pool, make_tenant, sap):
    """A SAP tenant with plants 1010 and 1020 both mapped to WH-0, synced with MAT000002 at 20 (1010) + 2 (1020),
    22 in WH-0; then 18 move from 1010 to 1020 in SAP (2 + 20, still 22)."""
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await map_plants(sync_deps, tenant, connector, {"1010": "WH-0", "1020": "WH-0"})
    set_plant_stock(sap, "MAT000002", "1010", 10)
    set_plant_stock(sap, "MAT000002", "1020", 1)
    await run_sync(sync_deps, tenant.id, connector)
    assert ("MAT000002", "WH-0", Decimal("22.0000")) in (await snapshot(owner_pool, tenant.id))["levels"]
    set_plant_stock(sap, "MAT000002", "1010", 1)
    set_plant_stock(sap, "MAT000002", "1020", 10)
    return tenant, connector


async def test_a_transfer_between_two_plants_on_one_warehouse_holding_reservations_keeps_its_level(
    sync_deps, owner_pool, make_tenant, sap
):
    # Until 2026-12-07 1010's record set the level to 2 + 2 first: refused below the 15 reserved, it was
    # dead-lettered and kept its old 20, and 1020's record then set 20 + 20, 40 on hand.
    tenant, connector = await mat000002_in_wh_0_from_plants_1010_and_1020(sync_deps, owner_pool, make_tenant, sap)
    await owner_pool.execute(
        """UPDATE app.stock_levels l SET reserved = 15 FROM app.products p, app.warehouses w
           WHERE l.tenant_id = $1 AND p.id = l.product_id AND p.sku = 'MAT000002'
             AND w.id = l.warehouse_id AND w.code = 'WH-0'""",
        tenant.id,
    )
    before = await snapshot(owner_pool, tenant.id)
    await run_sync(sync_deps, tenant.id, connector)
    after = await snapshot(owner_pool, tenant.id)
    assert ("MAT000002", "WH-0", Decimal("22.0000")) in after["levels"] and after["ledger"] == before["ledger"]
    assert await dead_letters(owner_pool, tenant.id, "stock") == []


async def test_a_shared_level_whose_sum_passes_the_largest_quantity_is_dead_lettered_and_the_run_goes_on(
    sync_deps, owner_pool, make_tenant, sap
):
    # Before, the overflow escaped the snapshot's close: every run failed and no other level settled.
    tenant, connector = await mat000002_in_wh_0_from_plants_1010_and_1020(sync_deps, owner_pool, make_tenant, sap)
    set_plant_stock(sap, "MAT000002", "1010", 30_000_000_000_000)  # 6e13 a plant: 1.2e14 on one level
    set_plant_stock(sap, "MAT000002", "1020", 30_000_000_000_000)
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "completed_with_errors"
    ((key, error),) = await dead_letters(owner_pool, tenant.id, "stock")
    assert "+" in key and "its records' sum) is refused:" in error
    assert ("MAT000002", "WH-0", Decimal("22.0000")) in (await snapshot(owner_pool, tenant.id))["levels"]


async def test_a_transfer_between_two_plants_on_one_warehouse_notifies_no_fall_below_the_minimum(
    sync_deps, owner_pool, make_tenant, sap
):
    # Until 2026-12-07 the transfer posted -18 then +18, and the first step notified a fall below the minimum of 10
    # for a level that stayed 22.
    tenant, connector = await mat000002_in_wh_0_from_plants_1010_and_1020(sync_deps, owner_pool, make_tenant, sap)
    await owner_pool.execute(
        """INSERT INTO app.reorder_rules (tenant_id, product_id, warehouse_id, supplier_id, min_quantity, max_quantity)
           SELECT $1, p.id, w.id, s.id, 10, 40 FROM app.products p, app.warehouses w, app.suppliers s
           WHERE p.tenant_id = $1 AND p.sku = 'MAT000002' AND w.tenant_id = $1 AND w.code = 'WH-0'
             AND s.tenant_id = $1 AND s.code = '100001'""",
        tenant.id,
    )
    await run_sync(sync_deps, tenant.id, connector)
    assert ("MAT000002", "WH-0", Decimal("22.0000")) in (await snapshot(owner_pool, tenant.id))["levels"]
    assert await low_stock_notifications(owner_pool, tenant) == []


async def test_a_level_two_plants_fill_held_up_by_reservations_is_dead_lettered_once_until_it_can_go_down(
    sync_deps, owner_pool, make_tenant, sap
):
    # Until 2026-12-07 each record was refused (or not) on its own, against a sum holding the other's stale figure.
    tenant, connector = await mat000002_in_wh_0_from_plants_1010_and_1020(sync_deps, owner_pool, make_tenant, sap)
    set_plant_stock(sap, "MAT000002", "1020", 1)  # 2 + 2 in SAP: 18 used
    reserve = """UPDATE app.stock_levels l SET reserved = $2 FROM app.products p, app.warehouses w
                 WHERE l.tenant_id = $1 AND p.id = l.product_id AND p.sku = 'MAT000002'
                   AND w.id = l.warehouse_id AND w.code = 'WH-0'"""
    await owner_pool.execute(reserve, tenant.id, 15)
    await run_sync(sync_deps, tenant.id, connector)
    [(external_id, error)] = await dead_letters(owner_pool, tenant.id, "stock")
    assert external_id == "MAT000002@1010+MAT000002@1020" and "(4.0000, its records' sum)" in error
    assert ("MAT000002", "WH-0", Decimal("22.0000")) in (await snapshot(owner_pool, tenant.id))["levels"]
    await owner_pool.execute(reserve, tenant.id, 0)
    await run_sync(sync_deps, tenant.id, connector)
    assert ("MAT000002", "WH-0", Decimal("4.0000")) in (await snapshot(owner_pool, tenant.id))["levels"]
    open_letters = "SELECT count(*) FROM app.integration_dead_letters WHERE tenant_id = $1 AND entity = 'stock'"
    open_letters += " AND resolved_at IS NULL"
    assert await owner_pool.fetchval(open_letters, tenant.id) == 0


async def synced_then_plant_1020_mapped_to_a_new_wh_2(sync_deps, owner_pool, make_tenant, sap):
    """A synced SAP tenant whose plant 1020 (WH-1 until now) is then mapped to its new warehouse WH-2."""
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    await owner_pool.execute(
        "INSERT INTO app.warehouses (tenant_id, code, name) VALUES ($1, 'WH-2', 'Warehouse 2')", tenant.id
    )
    await map_plants(sync_deps, tenant, connector, {"1010": "WH-0", "1020": "WH-2"})
    return tenant, connector


async def test_a_plant_mapped_to_another_warehouse_takes_its_stock_from_the_one_it_left(
    sync_deps, owner_pool, make_tenant, sap
):
    # Until 2026-12-07 WH-1 kept plant 1020's stock for good: MAT000002 2 in WH-0, WH-1 and WH-2.
    tenant, connector = await synced_then_plant_1020_mapped_to_a_new_wh_2(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    levels = [level for level in (await snapshot(owner_pool, tenant.id))["levels"] if level[0] == "MAT000002"]
    assert levels == [
        ("MAT000002", "WH-0", Decimal("2.0000")),
        ("MAT000002", "WH-1", Decimal("0.0000")),
        ("MAT000002", "WH-2", Decimal("2.0000")),
    ]
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert rerun["counts"]["stock"]["created"] == rerun["counts"]["stock"]["updated"] == 0


async def test_a_plant_mapped_away_from_a_warehouse_holding_a_reservation_is_dead_lettered_and_kept(
    sync_deps, owner_pool, make_tenant, sap
):
    tenant, connector = await synced_then_plant_1020_mapped_to_a_new_wh_2(sync_deps, owner_pool, make_tenant, sap)
    await owner_pool.execute(  # a hold of 1 (what creating a reservation does to the level)
        """UPDATE app.stock_levels l SET reserved = 1 FROM app.products p, app.warehouses w
           WHERE l.tenant_id = $1 AND p.id = l.product_id AND p.sku = 'MAT000002'
             AND w.id = l.warehouse_id AND w.code = 'WH-1'""",
        tenant.id,
    )
    await run_sync(sync_deps, tenant.id, connector)
    [(external_id, error)] = await dead_letters(owner_pool, tenant.id, "stock")
    assert external_id == "MAT000002@1020" and "reserved" in error
    levels = [level for level in (await snapshot(owner_pool, tenant.id))["levels"] if level[0] == "MAT000002"]
    assert ("MAT000002", "WH-1", Decimal("2.0000")) in levels and all(level[1] != "WH-2" for level in levels)


async def test_connection_drop_half_way_then_rerun_equals_an_uninterrupted_sync(
    sync_deps, owner_pool, make_tenant, sap
):
    clean, clean_connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, clean.id, clean_connector)
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    sap.drop_after(2)  # suppliers, then the first page of products
    assert "connection lost" in await failed_run(sync_deps, tenant, connector)
    sap.heal()
    await run_sync(sync_deps, tenant.id, connector)
    assert await snapshot(owner_pool, tenant.id) == await snapshot(owner_pool, clean.id)


async def test_wrong_password_fails_the_run_with_a_clear_error(sync_deps, owner_pool, make_tenant, sap):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap, password="nope")
    assert "HTTP 401" in await failed_run(sync_deps, tenant, connector)


OAUTH = {"client_id": "sap-client", "client_secret": "sap-client-secret"}


async def test_oauth_client_credentials_sync_the_same_records_as_basic_authentication(
    sync_deps, owner_pool, make_tenant, sap
):
    basic, basic_connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, basic.id, basic_connector)
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap, credentials=OAUTH)
    sap.requests.clear()
    await completed_run(sync_deps, tenant, connector)
    assert sap.count("POST", "/sap/bc/sec/oauth2/token") == 1  # one token for the whole run
    assert await snapshot(owner_pool, tenant.id) == await snapshot(owner_pool, basic.id)


async def test_an_expired_oauth_token_is_renewed_once_on_401(sap):
    retry = RetryPolicy(max_attempts=2, backoff_s=0.01, timeout_s=5.0)
    connector = SapConnector(ConnectorConfig(sap.url, OAUTH, page_size=4, retry=retry))
    await pull_across_token_expiry(sap, connector, Entity.SUPPLIERS, Entity.PRODUCTS)
    assert sap.count("POST", "/sap/bc/sec/oauth2/token") == 2


async def test_a_wrong_oauth_client_secret_fails_the_run_with_invalid_client(sync_deps, owner_pool, make_tenant, sap):
    credentials = {**OAUTH, "client_secret": "nope"}
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap, credentials=credentials)
    assert "refused the client credentials (HTTP 401): invalid_client" in await failed_run(sync_deps, tenant, connector)


async def test_pushed_purchase_order_appears_in_sap_with_its_items_after_a_csrf_refetch(
    sync_deps, owner_pool, make_tenant, sap
):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)

    order = await draft_order(sync_deps, tenant, "100001", "WH-1", [("MAT000003", 2, "dozen", "6")])
    sap.session_timeout_on_next_post = True
    sap.requests.clear()
    first = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    created = sap.sets["A_PurchaseOrder"][first["external_id"]]
    assert created["Supplier"] == "100001" and created["DocumentCurrency"] == "EUR"
    assert [
        (
            i["PurchaseOrderItem"],
            i["Material"],
            i["Plant"],
            i["OrderQuantity"],
            i["PurchaseOrderQuantityUnit"],
            i["NetPriceAmount"],
        )
        for i in created["to_PurchaseOrderItem"]
    ] == [("10", "MAT000003", "1020", "24.0000", "PC", "0.5000")]
    fetches = [r for r in sap.requests if r == ("GET", "/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/")]
    assert len(fetches) == 2  # the first token was refused with 403 + x-csrf-token: Required, then refetched
    with pytest.raises(Exception, match="already in erp"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])


async def test_a_push_whose_answer_was_lost_is_pushed_again_without_a_second_order(
    sync_deps, owner_pool, make_tenant, sap
):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    order = await draft_order(sync_deps, tenant, "100001", "WH-1", [("MAT000003", 2, None, "6")])
    sap.lose_answer_to(lambda request: request.method == "POST")  # SAP creates it; the answer never comes
    with pytest.raises(Exception, match="connection"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    await lapse_push_claim(owner_pool, order)  # the push kept it: the ERP may have made the order
    pushed = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    mine = [o for o in sap.sets["A_PurchaseOrder"].values() if o.get("CorrespncInternalReference") == order["number"]]
    assert [o["PurchaseOrder"] for o in mine] == [pushed["external_id"]]


async def test_a_sync_before_the_retry_of_a_lost_push_links_the_order_instead_of_importing_a_copy(
    sync_deps, owner_pool, make_tenant, sap
):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    order = await draft_order(sync_deps, tenant, "100001", "WH-1", [("MAT000003", 2, None, "6")])
    sap.lose_answer_to(lambda request: request.method == "POST")
    run, linked = await sync_after_lost_push(sync_deps, owner_pool, tenant, connector, order)
    (made,) = [
        o for o in sap.sets["A_PurchaseOrder"].values() if o.get("CorrespncInternalReference") == order["number"]
    ]
    assert (run["counts"]["purchase_orders"]["created"], linked) == (0, made["PurchaseOrder"])


async def test_a_pushed_orders_expected_date_is_its_schedule_line_and_survives_the_next_sync(
    sync_deps, owner_pool, make_tenant, sap
):
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await run_sync(sync_deps, tenant.id, connector)
    lines = [("MAT000003", 2, None, "6")]
    order = await draft_order(sync_deps, tenant, "100001", "WH-1", lines, expected_date="2026-03-20")
    pushed = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    (item,) = sap.sets["A_PurchaseOrder"][pushed["external_id"]]["to_PurchaseOrderItem"]
    assert [s["ScheduleLineDeliveryDate"] for s in item["to_ScheduleLine"]] == ["/Date(1773964800000+0000)/"]
    await run_sync(sync_deps, tenant.id, connector)
    expected = await owner_pool.fetchval("SELECT expected_date FROM app.purchase_orders WHERE id = $1", order["id"])
    assert expected == date(2026, 3, 20)


async def test_a_sync_keeps_the_unit_cost_sap_does_not_report(sync_deps, owner_pool, make_tenant, sap):
    # Before, every synced product's unit cost was set to NULL: the SAP connector reads none.
    tenant, connector = await sap_tenant(sync_deps, owner_pool, make_tenant, sap)
    await owner_pool.execute(
        "INSERT INTO app.products (tenant_id, sku, name, unit_of_measure, unit_cost, unit_cost_currency) "
        "VALUES ($1, 'MAT000002', 'Costed here', 'each', 7.5, 'EUR')",
        tenant.id,
    )
    await run_sync(sync_deps, tenant.id, connector)
    cost = await owner_pool.fetchrow(
        "SELECT unit_cost, unit_cost_currency FROM app.products WHERE tenant_id = $1 AND sku = 'MAT000002'", tenant.id
    )
    assert tuple(cost) == (Decimal("7.5"), "EUR")


NUMBERINGS = [(["10", "20"], [1, 2]), (["1", "2", "3"], [1, 2, 3]), (["10", "15"], [1, 2])]


@pytest.mark.parametrize(("items", "lines"), NUMBERINGS)
def test_an_orders_items_become_distinct_lines_whatever_their_numbering(items, lines):
    # Before, item // 10: items 1, 2, 3 (an order type numbering in ones) were line 0 and the order was dead-lettered;
    # 10 and 15 were both line 1.
    connector = SapConnector(ConnectorConfig("http://sap", OAUTH, page_size=4, retry=RetryPolicy()))
    item = {"Material": "MAT000002", "OrderQuantity": "1", "PurchaseOrderQuantityUnit": "PC", "NetPriceAmount": "1",
            "NetPriceQuantity": "1", "Plant": "1010"}  # fmt: skip
    order = {"PurchaseOrder": "4500000099", "Supplier": "100001", "DocumentCurrency": "EUR",
             "PurchasingProcessingStatus": "05",
             "to_PurchaseOrderItem": {"results": [{**item, "PurchaseOrderItem": n} for n in items]}}  # fmt: skip
    source = connector._order(order)
    record = PurchaseOrderRecord.model_validate({**source.fields, "external_id": source.external_id})
    assert [line.line_no for line in record.lines] == lines
