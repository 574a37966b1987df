"""Human column labels for the dataset exports (PDF always; CSV and xlsx with ``labels=human``), the PDF
columns' kinds and units, and the sentence that says which filter produced an export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inventory.exports.pdf_tables import Column, Kind
from inventory.listing import ListQuery

LABELS = {
    "id": "ID",
    "sku": "SKU",
    "name": "Name",
    "category": "Category",
    "unit_of_measure": "Unit",
    "unit_cost": "Unit cost",
    "unit_cost_currency": "Cost currency",
    "lot_tracked": "Lot tracked",
    "active": "Active",
    "created_at": "Created",
    "product_id": "Product ID",
    "product_name": "Product",
    "warehouse_id": "Warehouse ID",
    "warehouse_code": "Warehouse",
    "on_hand": "On hand",
    "reserved": "Reserved",
    "available": "Available",
    "updated_at": "Updated",
    "movement_type": "Movement",
    "quantity": "Quantity",
    "reference": "Reference",
    "reason": "Reason",
    "occurred_at": "Occurred",
    "number": "Number",
    "status": "Status",
    "supplier_id": "Supplier ID",
    "supplier_code": "Supplier",
    "currency": "Currency",
    "expected_date": "Expected",
    "incoterm": "Incoterm",
    "line_count": "Lines",
    "total_amount": "Total",
    "direction": "Direction",
    "carrier": "Carrier",
    "tracking_number": "Tracking number",
    "order_reference": "Order reference",
    "expected_delivery": "Expected delivery",
    "delivered_at": "Delivered",
}

# Numeric PDF columns: (kind, the row key holding the unit). Anything else is text (dates format themselves).
_NUMERIC: dict[str, tuple[Kind, str | None]] = {
    "on_hand": ("number", "unit_of_measure"),
    "reserved": ("number", "unit_of_measure"),
    "available": ("number", "unit_of_measure"),
    "quantity": ("number", "unit_of_measure"),
    "unit_cost": ("money", "unit_cost_currency"),
    "total_amount": ("money", "currency"),
    "line_count": ("number", None),
}
_WIDE = {"name": 2.6, "product_name": 2.6, "reference": 1.8, "tracking_number": 1.6, "occurred_at": 1.4}
# Filters on ids are shown by the code a planner knows: (table, column shown).
_ID_NAMES = {
    "product_id": ("products", "sku"),
    "warehouse_id": ("warehouses", "code"),
    "supplier_id": ("suppliers", "code"),
}


def label(column: str) -> str:
    return LABELS.get(column, column.replace("_", " ").capitalize())


def header(columns: Sequence[str], labels: str, zone: str | None = None) -> list[str]:
    """``labels="human"``: 'On hand'; ``"keys"`` (the default for CSV and xlsx): 'on_hand'. With ``zone`` (xlsx,
    whose cells hold times without an offset), a time's heading names it: 'occurred_at (Europe/Berlin)'."""
    names = [label(c) for c in columns] if labels == "human" else list(columns)
    if zone is None:
        return names
    return [f"{name} ({zone})" if column.endswith("_at") else name for name, column in zip(names, columns, strict=True)]


def pdf_columns(names: Sequence[str]) -> list[Column]:
    columns = []
    for name in names:
        kind, unit_key = _NUMERIC.get(name, ("text", None))
        columns.append(Column(name, label(name), kind, unit_key=unit_key, width=_WIDE.get(name, 1.0)))
    return columns


def id_filter_tables() -> Mapping[str, tuple[str, str]]:
    return _ID_NAMES


def describe_filter(query: ListQuery, names: Mapping[str, str]) -> str:
    """'Warehouse = BER-01; search "bolt"; sorted by On hand (descending)', or 'none (all rows)'.

    ``names`` maps a filter's raw value (an id) to the code shown for it.
    """
    parts: list[str] = []
    for key, value in sorted(query.filters.items()):
        shown: Any = names.get(str(value), value)
        parts.append(f"{label(key.removesuffix('_id')) if key in _ID_NAMES else label(key)} = {shown}")
    if query.search:
        parts.append(f'search "{query.search}"')
    if query.sort:
        descending = query.sort.startswith("-")
        parts.append(f"sorted by {label(query.sort.lstrip('-+'))} ({'descending' if descending else 'ascending'})")
    return "; ".join(parts) if parts else "none (all rows)"
