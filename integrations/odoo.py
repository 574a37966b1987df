"""Odoo through its external JSON-RPC API (``POST /jsonrpc``), authenticated with a user's API key.

``common.authenticate(db, login, api_key, {})`` gives the uid; every read is ``object.execute_kw(db, uid,
api_key, model, 'search_read', [domain], {fields, order, limit})``. Incremental reads filter on
``write_date >= cursor`` ordered by ``write_date, id`` and page by keyset (``write_date > w OR (write_date = w
AND id > i)`` after a page ending at ``(w, i)``); the cursor after each page is the page's last ``write_date``
(re-reading the boundary second is harmless: unchanged records cost no write). Stock is a snapshot of
internal ``stock.quant`` summed per product and warehouse, paged by id.

With option ``protocol: "json2"`` (Odoo 19+, where JSON-RPC is deprecated) the same calls go to the
external JSON-2 API instead: ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <api key>``,
``X-Odoo-Database`` and the method's parameters by name (``domain``, ``fields``, ``order``, ``limit``; ``vals_list``
for ``create``, ``ids`` for ``read``). The answer is the method's return value itself; errors are 4xx/5xx with
``{"name", "message", "arguments", "context", "debug"}``. No ``authenticate`` round trip is needed.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from integrations import odoo_access
from integrations.connector import Connector
from integrations.errors import ConnectorAuthError, ConnectorProtocolError
from integrations.odoo_access import OdooAccessError
from integrations.odoo_paging import changed_pages
from integrations.odoo_values import PUSHED_ORIGIN, m2o_id, m2o_name, order_record, order_values, text
from integrations.records import ENTITY_ORDER, Entity, Page, PurchaseOrderStatus, PushOrder, SourceRecord

_ids = itertools.count(1)
# JSON-2 takes parameters by name: the names of the positional arguments this connector passes.
_JSON2_PARAMETERS = {"search_read": ("domain",), "create": ("vals_list",), "read": ("ids",)}
# purchase.order.line's unit: product_uom_id since saas~18.1 (so in 19.0), product_uom in 17.0 and 18.0; either name
# is refused where the other is the field ("Invalid field").
_LINE_UNIT_FIELDS = ("product_uom_id", "product_uom")


class OdooConnector(Connector):
    kind = "odoo"
    vendor = "Odoo"
    entities = ENTITY_ORDER  # all of them, in sync order

    _uid: int | None = None
    _line_unit: str | None = None

    async def _rpc(self, service: str, method: str, args: list[Any], *, idempotent: bool = True) -> Any:
        body: dict[str, Any] = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": args},
            "id": next(_ids),
        }
        response = await self.http.request("POST", "/jsonrpc", json=body, idempotent=idempotent)
        if response.status_code != 200:
            raise ConnectorProtocolError(f"Odoo answered HTTP {response.status_code} on /jsonrpc")
        try:
            payload = response.json()
        except ValueError as exc:
            raise ConnectorProtocolError("Odoo answered /jsonrpc with something that is not JSON") from exc
        if "error" in payload:
            data = payload["error"].get("data") or {}
            name, message = data.get("name", ""), data.get("message") or payload["error"].get("message")
            if name.endswith("AccessError"):  # access rights or record rules: the key was accepted
                raise OdooAccessError(f"Odoo refused the API user access: {message}")
            if name.endswith("AccessDenied"):
                raise ConnectorAuthError(f"Odoo refused the API key: {message}")
            raise ConnectorProtocolError(f"Odoo error {name}: {message}")
        return payload.get("result")

    async def _login(self) -> tuple[str, int, str]:
        database, key = str(self.option("database")), self.credential("api_key")
        if self._uid is None:
            uid = await self._rpc("common", "authenticate", [database, self.credential("username"), key, {}])
            if not uid:
                raise ConnectorAuthError(
                    f"Odoo refused the login of {self.credential('username')!r} on database {database!r}"
                )
            self._uid = int(uid)
        return database, self._uid, key

    async def _json2(
        self, model: str, method: str, args: list[Any], kwargs: dict[str, Any], *, idempotent: bool
    ) -> Any:
        body: dict[str, Any] = {**dict(zip(_JSON2_PARAMETERS.get(method, ()), args, strict=False)), **kwargs}
        if method == "create" and isinstance(body.get("vals_list"), dict):
            body["vals_list"] = [body["vals_list"]]
        headers = {
            "Authorization": f"bearer {self.credential('api_key')}",
            "X-Odoo-Database": str(self.option("database")),
            "User-Agent": "Chainsight",
        }
        url = f"/json/2/{model}/{method}"
        response = await self.http.request("POST", url, json=body, headers=headers, idempotent=idempotent)
        try:
            payload = response.json()
        except ValueError as exc:
            raise ConnectorProtocolError(f"Odoo answered {url} with something that is not JSON") from exc
        if response.status_code >= 400:
            error = payload if isinstance(payload, dict) else {"message": payload}
            name, message = str(error.get("name") or ""), error.get("message")
            if name.endswith("AccessError"):
                raise OdooAccessError(f"Odoo refused the API user access (HTTP {response.status_code}): {message}")
            if response.status_code in (401, 403) or name.endswith(("AccessDenied", "Unauthorized")):
                raise ConnectorAuthError(f"Odoo refused the API key (HTTP {response.status_code}): {message}")
            raise ConnectorProtocolError(f"Odoo error {name or response.status_code}: {message}")
        if method == "create" and isinstance(payload, list) and len(payload) == 1:
            return payload[0]  # create takes a list of values and returns a list of ids
        return payload

    async def execute_kw(
        self, model: str, method: str, args: list[Any], kwargs: dict[str, Any], *, idempotent: bool = True
    ) -> Any:
        if self.option("protocol", "jsonrpc") == "json2":
            return await self._json2(model, method, args, kwargs, idempotent=idempotent)
        database, uid, key = await self._login()
        return await self._rpc(
            "object", "execute_kw", [database, uid, key, model, method, args, kwargs], idempotent=idempotent
        )

    async def _line_unit_field(self) -> str:
        """The name of purchase.order.line's unit field in this Odoo, asked once per run (``fields_get``)."""
        if self._line_unit is None:
            found = await self.execute_kw(
                "purchase.order.line", "fields_get", [], {"allfields": list(_LINE_UNIT_FIELDS), "attributes": ["type"]}
            )
            named = [name for name in _LINE_UNIT_FIELDS if isinstance(found, dict) and name in found]
            if not named:
                raise ConnectorProtocolError(f"Odoo's purchase.order.line has no unit field ({found!r})")
            self._line_unit = named[0]
        return self._line_unit

    async def _changed(
        self, model: str, domain: list[Any], fields: list[str], cursor: dict[str, Any] | None
    ) -> AsyncIterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
        async for rows, after in changed_pages(self.execute_kw, model, domain, fields, cursor, self.config.page_size):
            yield rows, after

    async def pull(self, entity: Entity, cursor: dict[str, Any] | None) -> AsyncIterator[Page]:
        if entity == Entity.STOCK:
            async for page in self._stock():
                yield page
            return
        reader = {
            Entity.WAREHOUSES: self._warehouses,
            Entity.SUPPLIERS: self._suppliers,
            Entity.PRODUCTS: self._products,
            Entity.PURCHASE_ORDERS: self._orders,
        }[entity]
        async for page in reader(cursor):
            yield page

    async def _warehouses(self, cursor: dict[str, Any] | None) -> AsyncIterator[Page]:
        async for rows, after in self._changed("stock.warehouse", [], ["code", "name", "partner_id"], cursor):
            zones = await self._address_zones({pid for r in rows if (pid := m2o_id(r["partner_id"]))})
            yield _page(rows, after, partial(_warehouse, zones=zones))

    async def _address_zones(self, partner_ids: set[str]) -> dict[str, str]:
        """The time zone (``tz``) of each warehouse's address partner that has one: the warehouse's calendar."""
        if not partner_ids:
            return {}
        domain = [("id", "in", sorted(int(i) for i in partner_ids)), ("active", "in", [True, False])]
        rows = await self.execute_kw("res.partner", "search_read", [domain], {"fields": ["tz"]})
        return {str(r["id"]): r["tz"] for r in rows if text(r["tz"])}

    async def _suppliers(self, cursor: dict[str, Any] | None) -> AsyncIterator[Page]:
        domain = [("supplier_rank", ">", 0), ("active", "in", [True, False])]
        fields = ["ref", "name", "email", "country_code", "property_purchase_currency_id", "active"]
        async for rows, after in self._changed("res.partner", domain, fields, cursor):
            yield _page(rows, after, _supplier)

    async def _products(self, cursor: dict[str, Any] | None) -> AsyncIterator[Page]:
        fields = ["default_code", "name", "uom_id", "standard_price", "active"]
        async for rows, after in self._changed("product.product", [("active", "in", [True, False])], fields, cursor):
            yield _page(rows, after, _product)

    async def _stock(self) -> AsyncIterator[Page]:
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        raw: dict[tuple[str, str], list[int]] = defaultdict(list)
        last_id = 0
        while True:
            rows = await self.execute_kw(
                "stock.quant",
                "search_read",
                # Keyset on id: a quant deleted while the snapshot is read would shift an offset past another.
                [[("location_id.usage", "=", "internal"), ("id", ">", last_id)]],
                {
                    "fields": ["product_id", "warehouse_id", "quantity"],
                    "order": "id asc",
                    "limit": self.config.page_size,
                },
            )
            for r in rows:
                key = (m2o_id(r["product_id"]) or "", m2o_id(r["warehouse_id"]) or "")
                totals[key] += Decimal(str(r["quantity"]))
                raw[key].append(r["id"])
            if len(rows) < self.config.page_size:
                break
            last_id = rows[-1]["id"]
        records = [
            SourceRecord(
                f"{product}@{warehouse}",
                {"product_external_id": product, "warehouse_external_id": warehouse or None, "quantity": quantity},
                {"quant_ids": raw[(product, warehouse)], "quantity": str(quantity)},
            )
            for (product, warehouse), quantity in sorted(totals.items())
        ]
        for start in range(0, len(records), self.config.page_size):
            yield Page(records[start : start + self.config.page_size])

    async def _orders(self, cursor: dict[str, Any] | None) -> AsyncIterator[Page]:
        fields = [
            "name", "origin", "partner_id", "currency_id", "date_planned", "date_order", "date_approve", "state",
            "picking_type_id",
        ]  # fmt: skip
        warehouses: dict[int, str | None] = {}
        async for rows, after in self._changed("purchase.order", [], fields, cursor):
            unit = await self._line_unit_field()
            lines = await self.execute_kw(
                "purchase.order.line",
                "search_read",
                [[("order_id", "in", [r["id"] for r in rows])]],
                {
                    "fields": [
                        "order_id",
                        "sequence",
                        "product_id",
                        "product_qty",
                        unit,
                        "price_unit",
                        "discount",
                        "qty_received",
                        "display_type",
                    ],
                    "order": "order_id asc, sequence asc, id asc",
                },
            )
            lines = [line for line in lines if not line.get("display_type")]  # section and note rows: no goods
            types = {r["picking_type_id"][0] for r in rows if r["picking_type_id"]} - set(warehouses)
            if types:
                for t in await self.execute_kw(
                    "stock.picking.type", "search_read", [[("id", "in", sorted(types))]], {"fields": ["warehouse_id"]}
                ):
                    warehouses[t["id"]] = m2o_id(t["warehouse_id"])
            by_order: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for line in lines:
                by_order[line["order_id"][0]].append(line)
            records = [order_record(r, by_order[r["id"]], warehouses, unit) for r in rows]
            yield Page(records, after)

    async def gone_orders(self, known: Mapping[str, str]) -> dict[str, PurchaseOrderStatus] | None:
        """Odoo deletes only a draft or cancelled order (``unlink``), and tells no one: of ``known``, those it no
        longer holds are cancelled; one its record rules hide fails the step (``integrations.odoo_access``)."""
        return await odoo_access.gone_orders(self.execute_kw, known)

    async def push_purchase_order(self, order: PushOrder) -> str:
        origin = f"{PUSHED_ORIGIN}{order.number}"
        # Pushed again after an answer was lost (a timeout once Odoo had created it): the order it holds is the
        # answer, not a second one.
        done = await self.execute_kw(
            "purchase.order",
            "search_read",
            [[("origin", "=", origin), ("partner_id", "=", int(order.supplier_external_id))]],
            {"fields": ["id"], "limit": 1},
        )
        if done:
            return str(done[0]["id"])
        # Received where the order says: the warehouse's own receipt type. Without one Odoo takes the company's first
        # warehouse, and the next sync would move the Chainsight order there: refused instead.
        found = None
        if order.warehouse_external_id is not None:
            found = await self.execute_kw(
                "stock.picking.type",
                "search_read",
                [[("code", "=", "incoming"), ("warehouse_id", "=", int(order.warehouse_external_id))]],
                {"fields": ["id"], "limit": 1},
            )
        if not found:
            raise ConnectorProtocolError(
                f"Odoo has no receipt type (incoming) for warehouse {order.warehouse_code}: it would receive the order "
                "in another warehouse"
            )
        receipts = found[0]["id"]
        currency = await self.execute_kw(
            "res.currency", "search_read", [[("name", "=", order.currency)]], {"fields": ["id"], "limit": 1}
        )
        if not currency:
            raise ConnectorProtocolError(f"Odoo has no active currency {order.currency!r}")
        products = sorted({int(line.product_external_id) for line in order.lines})
        domain = [("id", "in", products), ("active", "in", [True, False])]
        stocked = await self.execute_kw("product.product", "search_read", [domain], {"fields": ["uom_id"]})
        units = {str(p["id"]): int(p["uom_id"][0]) for p in stocked if p["uom_id"]}
        if missing := [str(p) for p in products if str(p) not in units]:
            raise ConnectorProtocolError(f"Odoo has no product (or no unit for it) with id {', '.join(missing)}")
        values = order_values(order, origin, receipts, currency[0]["id"], units, await self._line_unit_field())
        created = await self.execute_kw("purchase.order", "create", [values], {}, idempotent=False)
        if not isinstance(created, int):
            raise ConnectorProtocolError(f"Odoo's purchase.order create returned {created!r}, not an id")
        return str(created)


def _page(
    rows: list[dict[str, Any]], after: dict[str, Any], fields: Callable[[dict[str, Any]], dict[str, Any]]
) -> Page:
    """A page of Odoo records as source records: each under its Odoo id, with our ``fields`` of it and itself."""
    return Page([SourceRecord(str(r["id"]), fields(r), r) for r in rows], after)


def _warehouse(r: dict[str, Any], zones: dict[str, str]) -> dict[str, Any]:
    return {"code": text(r["code"]), "name": text(r["name"]), "timezone": zones.get(m2o_id(r["partner_id"]) or "")}


def _supplier(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": text(r["ref"]),
        "name": text(r["name"]),
        "email": text(r["email"]),
        "country": text(r["country_code"]),
        "currency": m2o_name(r["property_purchase_currency_id"]) or "",
        "active": r["active"],
    }


def _product(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": text(r["default_code"]),
        "name": text(r["name"]),
        "uom": m2o_name(r["uom_id"]),
        "unit_cost": r["standard_price"] if r["standard_price"] is not False else None,
        "active": r["active"],
    }
