from __future__ import annotations

from copilot.grounding import Checker

# A suggestion line's subject is its order; the product named after the ";" owns the negative figure
# (copilot/suggestions.py writes "Expedite <order> ...: expected ...; <sku> at <warehouse> runs out ...: available -5").
EXPEDITE = (
    "Expedite PO-000555 from SUP-ACME to WH-2: expected 2026-12-20; SKU-5 at WH-2 runs out around 2026-12-10"
    " (10 days before it lands): available -5, demand 1.00/day from the average issues"
)


def test_the_product_a_suggestion_names_after_its_order_owns_its_shortfall():
    # Before, only the first code of a line (the order PO-000555) was a subject, so "SKU-5 is 5 short" was dropped.
    checker = Checker([EXPEDITE], ["Acme Fasteners"])
    stated = ["SKU-5 is 5 short.", "SKU-5 at WH-2 is 5 short.", "At WH-2, SKU-5 is already 5 short.",
              "PO-000555 should be expedited: SKU-5 is 5 short."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []
    assert checker.check("SKU-5 at WH-2 is 7 short.").unsupported == ["7"]


def test_a_warehouse_the_sentence_names_ties_its_shortfall_to_that_warehouses_row():
    # Before, a subject's rows pooled their negative figures: SKU-7's -40 at WH-1 backed "SKU-7 at WH-2 is 40 short".
    checker = Checker(["SKU-7 (Hex nut) at WH-1: on hand 2, reserved 42, available -40 each",
                       "SKU-7 (Hex nut) at WH-2: on hand 1, reserved 5, available -4 each"], ["Hex nut"])  # fmt: skip
    invented = ["SKU-7 at WH-2 is 40 short.", "SKU-7 at WH-1 is 4 short.", "At WH-2, SKU-7 is 40 short.",
                "The Hex nut at WH-2 is 40 short.", "SKU-7 is 40 short at WH-2."]  # fmt: skip
    assert [checker.check(s).unsupported for s in invented] == [["40"], ["4"], ["40"], ["40"], ["40"]]
    stated = ["SKU-7 at WH-1 is 40 short.", "SKU-7 at WH-2 is 4 short.", "SKU-7 is 40 short at WH-1.",
              "SKU-7 is 40 short.", "At WH-1 the Hex nut is 40 short, at WH-2 4 short."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []


def test_an_order_the_sentence_names_ties_its_products_shortfall_to_that_orders_suggestion():
    checker = Checker([EXPEDITE, EXPEDITE.replace("PO-000555", "PO-000556").replace("-5,", "-9,")], ["Acme Fasteners"])
    assert checker.check("PO-000556 should be expedited: SKU-5 is 9 short.").grounded
    assert checker.check("PO-000555 should be expedited: SKU-5 is 9 short.").unsupported == ["9"]


def test_each_warehouse_narrows_only_the_shortfall_nearest_to_it():
    # Before, a warehouse after one shortfall narrowed the next one too: WH-1 and WH-2 both narrowed "4 short".
    checker = Checker(["SKU-7 (Hex nut) at WH-1: on hand 2, reserved 42, available -40 each",
                       "SKU-7 (Hex nut) at WH-2: on hand 1, reserved 5, available -4 each"], ["Hex nut"])  # fmt: skip
    stated = ["SKU-7 is 40 short at WH-1 and 4 short at WH-2.", "SKU-7 is 40 short at WH-1; at WH-2 it is 4 short.",
              "SKU-7 is 40 short at WH-1, and at WH-2 it is 4 short.",
              "At WH-1 SKU-7 is 40 short and at WH-2 4 short.",
              # a code takes the shortfall of its own clause, though the one before stands nearer
              "At WH-2, SKU-7 is 4 short; at WH-1 it is 40 short.",
              "At WH-2, SKU-7 is 4 short, at WH-1 it is 40 short.",
              "SKU-7: WH-1 is 40 short, WH-2 is 4 short."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []
    assert checker.check("At WH-2, SKU-7 is 40 short; at WH-1 it is 4 short.").unsupported in (["4", "40"], ["40", "4"])
    assert checker.check("SKU-7: WH-1 is 4 short, WH-2 is 40 short.").unsupported in (["4", "40"], ["40", "4"])
    assert checker.check("SKU-7 is 40 short at WH-1 and 40 short at WH-2.").unsupported == ["40"]
    assert checker.check("SKU-7 is 4 short at WH-1 and 4 short at WH-2.").unsupported == ["4"]
