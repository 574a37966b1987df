"""SAP S/4HANA through its OData v2 APIs, with a communication user (basic authentication) or OAuth 2.0.

Credentials ``username``/``password`` authenticate every call with basic authentication; ``client_id``/
``client_secret`` instead use OAuth 2.0 client credentials (a communication arrangement's OAuth client):
``POST`` to the token endpoint (option ``token_url``, default S/4HANA's own ``/sap/bc/sec/oauth2/token``)
with ``grant_type=client_credentials`` (optional ``scope``) and the client authenticated with basic
authentication; the bearer token is kept until a minute before ``expires_in`` and renewed once on a 401.

Reads: ``API_PRODUCT_SRV/A_Product`` (with ``to_Description``), ``API_BUSINESS_PARTNER/A_BusinessPartner``
(partners that are suppliers, with ``to_BusinessPartnerAddress``), ``API_MATERIAL_STOCK_SRV/
A_MatlStkInAcctMod`` (a snapshot, summed per material and plant) and ``API_PURCHASEORDER_PROCESS_SRV/
A_PurchaseOrder`` (with ``to_PurchaseOrderItem`` and their ``to_ScheduleLine``). Incremental reads use ``$filter`` on
``LastChangeDateTime`` (``LastChangeDate`` for business partners, a date: the last day is re-read) with
``$orderby`` on it, and follow server-driven paging (``d.__next`` with ``$skiptoken``); the cursor after a
page is its last change marker. Writes (a purchase order, by deep insert) first fetch a CSRF token with
``x-csrf-token: Fetch`` on the service root and send it back with the session cookies; a ``403`` with
``x-csrf-token: Required`` refetches it once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx

from integrations.connector import Connector, ConnectorConfig
from integrations.errors import ConnectorAuthError, ConnectorProtocolError
from integrations.oauth import ClientCredentials
from integrations.odata import parse_v2_date, quote, v2_date
from integrations.records import (
    Entity,
    Page,
    PurchaseOrderStatus,
    PushOrder,
    SourceRecord,
    decimal_or_none,
    line_numbers,
)

ROOT = "/sap/opu/odata/sap"
PRODUCTS = f"{ROOT}/API_PRODUCT_SRV/A_Product"
PARTNERS = f"{ROOT}/API_BUSINESS_PARTNER/A_BusinessPartner"
STOCK = f"{ROOT}/API_MATERIAL_STOCK_SRV/A_MatlStkInAcctMod"
PO_SERVICE = f"{ROOT}/API_PURCHASEORDER_PROCESS_SRV"
ORDERS = f"{PO_SERVICE}/A_PurchaseOrder"
OAUTH_TOKEN_PATH = "/sap/bc/sec/oauth2/token"  # noqa: S105 (a path, not a secret)


def _iso(value: Any) -> str | None:
    moment = parse_v2_date(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _purchase_currency(partner: dict[str, Any]) -> str | None:
    """The currency the supplier's purchasing organisations order in, when they agree on one ("" where none
    sets it: the company's); None when they differ, which leaves the supplier's currency as it is."""
    supplier = partner.get("to_Supplier") or {}
    orgs = (supplier.get("to_SupplierPurchasingOrg") or {}).get("results") or []
    currencies = {org.get("PurchaseOrderCurrency") or "" for org in orgs}
    if len(currencies) > 1:
        return None
    return currencies.pop() if currencies else ""


class SapConnector(Connector):
    kind = "sap"
    vendor = "SAP S/4HANA"
    entities = (Entity.SUPPLIERS, Entity.PRODUCTS, Entity.STOCK, Entity.PURCHASE_ORDERS)

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.oauth: ClientCredentials | None = None
        if config.credentials.get("client_id"):
            scope = self.option("scope")
            self.oauth = ClientCredentials(
                self.http,
                str(self.option("token_url") or OAUTH_TOKEN_PATH),
                lambda: {"grant_type": "client_credentials", **({"scope": str(scope)} if scope else {})},
                issuer="SAP's OAuth 2.0 server",
                auth=httpx.BasicAuth(self.credential("client_id"), self.credential("client_secret")),
            )
        else:
            self._auth = httpx.BasicAuth(self.credential("username"), self.credential("password"))
        self._csrf: str | None = None

    async def _send(self, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
        """A call with the communication user's basic authentication, or a bearer token renewed once on 401."""
        if self.oauth is None:
            return await self.http.request(method, url, auth=self._auth, headers=headers, **kwargs)
        return await self.oauth.send(method, url, headers=headers, **kwargs)

    async def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self._send("GET", url, {"Accept": "application/json"}, params=params)
        self._raise_for(response)
        try:
            payload: dict[str, Any] = response.json()["d"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConnectorProtocolError(f"SAP answered {url} without an OData v2 'd' object") from exc
        return payload

    def _raise_for(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            message = response.json()["error"]["message"]["value"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        if response.status_code == 401:
            who = "the OAuth 2.0 access token" if self.oauth is not None else "the communication user's credentials"
            raise ConnectorAuthError(f"SAP refused {who} (HTTP 401): {message}")
        if response.status_code == 403:
            raise ConnectorAuthError(f"SAP refused access (HTTP 403): {message}")
        raise ConnectorProtocolError(f"SAP answered HTTP {response.status_code}: {message}")

    async def _changed(
        self, url: str, params: dict[str, str], marker: str, cursor: dict[str, Any] | None, literal: str
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str | None]]:
        """Follow ``__next`` from the first page; yields (rows, the last row's change marker)."""
        since = (cursor or {}).get(marker)
        filters = [params.pop("$filter")] if "$filter" in params else []
        if since:
            filters.append(f"{marker} ge {literal}'{since.rstrip('Z') if literal == 'datetime' else since}'")
        query = {**params, "$format": "json", "$orderby": f"{marker},{params.pop('key')}"}
        if filters:
            query["$filter"] = " and ".join(filters)
        next_url: str | None = f"{url}?{urlencode(query)}"
        while next_url:
            data = await self._get(next_url)
            rows = data.get("results") or []
            if rows:
                yield rows, _iso(rows[-1].get(marker))
            next_url = data.get("__next")

    async def pull(self, entity: Entity, cursor: dict[str, Any] | None) -> AsyncIterator[Page]:
        if entity == Entity.PRODUCTS:
            params = {"key": "Product", "$expand": "to_Description"}
            async for rows, last in self._changed(PRODUCTS, params, "LastChangeDateTime", cursor, "datetimeoffset"):
                yield Page([self._product(r) for r in rows], {"LastChangeDateTime": last} if last else None)
        elif entity == Entity.SUPPLIERS:
            params = {
                "key": "BusinessPartner",
                "$expand": "to_BusinessPartnerAddress,to_Supplier/to_SupplierPurchasingOrg",
                "$filter": "Supplier ne ''",
            }
            async for rows, last in self._changed(PARTNERS, params, "LastChangeDate", cursor, "datetime"):
                yield Page([self._supplier(r) for r in rows], {"LastChangeDate": last} if last else None)
        elif entity == Entity.PURCHASE_ORDERS:
            params = {"key": "PurchaseOrder", "$expand": "to_PurchaseOrderItem,to_PurchaseOrderItem/to_ScheduleLine"}
            async for rows, last in self._changed(ORDERS, params, "LastChangeDateTime", cursor, "datetimeoffset"):
                yield Page([self._order(r) for r in rows], {"LastChangeDateTime": last} if last else None)
        elif entity == Entity.STOCK:
            async for page in self._stock():
                yield page

    def _product(self, r: dict[str, Any]) -> SourceRecord:
        descriptions = (r.get("to_Description") or {}).get("results") or []
        language = str(self.option("language", "EN"))
        name = next((d.get("ProductDescription") for d in descriptions if d.get("Language") == language), None)
        fields = {
            "sku": r.get("Product"),
            "name": name,
            "uom": r.get("BaseUnit"),
            "active": not r.get("IsMarkedForDeletion", False),
        }
        return SourceRecord(str(r.get("Product") or ""), fields, r)

    def _supplier(self, r: dict[str, Any]) -> SourceRecord:
        addresses = (r.get("to_BusinessPartnerAddress") or {}).get("results") or []
        fields = {
            "code": r.get("Supplier"),
            "name": r.get("BusinessPartnerFullName"),
            "country": addresses[0].get("Country") or None if addresses else None,
            "currency": _purchase_currency(r),
            "active": not r.get("BusinessPartnerIsBlocked", False),
        }
        return SourceRecord(str(r.get("Supplier") or r.get("BusinessPartner") or ""), fields, r)

    def _order(self, r: dict[str, Any]) -> SourceRecord:
        items = (r.get("to_PurchaseOrderItem") or {}).get("results") or []
        live = [i for i in items if not i.get("PurchasingDocumentDeletionCode")]
        lines = []
        numbers = line_numbers([int(item.get("PurchaseOrderItem") or 0) for item in items], 10)
        for item, line_no in zip(items, numbers, strict=True):
            quantity, price, per = (
                decimal_or_none(item.get("OrderQuantity")),
                decimal_or_none(item.get("NetPriceAmount")),
                decimal_or_none(item.get("NetPriceQuantity")) or Decimal(1),
            )
            lines.append(
                {
                    "line_no": line_no,
                    "product_external_id": item.get("Material"),
                    "quantity": quantity,
                    "uom": item.get("PurchaseOrderQuantityUnit"),
                    "unit_price": price / per if price is not None else None,
                    "received_quantity": quantity if item.get("IsCompletelyDelivered") else 0,
                    # A deleted item delivers nothing more: what it did not deliver is cancelled.
                    "cancelled_quantity": quantity
                    if item.get("PurchasingDocumentDeletionCode") and not item.get("IsCompletelyDelivered")
                    else 0,
                }
            )
        if items and not live:
            status = PurchaseOrderStatus.CANCELLED.value
        elif r.get("PurchasingProcessingStatus") != "05":  # 05: released
            status = PurchaseOrderStatus.DRAFT.value
        elif live and all(i.get("IsCompletelyDelivered") for i in live):
            status = PurchaseOrderStatus.RECEIVED.value
        elif any(i.get("IsCompletelyDelivered") for i in live):
            status = PurchaseOrderStatus.PARTIALLY_RECEIVED.value
        else:
            status = PurchaseOrderStatus.ISSUED.value
        # The order is expected when its first live schedule line is due (as Odoo's date_planned, the
        # earliest of its lines'); an order without schedule lines has no date.
        due = [
            moment
            for item in live
            for schedule in (item.get("to_ScheduleLine") or {}).get("results") or []
            if (moment := parse_v2_date(schedule.get("ScheduleLineDeliveryDate"))) is not None
        ]
        fields = {
            "number": r.get("PurchaseOrder"),
            "chainsight_number": r.get("CorrespncInternalReference") or None,
            "supplier_external_id": r.get("Supplier"),
            "warehouse_code": (items[0].get("Plant") if items else None),
            "currency": r.get("DocumentCurrency"),
            "expected_date": min(due).date().isoformat() if due else None,
            "ordered_on": day.date().isoformat() if (day := parse_v2_date(r.get("PurchaseOrderDate"))) else None,
            "status": status,
            "lines": lines,
        }
        return SourceRecord(str(r.get("PurchaseOrder") or ""), fields, r)

    async def _stock(self) -> AsyncIterator[Page]:
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        query = {"$format": "json", "$filter": "InventoryStockType eq '01'", "$orderby": "Material,Plant"}
        next_url: str | None = f"{STOCK}?{urlencode(query)}"
        while next_url:
            data = await self._get(next_url)
            for row in data.get("results") or []:
                quantity = decimal_or_none(row.get("MatlWrhsStkQtyInMatlBaseUnit")) or Decimal(0)
                totals[(str(row.get("Material")), str(row.get("Plant")))] += quantity
            next_url = data.get("__next")
        records = [
            SourceRecord(
                f"{material}@{plant}",
                {"product_external_id": material, "warehouse_code": plant, "quantity": quantity},
                {"Material": material, "Plant": plant, "quantity": str(quantity)},
            )
            for (material, plant), quantity in sorted(totals.items())
        ]
        for start in range(0, len(records), self.config.page_size):
            yield Page(records[start : start + self.config.page_size])

    async def _fetch_csrf(self) -> str:
        response = await self._send("GET", f"{PO_SERVICE}/", {"x-csrf-token": "Fetch", "Accept": "application/json"})
        self._raise_for(response)
        token = response.headers.get("x-csrf-token")
        if not token:
            raise ConnectorProtocolError("SAP did not return an x-csrf-token on the fetch request")
        return token

    @staticmethod
    def _schedule(order: PushOrder, quantity: Decimal) -> dict[str, Any]:
        """The item's one schedule line, due on the order's expected date (none without a date: SAP's default)."""
        if order.expected_date is None:
            return {}
        due = datetime.combine(order.expected_date, time(), UTC)
        line = {
            "ScheduleLine": "1",
            "ScheduleLineDeliveryDate": v2_date(due),
            "ScheduleLineOrderQuantity": f"{quantity:f}",
        }
        return {"to_ScheduleLine": {"results": [line]}}

    async def push_purchase_order(self, order: PushOrder) -> str:
        # "Our Reference" (12 characters) carries the Chainsight number: pushed again after an answer was lost
        # (a timeout once SAP had created it), the order SAP holds for it is the answer, not a second one.
        reference = order.number if len(order.number) <= 12 else None
        if reference is not None:
            wanted = (
                f"CorrespncInternalReference eq {quote(reference)} and Supplier eq {quote(order.supplier_external_id)}"
            )
            found = (await self._get(f"{ORDERS}?{urlencode({'$format': 'json', '$filter': wanted})}")).get("results")
            if found:
                return str(found[0]["PurchaseOrder"])
        body = {
            **({"CorrespncInternalReference": reference} if reference else {}),
            "PurchaseOrderType": str(self.option("purchase_order_type", "NB")),
            "CompanyCode": str(self.option("company_code", "1010")),
            "PurchasingOrganization": str(self.option("purchasing_organization", "1010")),
            "PurchasingGroup": str(self.option("purchasing_group", "001")),
            "Supplier": order.supplier_external_id,
            "DocumentCurrency": order.currency,
            "to_PurchaseOrderItem": {
                "results": [
                    {
                        "PurchaseOrderItem": str(line.line_no * 10),
                        "Material": line.product_external_id,
                        "Plant": order.warehouse_code,
                        "OrderQuantity": f"{line.quantity:f}",
                        "PurchaseOrderQuantityUnit": line.uom,
                        "NetPriceAmount": f"{line.unit_price:f}",
                        "NetPriceQuantity": "1",
                        "DocumentCurrency": order.currency,
                        **self._schedule(order, line.quantity),
                    }
                    for line in order.lines
                ]
            },
        }
        for attempt in (1, 2):
            if self._csrf is None:
                self._csrf = await self._fetch_csrf()
            response = await self._send(
                "POST", ORDERS, {"x-csrf-token": self._csrf, "Accept": "application/json"}, json=body, idempotent=False
            )
            if response.status_code == 403 and response.headers.get("x-csrf-token", "").lower() == "required":
                self._csrf = None  # expired with the session: fetch a new one, once
                if attempt == 1:
                    continue
            self._raise_for(response)
            try:
                return str(response.json()["d"]["PurchaseOrder"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ConnectorProtocolError("SAP created the purchase order but returned no PurchaseOrder") from exc
        raise ConnectorProtocolError("SAP kept refusing the CSRF token")
