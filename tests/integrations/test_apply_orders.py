"""Which stored line an ERP order line is, when the ERP numbers its lines by position."""

from __future__ import annotations

from uuid import uuid4

from integrations.apply_orders import lines_as_stored

BOX, KG = uuid4(), uuid4()


def stored_line(product):
    return {"product_id": product}


def test_a_line_shifted_by_one_added_above_it_is_matched_to_its_stored_self():
    box = stored_line(BOX)
    assert lines_as_stored([(1, KG), (2, BOX)], {1: box}) == {2: box}


def test_each_stored_line_serves_one_incoming_line_and_a_same_numbered_one_first():
    first, second = stored_line(BOX), stored_line(BOX)
    assert lines_as_stored([(2, BOX), (3, BOX)], {2: first, 5: second}) == {2: first, 3: second}


def test_a_line_of_a_product_never_stored_has_no_stored_self():
    assert lines_as_stored([(1, KG)], {1: stored_line(BOX)}) == {}
