"""NetSuite over SuiteTalk REST (SuiteQL + record API) with OAuth 2.0 M2M, against a fake account on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from common.errors import ConflictError, InvalidInputError
from integrations import store
from integrations.connector import ConnectorConfig
from integrations.errors import ConnectorAuthError, ConnectorProtocolError
from integrations.http import RetryPolicy
from integrations.netsuite import NetSuiteConnector
from integrations.push import push_purchase_order
from integrations.records import Entity
from integrations.schemas import ConnectorCreate, ConnectorUpdate
from integrations.sync import queue_run, run_sync
from tests.integrations.conftest import (
    bare_tenant,
    completed_run,
    configure,
    draft_order,
    failed_run,
    lapse_push_claim,
    order_numbers,
    pull_across_token_expiry,
    snapshot,
    sync_after_lost_push,
)
from tests.integrations.connector_checks import (
    failed_past_the_retry_budget,
    pushed_in_dozens_and_grams,
    retried_after_the_retry_after_delay,
)
from tests.support.fakes.netsuite import TOKEN_PATH, FakeNetSuite, populate, rsa_key, signing_key_pem

MAPPING = {"units": {"Each": "each", "Kilogram": "kg"}}
Q = Decimal("0.0001")


@pytest.fixture(scope="module")
def key() -> Any:
    return rsa_key()


@pytest.fixture
def ns(key: Any) -> Iterator[FakeNetSuite]:
    with FakeNetSuite(public_key=key.public_key()) as fake:
        populate(fake)
        yield fake


def credentials(key: Any) -> dict[str, str]:
    return {"client_id": "ns-client", "certificate_id": "cert-1", "private_key": signing_key_pem(key)}


async def ns_tenant(sync_deps, owner_pool, make_tenant, fake: FakeNetSuite, key: Any, **extra: Any):
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await configure(
        sync_deps,
        tenant,
        kind="netsuite",
        base_url=extra.pop("base_url", fake.url),
        credentials=credentials(key),
        mapping=MAPPING,
        **extra,
    )
    return tenant, connector


def connector_for(fake: FakeNetSuite, key: Any) -> NetSuiteConnector:
    retry = RetryPolicy(max_attempts=3, backoff_s=0.01, max_delay_s=2.0, timeout_s=5.0)
    return NetSuiteConnector(ConnectorConfig(fake.url, credentials(key), page_size=4, retry=retry))


async def test_a_new_location_takes_its_countrys_zone_and_an_adopted_warehouse_keeps_its_own(
    sync_deps, owner_pool, make_tenant, ns, key
):
    ns.add("locationmainaddress", {"nkey": 503, "country": "DE", "city": "Hamburg"})
    hamburg = ns.put("location", {"name": "HAM", "fullname": "Hamburg DC", "isinactive": False, "mainaddress": 503})
    ns.add("locationmainaddress", {"nkey": 504, "country": "JP", "city": "Osaka"})
    ns.put("location", {"name": "OSA", "fullname": "Osaka DC", "isinactive": False, "mainaddress": 504})
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await owner_pool.execute(
        "INSERT INTO app.warehouses (tenant_id, code, name, timezone) VALUES ($1, 'OSA', 'Osaka', 'Asia/Seoul')",
        tenant.id,
    )
    zones_sql = "SELECT code, timezone FROM app.warehouses WHERE tenant_id = $1 ORDER BY code"
    await completed_run(sync_deps, tenant, connector)
    # Germany keeps one time: the new warehouse takes its zone; the United States does not (none until given one);
    # a warehouse adopted by its code keeps the zone it had.
    assert [tuple(z) for z in await owner_pool.fetch(zones_sql, tenant.id)] == [
        ("AUS", None), ("HAM", "Europe/Berlin"), ("OSA", "Asia/Seoul"), ("RNO", None)
    ]  # fmt: skip
    await owner_pool.execute(
        "UPDATE app.warehouses SET timezone = 'Europe/Paris' WHERE tenant_id = $1 AND code = 'HAM'", tenant.id
    )
    ns.put("location", {**hamburg, "fullname": "Hamburg Hub"}, hamburg["id"])
    await completed_run(sync_deps, tenant, connector)
    # A zone set here later is the buyer's: the next sync (renaming the location) leaves it.
    assert await owner_pool.fetchrow(
        "SELECT name, timezone FROM app.warehouses WHERE tenant_id = $1 AND code = 'HAM'", tenant.id
    ) == ("Hamburg Hub", "Europe/Paris")


async def test_initial_sync_creates_exactly_the_erp_records(sync_deps, owner_pool, make_tenant, ns, key):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    run = await completed_run(sync_deps, tenant, connector)
    assert run["counts"]["products"] == {"created": 4, "updated": 0, "unchanged": 0, "dead_lettered": 2}
    state = await snapshot(owner_pool, tenant.id)
    assert state["warehouses"] == [("AUS", "Austin DC"), ("RNO", "Reno DC")]
    # Each vendor's primary currency.
    assert state["suppliers"] == [
        (f"VEND-{i}", f"Vendor {i}", None, f"v{i}@example.com", True, "EUR" if i == 2 else "USD") for i in range(3)
    ]
    # The mapping names no default_currency, so the costs' currency is unknown and they price no order.
    assert state["products"] == [
        ("ITEM-002", "Item 2", "each", Decimal("4.5000"), None, True),
        ("ITEM-003", "Item 3", "kg", Decimal("5.5000"), None, True),
        ("ITEM-004", "Item 4", "each", Decimal("6.5000"), None, True),
        ("ITEM-005", "Item 5", "kg", Decimal("7.5000"), None, True),
    ]
    # Two bins per location, summed per item and location; one ledger adjustment per level.
    assert state["levels"] == [
        (f"ITEM-00{i}", code, Decimal(qty).quantize(Q)) for i in range(2, 6) for code, qty in (("AUS", 10), ("RNO", 20))
    ]
    assert state["ledger"] == 8
    assert [(o[0], o[1], o[2], o[3], o[4], o[5]) for o in state["orders"]] == [
        ("PO900", "VEND-0", "AUS", "USD", "draft", date(2026, 2, 10)),
        ("PO901", "VEND-1", "RNO", "USD", "issued", date(2026, 2, 11)),
        ("PO902", "VEND-2", "AUS", "USD", "cancelled", date(2026, 2, 12)),
    ]
    assert '[1, "ITEM-002", 4.0000, "each", 3.2500' in state["orders"][0][6]  # the tax line is not an item line
    assert state["orders"][0][6].count("ITEM-") == 2
    blank, crate = (str(i["id"]) for i in ns.made["items"][:2])
    locations = [str(location["id"]) for location in ns.made["locations"]]
    assert state["dead_letters"] == [
        ("products", blank),
        ("products", crate),
        *sorted(("stock", f"{item}@{loc}") for item in (blank, crate) for loc in locations),
    ]
    async with owner_pool.acquire() as conn:
        errors = await conn.fetch(
            """SELECT error FROM app.integration_dead_letters WHERE tenant_id = $1 AND entity = 'products'
               ORDER BY external_id""",
            tenant.id,
        )
    assert "sku" in errors[0]["error"] and "'Crate' has no Chainsight equivalent" in errors[1]["error"]
    # Reads were SuiteQL pages of 4 following the keyset, not offsets: the items shared one lastmodifieddate.
    items = [q for q in ns.queries if "FROM item i" in q]
    assert len(items) == 2 and "i.lastmodifieddate = TO_TIMESTAMP('2026-01-05 08:00:06'" in items[1]


async def test_rerun_changes_nothing(sync_deps, owner_pool, make_tenant, ns, key):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await run_sync(sync_deps, tenant.id, connector)
    before = await snapshot(owner_pool, tenant.id)
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert all(c["created"] == c["updated"] == 0 for c in rerun["counts"].values()), rerun["counts"]
    assert await snapshot(owner_pool, tenant.id) == before


async def test_incremental_sync_reads_from_the_cursor_and_applies_only_changes(
    sync_deps, owner_pool, make_tenant, ns, key
):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await run_sync(sync_deps, tenant.id, connector)
    blank, _crate, item2, *_ = ns.made["items"]
    ns.put("item", {"displayname": "Item 2 (new label)"}, item2["id"])
    ns.put("item", {"itemid": "ITEM-000"}, blank["id"])  # fixes the malformed one
    ns.put("transaction", {"status": "B"}, ns.order("PO900")["id"])  # approved: pending receipt
    ns.queries.clear()
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["products"] == {"created": 1, "updated": 1, "unchanged": 0, "dead_lettered": 0}
    assert run["counts"]["purchase_orders"] == {"created": 0, "updated": 1, "unchanged": 0, "dead_lettered": 0}
    assert (
        run["counts"]["suppliers"]
        == run["counts"]["warehouses"]
        == {
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "dead_lettered": 0,
        }
    )
    state = await snapshot(owner_pool, tenant.id)
    assert ("ITEM-002", "Item 2 (new label)", "each", Decimal("4.5000"), None, True) in state["products"]
    assert ("ITEM-000", "Item 0", "each", Decimal("2.5000"), None, True) in state["products"]
    assert state["orders"][0][4] == "issued"
    # The fixed item's stock now applies too; only the crate item is still dead-lettered.
    assert {d[1].split("@")[0] for d in state["dead_letters"]} == {str(_crate["id"])}
    assert all("TO_TIMESTAMP" in q for q in ns.queries if "FROM item i" in q)


async def test_an_item_receipt_updates_its_order_even_when_the_order_record_is_unchanged(
    sync_deps, owner_pool, make_tenant, ns, key
):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await run_sync(sync_deps, tenant.id, connector)
    order = ns.order("PO901")
    ns.receive(order["id"], {1: Decimal(4)})
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["purchase_orders"]["updated"] == 1, run["counts"]
    assert (await snapshot(owner_pool, tenant.id))["orders"][1][4] == "partially_received"
    ns.receive(order["id"], {2: Decimal(5)})
    await run_sync(sync_deps, tenant.id, connector)
    received = (await snapshot(owner_pool, tenant.id))["orders"][1]
    assert received[4] == "received" and '"kg", 3.2500, 4.0000]' in received[6]
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert rerun["counts"]["purchase_orders"]["updated"] == 0


async def test_an_order_closed_after_a_partial_receipt_brings_nothing_more(sync_deps, owner_pool, make_tenant, ns, key):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await run_sync(sync_deps, tenant.id, connector)
    order = ns.order("PO901")
    ns.receive(order["id"], {1: Decimal(2)})
    with ns.lock:
        for line in ns.lines(order["id"]):
            line["isclosed"] = True
    ns.put("transaction", {"status": "H"}, order["id"])  # Closed
    await run_sync(sync_deps, tenant.id, connector)
    closed = await owner_pool.fetchrow(
        """SELECT po.status, array_agg(l.cancelled_base ORDER BY l.line_no) AS cancelled,
                  sum(greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)) AS still_to_come
           FROM app.purchase_orders po JOIN app.purchase_order_lines l ON l.purchase_order_id = po.id
           WHERE po.tenant_id = $1 AND po.number = 'PO901' GROUP BY po.status""",
        tenant.id,
    )
    assert (closed["status"], closed["cancelled"], closed["still_to_come"]) == ("received", [2, 5], 0)


async def test_a_line_removed_between_two_pages_of_lines_takes_no_other_orders_line(
    sync_deps, owner_pool, make_tenant, ns, key
):
    # Pages of 4 lines: PO900's 1-3 and PO901's 1, then the rest. Until 2026-12-07 they were read by offset, so
    # once PO900's line 2 went, the second page started at PO902 and PO901 was written without its line 2.
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    po900 = ns.order("PO900")

    def remove_po900_line_2() -> None:
        with ns.lock:
            ns.tables["transactionline"].remove(next(x for x in ns.lines(po900["id"]) if x["linesequencenumber"] == 2))
        ns.put("transaction", {}, po900["id"])

    ns.after_query(lambda q: "FROM transactionline" in q and "tl.rate" in q, remove_po900_line_2)
    await run_sync(sync_deps, tenant.id, connector)
    orders = {o[0]: o[6] for o in (await snapshot(owner_pool, tenant.id))["orders"]}
    assert orders["PO901"].count("ITEM-") == 2 and orders["PO902"].count("ITEM-") == 2


async def test_a_balance_gone_between_two_pages_of_the_stock_snapshot_zeroes_no_other_level(
    sync_deps, owner_pool, make_tenant, ns, key
):
    # Pages of 4 (item, location) balances: the blank and crate items' first. Until 2026-12-07 they were read by
    # offset, so once the blank item's AUS balance went, the second page skipped ITEM-002's AUS balance and the
    # closing step zeroed it.
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await run_sync(sync_deps, tenant.id, connector)
    before = (await snapshot(owner_pool, tenant.id))["levels"]
    blank, aus = ns.made["items"][0]["id"], ns.made["locations"][0]["id"]

    def empty_blank_at_aus() -> None:
        with ns.lock:
            ns.tables["inventorybalance"] = [
                b for b in ns.tables["inventorybalance"] if (b["item"], b["location"]) != (blank, aus)
            ]

    ns.after_query(lambda q: "FROM InventoryBalance" in q, empty_blank_at_aus)
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["stock"]["updated"] == 0
    assert (await snapshot(owner_pool, tenant.id))["levels"] == before


async def test_a_record_dead_lettered_for_its_unit_syncs_once_the_mapping_names_the_unit(
    sync_deps, owner_pool, make_tenant, ns, key
):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await run_sync(sync_deps, tenant.id, connector)
    mapping = ConnectorUpdate.model_validate({"mapping": {"units": {**MAPPING["units"], "Crate": "each"}}})
    await sync_deps.database.run(
        tenant.claims(tenant.admin), None, lambda tx: store.update_connector(tx, connector, mapping, sync_deps.cipher)
    )
    await run_sync(sync_deps, tenant.id, connector)
    crate = str(ns.made["items"][1]["id"])
    state = await snapshot(owner_pool, tenant.id)
    assert ("products", crate) not in state["dead_letters"]
    assert len(state["products"]) == 5


async def test_a_mapping_change_waits_for_the_sync_under_way(sync_deps, owner_pool, make_tenant, ns, key):
    # Before, it was accepted and the run then wrote its cursors over the cleared ones: the records it had read
    # under the old mapping (its dead letters among them) were never read again.
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await sync_deps.database.run(tenant.claims(), None, lambda tx: queue_run(tx, connector, "api"))
    mapping = ConnectorUpdate.model_validate({"mapping": {"units": {**MAPPING["units"], "Crate": "each"}}})
    with pytest.raises(ConflictError, match="under way"):
        await sync_deps.database.run(
            tenant.claims(tenant.admin),
            None,
            lambda tx: store.update_connector(tx, connector, mapping, sync_deps.cipher),
        )


async def test_connection_drop_half_way_then_rerun_equals_an_uninterrupted_sync(
    sync_deps, owner_pool, make_tenant, ns, key
):
    clean, clean_connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await run_sync(sync_deps, clean.id, clean_connector)
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    ns.drop_after(4)  # token, locations, vendors, first page of items; then NetSuite goes away
    assert "connection lost" in await failed_run(sync_deps, tenant, connector)
    partial = await snapshot(owner_pool, tenant.id)
    assert len(partial["products"]) == 2 and partial["orders"] == []
    async with owner_pool.acquire() as conn:
        cursor = await conn.fetchval(
            "SELECT cursor FROM app.integration_sync_state WHERE connector_id = $1 AND entity = 'products'", connector
        )
    assert json.loads(cursor) == {"lastmodified": "2026-01-05 08:00:06", "id": str(ns.made["items"][3]["id"])}
    ns.heal()
    rerun = await run_sync(sync_deps, tenant.id, connector)
    assert rerun["status"] == "completed_with_errors"
    assert await snapshot(owner_pool, tenant.id) == await snapshot(owner_pool, clean.id)


async def test_throttled_calls_are_retried_after_the_retry_after_delay(sync_deps, owner_pool, make_tenant, ns, key):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await retried_after_the_retry_after_delay(sync_deps, tenant, connector, ns)


async def test_throttling_past_the_retry_budget_fails_the_run_without_losing_data(
    sync_deps, owner_pool, make_tenant, ns, key
):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await failed_past_the_retry_budget(sync_deps, owner_pool, tenant, connector, ns, "warehouses")


async def test_an_expired_token_is_renewed_once_on_401(ns, key):
    await pull_across_token_expiry(ns, connector_for(ns, key), Entity.WAREHOUSES, Entity.SUPPLIERS)
    assert ns.count("POST", TOKEN_PATH) == 2


async def test_a_key_netsuite_does_not_know_fails_the_run_with_invalid_grant(
    sync_deps, owner_pool, make_tenant, ns, key
):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, rsa_key())
    error = await failed_run(sync_deps, tenant, connector)
    assert "NetSuite refused the client credentials (HTTP 400): invalid_grant" in error
    assert (await snapshot(owner_pool, tenant.id))["warehouses"] == []


async def test_unreachable_netsuite_fails_the_run(sync_deps, owner_pool, make_tenant, ns, key):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key, base_url="http://127.0.0.1:9")
    assert "cannot connect" in await failed_run(sync_deps, tenant, connector)


async def test_a_refused_query_is_reported_with_netsuites_error_code_and_detail(ns, key):
    connector = connector_for(ns, key)
    try:
        with pytest.raises(ConnectorProtocolError, match=r"HTTP 400.*INVALID_PARAMETER: Invalid search query.*'bogus'"):
            await connector.suiteql("SELECT i.bogus FROM item i ORDER BY i.id")
    finally:
        await connector.aclose()


async def test_pushed_purchase_order_appears_in_netsuite_with_its_lines(sync_deps, owner_pool, make_tenant, ns, key):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    order, pushed = await pushed_in_dozens_and_grams(
        sync_deps, tenant, connector, "VEND-1", "RNO", "ITEM-002", "ITEM-003"
    )
    created = next(t for t in ns.tables["transaction"] if str(t["id"]) == pushed["external_id"])
    vendor, reno = ns.made["vendors"][1], ns.made["locations"][1]
    assert (created["type"], created["entity"], created["currency"], created["externalid"]) == (
        "PurchOrd",
        vendor["id"],
        2,  # EUR, looked up by its symbol
        order["number"],
    )
    assert created["duedate"].date() == date(2026, 3, 2)
    items = {i["id"]: i["itemid"] for i in ns.made["items"]}
    assert [
        (x["linesequencenumber"], items[x["item"]], x["quantity"], x["rate"], x["location"])
        for x in ns.lines(created["id"])
    ] == [
        (1, "ITEM-002", Decimal("24"), Decimal("1"), reno["id"]),  # 2 dozen at 12 -> 24 each at 1
        (2, "ITEM-003", Decimal("0.5"), Decimal("4"), reno["id"]),  # 500 g at 0.004 -> 0.5 kg at 4
    ]
    # The next sync recognises the order as the one pushed, rather than importing a copy.
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["counts"]["purchase_orders"]["created"] == 0
    assert await order_numbers(owner_pool, tenant.id) == sorted(["PO900", "PO901", "PO902", order["number"]])


async def draft_whose_push_answer_is_lost(sync_deps, owner_pool, make_tenant, ns, key):
    """A synced tenant's draft order to VEND-1, with the fake set to lose its answer to the order's push; returns
    (the tenant, its connector, the order)."""
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await run_sync(sync_deps, tenant.id, connector)
    order = await draft_order(sync_deps, tenant, "VEND-1", "RNO", [("ITEM-002", 2, None, "3")])
    ns.lose_answer_to(lambda request: request.path.endswith("/purchaseOrder"))
    return tenant, connector, order


async def test_a_push_whose_answer_was_lost_is_pushed_again_and_finds_its_order(
    sync_deps, owner_pool, make_tenant, ns, key
):
    # Before, the second push was refused for its repeated externalId (DUP_RCRD) and the order could never be linked.
    tenant, connector, order = await draft_whose_push_answer_is_lost(sync_deps, owner_pool, make_tenant, ns, key)
    with pytest.raises(Exception, match="connection"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    await lapse_push_claim(owner_pool, order)  # the push kept it: the ERP may have made the order
    pushed = await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    mine = [t for t in ns.tables["transaction"] if t.get("externalid") == order["number"]]
    assert [str(t["id"]) for t in mine] == [pushed["external_id"]]


async def test_a_sync_before_the_retry_of_a_lost_push_links_the_order_instead_of_importing_a_copy(
    sync_deps, owner_pool, make_tenant, ns, key
):
    tenant, connector, order = await draft_whose_push_answer_is_lost(sync_deps, owner_pool, make_tenant, ns, key)
    run, linked = await sync_after_lost_push(sync_deps, owner_pool, tenant, connector, order)
    (made,) = [t for t in ns.tables["transaction"] if t.get("externalid") == order["number"]]
    assert (run["counts"]["purchase_orders"]["created"], linked) == (0, str(made["id"]))


def test_netsuite_configuration_needs_a_usable_certificate_key(key):
    body = {"name": "ns", "kind": "netsuite", "base_url": "https://123456.suitetalk.api.netsuite.com"}
    assert ConnectorCreate.model_validate({**body, "credentials": credentials(key)}).kind == "netsuite"
    with pytest.raises(ValidationError, match="certificate_id"):
        ConnectorCreate.model_validate({**body, "credentials": {"client_id": "x", "private_key": "y"}})
    with pytest.raises(ValidationError, match="not an unencrypted PEM private key"):
        ConnectorCreate.model_validate({**body, "credentials": {**credentials(key), "private_key": "-----BEGIN nope"}})


NS_BODY = {"name": "ns", "kind": "netsuite", "base_url": "https://123456.suitetalk.api.netsuite.com"}
EC_CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1(), "secp256k1": ec.SECP256K1()}


def signing_key(key: Any, curve: str | None) -> Any:
    """The module's RSA key, or a new EC key on ``curve``."""
    return key if curve is None else ec.generate_private_key(EC_CURVES[curve])


@pytest.mark.parametrize(
    ("curve", "algorithm"),
    [(None, "ES256"), (None, "HS256"), (None, "RS999"), (None, "none"), (None, "RS256"), ("P-256", "PS256"),
     ("P-256", "ES384"), ("P-384", "ES256"), ("secp256k1", None)],
)  # fmt: skip
def test_a_netsuite_key_that_cannot_sign_with_the_algorithm_is_refused_when_configured(key, curve, algorithm):
    # Until 2026-12-07 it was saved, and signing then raised TypeError, NotImplementedError or InvalidKeyError:
    # every push a 500, every sync failed with an unexpected error. RS256 NetSuite refuses since March 2025.
    options = {"algorithm": algorithm} if algorithm else {}
    body = {**NS_BODY, "credentials": {**credentials(key), "private_key": signing_key_pem(signing_key(key, curve))}}
    with pytest.raises(ValidationError, match=r"option algorithm|NetSuite takes P-256"):
        ConnectorCreate.model_validate({**body, "options": options})


@pytest.mark.parametrize(("algorithm", "with_key"), [("HS256", False), ("ES256", True)])
async def test_a_netsuite_algorithm_change_the_key_cannot_sign_with_is_a_400(
    sync_deps, owner_pool, make_tenant, ns, key, algorithm, with_key
):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    change = {"options": {"algorithm": algorithm}, **({"credentials": credentials(key)} if with_key else {})}
    update, cipher = ConnectorUpdate.model_validate(change), sync_deps.cipher
    with pytest.raises(InvalidInputError, match="option algorithm") as refused:
        await sync_deps.database.run(
            tenant.claims(tenant.admin), None, lambda tx: store.update_connector(tx, connector, update, cipher)
        )
    assert refused.value.code == "invalid_connector"


@pytest.mark.parametrize(
    ("curve", "option", "signed"),
    [(None, None, "PS256"), (None, "PS512", "PS512"), ("P-384", None, "ES384"), ("P-521", "ES512", "ES512")],
)
def test_the_client_assertion_is_signed_with_the_option_or_the_keys_own_algorithm(key, curve, option, signed):
    # Until 2026-12-07 an EC key not on P-256 signed ES256 by default, which PyJWT refused (InvalidKeyError).
    private = signing_key(key, curve)
    config = {"private_key": signing_key_pem(private)}
    connector = NetSuiteConnector(ConnectorConfig(NS_BODY["base_url"], {**credentials(key), **config},
                                                  options={"algorithm": option} if option else {}))  # fmt: skip
    assertion = connector.token_form()["client_assertion"]
    assert jwt.get_unverified_header(assertion)["alg"] == signed
    jwt.decode(assertion, private.public_key(), algorithms=[signed], audience=connector.token_url)


@pytest.mark.parametrize("algorithm", ["ES256", "HS256", "RS999", "none"])
def test_a_stored_algorithm_the_key_cannot_sign_with_fails_as_refused_credentials(key, algorithm):
    # A configuration saved before the check (or an option changed without its key): the run's error names it, and a
    # push is the ERP's error, where PyJWT's own error was a 500.
    connector = NetSuiteConnector(ConnectorConfig(NS_BODY["base_url"], credentials(key), {"algorithm": algorithm}))
    with pytest.raises(ConnectorAuthError, match=f"cannot sign the client assertion: option algorithm '{algorithm}'"):
        connector.token_form()


async def update_as_admin(sync_deps, tenant: Any, connector: Any, change: dict[str, Any]) -> None:
    update, cipher = ConnectorUpdate.model_validate(change), sync_deps.cipher
    await sync_deps.database.run(
        tenant.claims(tenant.admin), None, lambda tx: store.update_connector(tx, connector, update, cipher)
    )


async def stored_configuration(owner_pool, connector: Any) -> tuple[Any, ...]:
    sql = "SELECT options, credentials, acting_user_id, updated_at FROM app.integration_connectors WHERE id = $1"
    return tuple(await owner_pool.fetchrow(sql, connector))


async def test_an_algorithm_alone_that_the_stored_key_cannot_sign_with_is_a_400(
    sync_deps, owner_pool, make_tenant, ns, key
):
    # Until 2026-12-07 options without credentials were checked without the stored key: ES256 was saved on an RSA
    # connector, and its every sync and push then failed with refused credentials.
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    before = await stored_configuration(owner_pool, connector)
    with pytest.raises(InvalidInputError, match="option algorithm 'ES256' cannot sign with an RSA private_key") as no:
        await update_as_admin(sync_deps, tenant, connector, {"options": {"algorithm": "ES256"}})
    assert (no.value.code, await stored_configuration(owner_pool, connector)) == ("invalid_connector", before)


async def test_a_key_alone_that_cannot_sign_with_the_stored_algorithm_is_a_400(
    sync_deps, owner_pool, make_tenant, ns, key
):
    # Until 2026-12-07 credentials without options were checked without the stored algorithm: an EC P-256 key was
    # saved under algorithm PS256, and its every sync and push then failed with refused credentials.
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key, options={"algorithm": "PS256"})
    before = await stored_configuration(owner_pool, connector)
    p256 = {**credentials(key), "private_key": signing_key_pem(ec.generate_private_key(ec.SECP256R1()))}
    with pytest.raises(InvalidInputError, match=r"option algorithm 'PS256' cannot sign with an EC \(secp256r1\)") as no:
        await update_as_admin(sync_deps, tenant, connector, {"credentials": p256})
    assert (no.value.code, await stored_configuration(owner_pool, connector)) == ("invalid_connector", before)


async def test_an_algorithm_alone_that_the_stored_key_signs_with_is_saved(sync_deps, owner_pool, make_tenant, ns, key):
    tenant, connector = await ns_tenant(sync_deps, owner_pool, make_tenant, ns, key)
    await update_as_admin(sync_deps, tenant, connector, {"options": {"algorithm": "PS512"}})
    assert json.loads((await stored_configuration(owner_pool, connector))[0]) == {"algorithm": "PS512"}
