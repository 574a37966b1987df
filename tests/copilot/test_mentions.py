from __future__ import annotations

import re
from datetime import date

from copilot.mentions import (
    _LEGAL_FORM,
    _SPACE,
    MAX_MENTIONS,
    candidate_numbers,
    find_mentions,
    names_in,
    without_legal_form,
)
from copilot.tools import matches
from tests.copilot.conftest import as_user
from tests.copilot.live_rows import add_order, add_products, add_shipment, add_supplier, add_suppliers


def test_a_name_matches_only_as_a_whole_word():
    assert names_in("stock of SKU-1?", ["SKU-1"])
    assert not names_in("stock of SKU-10", ["SKU-1"])
    assert not names_in("a late order", ["A"])  # short codes match exactly, so the word "a" is not supplier A
    assert names_in("orders from A", ["A"])


def test_a_supplier_name_matches_without_its_legal_form():
    assert without_legal_form("Acme Fasteners Ltd.") == "Acme Fasteners"
    assert without_legal_form("Globex, Inc") == "Globex"
    assert without_legal_form("Cooperative") == "Cooperative"


def test_po_and_shipment_numbers_are_recognised_as_people_write_them():
    numbers = candidate_numbers("Is po 42 late? And PO#7, SH-000009 and 1Z999AA1?")
    assert {"PO-000042", "PO-000007", "SH-000009", "1Z999AA1"} <= set(numbers)


def test_intent_words_match_whole_words_unless_marked_as_prefixes():
    assert matches("Which POs are open?", ("po",))
    assert not matches("What is our returns policy?", ("po",))
    assert matches("Any delayed deliveries?", ("delay*",))
    assert not matches("a relayed message", ("delay*",))


async def test_a_question_names_suppliers_orders_and_shipments_of_the_callers_tenant_only(
    database, make_tenant, owner_pool
):
    mine, theirs = await make_tenant(), await make_tenant()
    async with owner_pool.acquire() as conn:
        acme = await add_supplier(conn, mine, "ACME", "Acme Fasteners Ltd")
        _, number = await add_order(conn, mine, acme, date(2030, 1, 1), [(0, 1, 1)])
        _, shipment = await add_shipment(conn, mine, "TRACK-77", "in_transit", None)
        globex = await add_supplier(conn, theirs, "GLOBEX", "Globex")
        _, foreign = await add_order(conn, theirs, globex, date(2030, 1, 1), [(0, 1, 1)])
    question = f"Is {number} from Acme Fasteners on TRACK-77? And {foreign} from Globex, or SKU-1?"
    found = await as_user(database, mine)(lambda tx: find_mentions(tx.conn, question))
    assert [s["code"] for s in found.suppliers] == ["ACME"]
    assert [o["number"] for o in found.purchase_orders] == [number]
    assert [s["number"] for s in found.shipments] == [shipment]
    assert [p["sku"] for p in found.products] == ["SKU-1"]
    assert found.kinds() == {"product", "supplier", "purchase_order", "shipment"}


async def test_codes_written_like_ours_that_name_nothing_are_reported_as_unknown(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        acme = await add_supplier(conn, tenant, "SUP-ACME", "Acme")
        _, number = await add_order(conn, tenant, acme, date.today(), [(0, 1, 1)])
    question = f"Is {number} from SUP-ACME for SKU-0 late, and what about PO-999999, XYZ-1 and Wi-Fi?"
    found = await as_user(database, tenant)(lambda tx: find_mentions(tx.conn, question))
    assert found.unknown_codes == ["PO-999999", "XYZ-1"]


async def test_a_supplier_named_by_its_code_is_found_among_many_suppliers_sharing_a_first_word(
    database, make_tenant, owner_pool
):
    # Candidates were suppliers whose first name word was in the question, the 50 longest names first: 60 "The ..."
    # suppliers pushed out SUP-0042, and the copilot said no supplier had that code.
    tenant = await make_tenant()
    many = [(f"THE-{n:02d}", f"The Industrial Supply Company {n}") for n in range(60)]
    async with owner_pool.acquire() as conn:
        await add_suppliers(conn, tenant, *many, ("SUP-0042", "Acme Ltd"))
    question = "What is the risk score of SUP-0042?"
    found = await as_user(database, tenant)(lambda tx: find_mentions(tx.conn, question))
    assert [s["code"] for s in found.suppliers] == ["SUP-0042"]
    assert found.unknown_codes == []


async def test_a_supplier_named_without_its_legal_form_is_found_among_many_suppliers(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    many = [(f"ACME-{n:02d}", f"Acme Industrial Supply Company {n}") for n in range(60)]
    async with owner_pool.acquire() as conn:
        await add_suppliers(conn, tenant, *many, ("SUP-0042", "Acme Fasteners, Ltd."))
    found = await as_user(database, tenant)(lambda tx: find_mentions(tx.conn, "Is Acme Fasteners late?"))
    assert [s["code"] for s in found.suppliers] == ["SUP-0042"]


async def test_a_product_named_by_its_sku_is_found_among_many_products_named_in_the_question(
    database, make_tenant, owner_pool
):
    # Candidates were the 50 longest-named products whose SKU or name the question held: 60 products named "Valve"
    # pushed out SKU-0042 ("Nut"), named by its SKU.
    tenant = await make_tenant()
    valves = [(f"V-{n}", "Valve") for n in range(1, 61)]
    async with owner_pool.acquire() as conn:
        await add_products(conn, tenant, *valves, ("SKU-0042", "Nut"))
    question = "How many SKU-0042 go into each valve?"
    found = await as_user(database, tenant)(lambda tx: find_mentions(tx.conn, question))
    assert "SKU-0042" in [p["sku"] for p in found.products]
    assert found.unknown_codes == []


async def test_a_supplier_written_with_a_no_break_space_before_its_legal_form_is_found_without_it(
    database, make_tenant, owner_pool
):
    # PostgreSQL's \s does not match a no-break space: the candidate query kept "GmbH" on "Global Trading\u00a0GmbH".
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await add_suppliers(conn, tenant, ("GT", "Global Trading\u00a0GmbH"), ("MB", "Müller Bau\u202fAG"))
    question = "How risky are Global Trading and Müller Bau?"
    found = await as_user(database, tenant)(lambda tx: find_mentions(tx.conn, question))
    assert sorted(s["code"] for s in found.suppliers) == ["GT", "MB"]


async def test_a_supplier_named_inside_a_longer_supplier_name_the_question_uses_is_not_named(
    database, make_tenant, owner_pool
):
    # Before, "Acme" (and code ACME, matched case-insensitively) was found inside "Acme Industrial": both filtered.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await add_suppliers(conn, tenant, ("ACME", "Acme"), ("ACME-IND", "Acme Industrial Ltd"))
    found = await as_user(database, tenant)(lambda tx: find_mentions(tx.conn, "late orders from Acme Industrial"))
    assert [s["code"] for s in found.suppliers] == ["ACME-IND"]


async def test_a_product_named_inside_a_longer_product_name_the_question_uses_is_not_named(
    database, make_tenant, owner_pool
):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await conn.execute("UPDATE app.products SET name = 'Bolt M8' WHERE id = $1", tenant.products[0])
        await conn.execute("UPDATE app.products SET name = 'Bolt M8 Zinc' WHERE id = $1", tenant.products[1])
    ask = as_user(database, tenant)
    found = await ask(lambda tx: find_mentions(tx.conn, "How many Bolt M8 Zinc do we have?"))
    assert [p["sku"] for p in found.products] == ["SKU-1"]
    both = await ask(lambda tx: find_mentions(tx.conn, "Bolt M8 Zinc or plain Bolt M8?"))
    assert sorted(p["sku"] for p in both.products) == ["SKU-0", "SKU-1"]


async def test_every_sku_named_is_known_when_more_are_named_than_are_looked_up(database, make_tenant, owner_pool):
    # Before, the eleventh SKU named was cut before the codes were checked, and said to name nothing.
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await add_products(conn, tenant, *((f"VLV-{n}", "Valve") for n in range(1, 12)))
    question = "Stock of " + ", ".join(f"VLV-{n}" for n in range(1, 12)) + "?"
    found = await as_user(database, tenant)(lambda tx: find_mentions(tx.conn, question))
    assert found.unknown_codes == []
    assert (len(found.products), found.truncated) == (MAX_MENTIONS, {"product"})


# Until 2026-12-07 codes were checked against the rows left once the longest name won, so a SKU inside another
# product's name, and a supplier code inside another supplier's, was said to name nothing.
async def test_a_code_inside_a_longer_name_the_question_uses_is_not_unknown(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await add_products(conn, tenant, ("PUMP-200", "Pump 200"), ("ADP-7", "Adapter for PUMP-200"))
        await add_suppliers(conn, tenant, ("GLX-9", "Globex"), ("RSL-1", "Reseller GLX-9 Ltd"))
    question = "How much Adapter for PUMP-200 do we have, and is Reseller GLX-9 late?"
    found = await as_user(database, tenant)(lambda tx: find_mentions(tx.conn, question))
    assert ([p["sku"] for p in found.products], [s["code"] for s in found.suppliers]) == (["ADP-7"], ["RSL-1"])
    assert found.unknown_codes == []


async def test_a_code_naming_nothing_is_unknown_written_alone_not_inside_a_name_the_question_uses(
    database, make_tenant, owner_pool
):
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await add_products(conn, tenant, ("ADP-9", "Adapter for XYZ-9"))
    ask = as_user(database, tenant)
    found = await ask(lambda tx: find_mentions(tx.conn, "How much Adapter for XYZ-9 do we have?"))
    assert found.unknown_codes == []
    found = await ask(lambda tx: find_mentions(tx.conn, "How much Adapter for XYZ-9 and XYZ-9 do we have?"))
    assert found.unknown_codes == ["XYZ-9"]


async def test_the_supplier_name_key_takes_off_the_legal_form_pattern_mentions_take_off(owner_pool):
    # Read from the database, whichever migration last defined the column: the pattern is the regexp_replace
    # argument followed by its replacement '' and the flag 'i'.
    async with owner_pool.acquire() as conn:
        expression = await conn.fetchval(
            """SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
               JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
               WHERE d.adrelid = 'app.suppliers'::regclass AND a.attname = 'name_key'"""
        )
    inlined = re.findall(r"'((?:[^']|'')*)'::text,\s*''::text,\s*'i'::text", expression)
    assert [pattern.replace("''", "'") for pattern in inlined] == [_LEGAL_FORM.pattern]


async def test_the_supplier_name_key_is_the_name_without_its_legal_form_as_python_reads_it(make_tenant, owner_pool):
    tenant = await make_tenant()
    spaces = [c for c in map(chr, range(0x110000)) if c.isspace()]
    names = [
        "Acme Fasteners Ltd.", "Globex, Inc", "Cooperative", "Ltd", ", Inc", "Global Trading\u00a0GmbH",
        "Müller Bau\u202fAG", "Figure\u2007Co", " Padded S.A. \n", "Acme Ltd\n", "Next\x85Line NV",
        "Ideographic\u3000KG", "Corp of Co.", *(f"Acme{c}Supply{c}GmbH{c}" for c in spaces),
    ]  # fmt: skip
    async with owner_pool.acquire() as conn:
        await add_suppliers(conn, tenant, *((f"S-{n}", name) for n, name in enumerate(names)))
        rows = await conn.fetch("SELECT name, name_key FROM app.suppliers WHERE tenant_id = $1", tenant.id)
    keys = {r["name"]: r["name_key"] for r in rows}
    assert keys == {name: _SPACE.sub(" ", without_legal_form(name)).lower() or None for name in names}


# Until 2026-12-07 (2b36449 until its mend) a deactivated record's code of over 3 characters matched in any case:
# retired SKU "VALVE" was named by the word "valve" beside the active product named so.
async def test_a_deactivated_products_sku_names_it_only_as_written(database, make_tenant, owner_pool):
    tenant = await make_tenant()
    await owner_pool.execute(
        "INSERT INTO app.products (tenant_id, sku, name, active) VALUES ($1, 'VALVE', 'Old valve', false), "
        "($1, 'V-1', 'Valve', true)",
        tenant.id,
    )
    ask = as_user(database, tenant)
    found = await ask(lambda tx: find_mentions(tx.conn, "How much valve stock do we have?"))
    assert [p["sku"] for p in found.products] == ["V-1"]
    found = await ask(lambda tx: find_mentions(tx.conn, "How much VALVE stock do we have?"))
    assert "VALVE" in [p["sku"] for p in found.products]
