"""Microsoft Dynamics 365 Business Central through its API v2.0 (OData v4), with OAuth 2.0 client credentials.

A token comes from the Microsoft identity platform's token endpoint (``grant_type=client_credentials``,
``scope=https://api.businesscentral.dynamics.com/.default``) and is renewed before ``expires_in`` runs out
or when the API answers 401 (an expired or revoked token), once per call. Reads use
``companies({id})/<entity>`` with ``$filter=lastModifiedDateTime ge <cursor>``, ``$orderby``, the
``Prefer: odata.maxpagesize`` header and ``@odata.nextLink`` paging; the cursor after a page is its last
``lastModifiedDateTime``. Items carry total ``inventory``: stock is a snapshot put in the mapping's
``default_warehouse``. Purchase orders are created by deep insert with ``purchaseOrderLines``.

Prices are net of tax here, as other suppliers' are: an order read with ``pricesIncludeTax`` is priced from BC's own
``amountExcludingTax``, and an order is pushed with ``pricesIncludeTax`` false (a new order would otherwise take its
vendor's "Prices Including VAT" and read the pushed net price as one including VAT). A line's price is the one after
its line discount, also a discount BC applies to a pushed line (the vendor's purchase line discount): that is what
the order owes, so the next sync writes it over the pushed price, as any price the ERP holding the order changes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import httpx

from integrations.errors import ConnectorAuthError, ConnectorProtocolError
from integrations.oauth import OAuthConnector
from integrations.records import (
    ENTITY_ORDER,
    Entity,
    Page,
    PurchaseOrderStatus,
    PushOrder,
    SourceRecord,
    decimal_or_none,
    line_numbers,
)

DEFAULT_SCOPE = "https://api.businesscentral.dynamics.com/.default"

# How OData writes a character an enum member's name cannot hold: Business Central's blank member " " is "_x0020_".
_ENUM_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# How the API writes a reference to nothing (a line without a location, a comment line's item).
_NULL_GUID = "00000000-0000-0000-0000-000000000000"
# The statuses of a posted purchase invoice (enum "Invoice Entity Aggregate Status": " ", Draft, In Review, Open, Paid,
# Canceled, Corrective): only a posted one proves the order it names was received.
_POSTED = ("Open", "Paid")


class DynamicsConnector(OAuthConnector):
    kind = "dynamics"
    vendor = "Dynamics 365 Business Central"
    entities = ENTITY_ORDER  # all of them, in sync order
    issuer = "Microsoft identity platform"

    def token_form(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.credential("client_id"),
            "client_secret": self.credential("client_secret"),
            "scope": str(self.option("scope", DEFAULT_SCOPE)),
        }

    def _company(self, path: str) -> str:
        return f"companies({self.option('company_id')})/{path}"

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.oauth.send(method, url, idempotent=method == "GET", **kwargs)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                message = f"{error.get('code')}: {error.get('message')}"
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            if response.status_code in (401, 403):
                raise ConnectorAuthError(f"Business Central refused the token (HTTP {response.status_code}): {message}")
            raise ConnectorProtocolError(f"Business Central answered HTTP {response.status_code}: {message}")
        return response

    async def _changed(
        self, path: str, cursor: dict[str, Any] | None, expand: str | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        params = {"$orderby": "lastModifiedDateTime,id"}
        since = (cursor or {}).get("lastModifiedDateTime")
        if since:
            params["$filter"] = f"lastModifiedDateTime ge {since}"
        if expand:
            params["$expand"] = expand
        async for rows in self._pages(path, params):
            yield rows

    async def _pages(self, path: str, params: dict[str, str]) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a read, following ``@odata.nextLink`` to the last."""
        url: str | None = self._company(path)
        first = True
        while url:
            response = await self._call(
                "GET",
                url,
                params=params if first else None,
                headers={"Prefer": f"odata.maxpagesize={self.config.page_size}", "Accept": "application/json"},
            )
            first = False
            body = _json_object(response, f"the {path} page")
            rows = body.get("value") or []
            if rows:
                yield rows
            url = body.get("@odata.nextLink")

    @staticmethod
    def _cursor(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {"lastModifiedDateTime": rows[-1].get("lastModifiedDateTime")}

    async def pull(self, entity: Entity, cursor: dict[str, Any] | None) -> AsyncIterator[Page]:
        if entity == Entity.STOCK:
            async for rows in self._changed("items", None):
                records = [
                    SourceRecord(
                        str(r.get("id")),
                        {"product_external_id": str(r.get("id")), "quantity": r.get("inventory")},
                        {"id": r.get("id"), "number": r.get("number"), "inventory": r.get("inventory")},
                    )
                    for r in rows
                ]
                yield Page(records)
            return
        path, parse, expand = {
            Entity.WAREHOUSES: ("locations", _location, None),
            Entity.SUPPLIERS: ("vendors", _vendor, None),
            Entity.PRODUCTS: ("items", _item, None),
            Entity.PURCHASE_ORDERS: ("purchaseOrders", _order, "purchaseOrderLines"),
        }[entity]
        async for rows in self._changed(path, cursor, expand):
            yield Page([SourceRecord(str(r.get("id") or ""), parse(r), r) for r in rows], self._cursor(rows))

    async def gone_orders(self, known: Mapping[str, str]) -> dict[str, PurchaseOrderStatus] | None:
        """Business Central sends no deletions: the orders it holds are listed whole (ids only). An order it no longer
        holds for which a posted invoice names the order (``purchaseInvoices``' ``orderId``, its id, or ``orderNumber``)
        was deleted by the invoice posting, fully received and invoiced; one without was deleted by hand, and is
        cancelled. The id finds an order pushed from here, whose number here is not BC's. Posted is ``status`` Open or
        Paid: a Draft or In Review invoice is not posted, and a Canceled one was reversed (a corrective credit memo)."""
        held: set[str] = set()
        async for rows in self._pages("purchaseOrders", {"$select": "id"}):
            held.update(str(r.get("id")) for r in rows)
        gone: dict[str, PurchaseOrderStatus] = {}
        for order_id, number in sorted(known.items()):
            if order_id in held:
                continue
            literal = number.replace("'", "''")  # an OData string literal doubles its quotes
            named = f"orderNumber eq '{literal}'"
            if _is_guid(order_id):  # a GUID literal goes unquoted, so only a well-formed one is written into the filter
                named = f"orderId eq {order_id} or {named}"
            invoiced = False
            async for rows in self._pages("purchaseInvoices", {"$filter": named, "$select": "id,status,orderId"}):
                # Found by its number, an invoice naming another order's id is another order's (another company's
                # number series): no proof that this one was received.
                invoiced = invoiced or any(
                    r.get("status") in _POSTED and _guid(r.get("orderId")) in (None, order_id) for r in rows
                )
            gone[order_id] = PurchaseOrderStatus.RECEIVED if invoiced else PurchaseOrderStatus.CANCELLED
        return gone

    async def push_purchase_order(self, order: PushOrder) -> str:
        body: dict[str, Any] = {
            "vendorId": order.supplier_external_id,
            "currencyCode": order.currency,
            "pricesIncludeTax": False,  # Chainsight's prices are net of tax, whatever the vendor's default
            "purchaseOrderLines": [
                {
                    "sequence": line.line_no * 10000,
                    "lineType": "Item",
                    "itemId": line.product_external_id,
                    "quantity": float(line.quantity),
                    "unitOfMeasureCode": line.uom,
                    "directUnitCost": float(line.unit_price),
                    **({"locationId": order.warehouse_external_id} if order.warehouse_external_id else {}),
                }
                for line in order.lines
            ],
        }
        if order.expected_date:
            body["requestedReceiptDate"] = order.expected_date.isoformat()
        response = await self._call("POST", self._company("purchaseOrders"), json=body)
        created = _json_object(response, "the created purchase order").get("id")
        if not created:
            raise ConnectorProtocolError("Business Central created the purchase order but returned no id")
        return str(created)


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The answer's JSON object; an HTML page from a proxy or a wrong URL is the ERP's protocol error."""
    try:
        body = response.json()
    except ValueError as exc:
        raise ConnectorProtocolError(
            f"Business Central answered {what} with no JSON (HTTP {response.status_code})"
        ) from exc
    if not isinstance(body, dict):
        raise ConnectorProtocolError(f"Business Central answered {what} with no JSON object")
    return body


def _location(r: dict[str, Any]) -> dict[str, Any]:
    """A location as a warehouse. Business Central keeps no time zone for it: a warehouse the sync creates takes
    its country's, where the country keeps one time (``integrations.apply``)."""
    return {
        "code": r.get("code"),
        "name": r.get("displayName"),
        "country": r.get("country") or None,
        "city": r.get("city") or None,
    }


def _vendor(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": r.get("number"),
        "name": r.get("displayName"),
        "country": r.get("country") or None,
        "email": r.get("email") or None,
        "currency": r.get("currencyCode") or "",  # blank: the company's local currency (LCY)
        # Blocked " " (none) or "Payment" (no payments, while purchase documents still take it) leaves the vendor
        # to order from; only "All" blocks purchasing.
        "active": _enum_member(r.get("blocked")).strip() != "All",
    }


def _enum_member(value: Any) -> str:
    """An enum value as Business Central names the member: the API sends names OData-encoded (``_x0020_``)."""
    return _ENUM_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value) if isinstance(value, str) else ""


def _item(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": r.get("number"),
        "name": r.get("displayName"),
        "uom": r.get("baseUnitOfMeasureCode"),
        "unit_cost": r.get("unitCost"),
        "active": not r.get("blocked", False),
    }


def _order(r: dict[str, Any]) -> dict[str, Any]:
    lines = [x for x in (r.get("purchaseOrderLines") or []) if x.get("lineType") == "Item"]
    received = [float(x.get("receivedQuantity") or 0) for x in lines]
    if r.get("status") != "Open":
        status = PurchaseOrderStatus.DRAFT.value
    elif lines and all(got >= float(x.get("quantity") or 0) for got, x in zip(received, lines, strict=True)):
        status = PurchaseOrderStatus.RECEIVED.value
    elif any(received):
        status = PurchaseOrderStatus.PARTIALLY_RECEIVED.value
    else:
        status = PurchaseOrderStatus.ISSUED.value
    return {
        "number": r.get("number"),
        "supplier_external_id": _guid(r.get("vendorId")),
        # Lines without a location: the order is the mapping's default_warehouse's.
        "warehouse_external_id": next(filter(None, (_guid(x.get("locationId")) for x in lines)), None),
        "currency": r.get("currencyCode") or None,  # empty: the company's local currency
        "expected_date": r.get("requestedReceiptDate") or None,
        "ordered_on": r.get("orderDate") or None,  # a day: the receiving warehouse's
        "status": status,
        "lines": [
            {
                "line_no": line_no,
                "product_external_id": _guid(x.get("itemId")),  # none (an Item line without its item): refused
                "quantity": x.get("quantity"),
                "uom": x.get("unitOfMeasureCode"),
                "unit_price": _net_unit_cost(x, r.get("pricesIncludeTax") is True),
                "received_quantity": x.get("receivedQuantity") or 0,
            }
            for x, line_no in zip(lines, line_numbers([int(x.get("sequence") or 0) for x in lines], 10000), strict=True)
        ],
    }


def _guid(value: Any) -> str | None:
    """A reference to another record, None where it refers to none (empty, or the null GUID BC sends for that)."""
    return None if value in (None, "", _NULL_GUID) else str(value)


def _net_unit_cost(line: dict[str, Any], prices_include_tax: bool) -> Decimal | None:
    """What a unit costs after the line discount and without VAT: ``directUnitCost`` is the price before the
    discount, and on an order whose prices include VAT it includes the line's ``taxPercent`` too."""
    cost = decimal_or_none(line.get("directUnitCost"))
    quantity = decimal_or_none(line.get("quantity")) or Decimal(0)
    if cost is None:
        return None
    if prices_include_tax:
        # Not amountExcludingTax / quantity: BC rounds that line amount to the currency, which a unit price of a few
        # cents does not survive (7 at 0.02 with 19% read 0.0171, not 0.0168, and was refused as a lost price).
        tax = decimal_or_none(line.get("taxPercent")) or Decimal(0)
        return _after_discount(line, cost, quantity) / (1 + tax / 100)
    return _after_discount(line, cost, quantity)


def _after_discount(line: dict[str, Any], cost: Decimal, quantity: Decimal) -> Decimal:
    amount = decimal_or_none(line.get("discountAmount")) or Decimal(0)
    percent = decimal_or_none(line.get("discountPercent")) or Decimal(0)
    if amount == 0 and percent == 0:
        return cost
    # The discount amount is BC's own, rounded to the currency; the percentage only where no quantity spreads it.
    # Rounded up, it can pass the line's value (3 at 0.333, 100% off: 1.00): such a line is free, not below 0.
    net = cost - amount / quantity if quantity > 0 else cost * (1 - percent / 100)
    return max(net, Decimal(0))


def _is_guid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False
