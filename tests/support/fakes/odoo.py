"""A fake Odoo (17/18/19) speaking the external JSON-RPC API on /jsonrpc and the JSON-2 API on /json/2.

Implemented: ``common.authenticate`` (login + API key -> uid, or false), ``object.execute_kw`` with
``search_read`` (Polish-notation domains with '&', '|', '!', dotted many2one paths, operators = != > >= <
<= in not in; ``fields``, ``offset``, ``limit``, ``order``), ``fields_get`` (``allfields``, ``attributes``:
``type``) and ``create`` (including one2many ``(0, 0, vals)`` commands for purchase order lines; as an RPC
create in Odoo, an order without ``currency_id`` is in the company's currency, a line without a unit in the
product's purchase unit ``uom_po_id``). Each model has the fields of ``FIELDS``: a read or a create naming
another is refused with ``ValueError`` "Invalid field", as Odoo refuses it, and a field a record does not hold
reads as Odoo's empty value (0 for a number, else false). ``version`` 19 names the order line's unit
``product_uom_id`` (renamed from ``product_uom`` in saas~18.1) and is the only one with JSON-2. Records carry
``write_date`` as Odoo returns it ("YYYY-MM-DD HH:MM:SS", UTC) and many2one fields as ``[id, display_name]``
or ``false``. Errors are JSON-RPC error objects with HTTP 200 (``odoo.exceptions.AccessDenied``,
``ValueError`` for unknown fields), as Odoo answers; throttling is HTTP 429 with Retry-After, as Odoo.sh's
proxy answers. ``read`` and ``exists`` of ids and record rules (``hidden``): ``tests.support.fakes.odoo_access``.

JSON-2 (Odoo 19+): ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <api key>`` (401
``werkzeug.exceptions.Unauthorized`` "Invalid apikey" otherwise), optional ``X-Odoo-Database``, and the
parameters by name (``search_read``: ``domain``, ``fields``, ``order``, ``offset``, ``limit``;
``fields_get``: ``allfields``, ``attributes``; ``create``: ``vals_list`` -> a list of ids; ``context``
accepted). The body of a success is the return value; an error is a 4xx with ``{"name", "message",
"arguments", "context", "debug"}`` (403 for access errors, 422 for the rest, 422 with a JSON string for an
unexpected parameter). An older version answers /json/2 with 404, as Odoo 18 has no such route.
"""

from __future__ import annotations

import operator
from typing import Any

from tests.support.fakes import odoo_access
from tests.support.fakes.base import FakeServer, Request, Response
from tests.support.fakes.odoo_access import OdooError

# Re-exported: tests and benches import the fake database and its data from here.
from tests.support.fakes.odoo_data import populate as populate

_OPS = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}

# Each model's fields and their types, as ``fields_get`` names them (besides the magic ones), purchase.order.line's
# unit apart: its name is the version's (``FakeOdoo.line_unit``).
_MAGIC = {"id": "integer", "display_name": "char", "create_date": "datetime", "write_date": "datetime"}
FIELDS: dict[str, dict[str, str]] = {
    "res.currency": {"name": "char"},
    "uom.uom": {"name": "char"},
    "res.partner": {"name": "char", "ref": "char", "email": "char", "country_code": "char", "supplier_rank": "integer",
                    "property_purchase_currency_id": "many2one", "tz": "selection", "active": "boolean"},
    "stock.warehouse": {"code": "char", "name": "char", "partner_id": "many2one"},
    "stock.location": {"name": "char", "usage": "selection"},
    "stock.picking.type": {"name": "char", "code": "selection", "warehouse_id": "many2one"},
    "stock.quant": {"product_id": "many2one", "warehouse_id": "many2one", "location_id": "many2one",
                    "quantity": "float"},
    "product.product": {"default_code": "char", "name": "char", "uom_id": "many2one", "uom_po_id": "many2one",
                        "standard_price": "float", "active": "boolean"},
    "purchase.order": {"name": "char", "origin": "char", "partner_id": "many2one", "currency_id": "many2one",
                       "date_planned": "datetime", "date_order": "datetime", "date_approve": "datetime",
                       "state": "selection", "picking_type_id": "many2one", "order_line": "one2many"},
    "purchase.order.line": {"order_id": "many2one", "sequence": "integer", "name": "text", "display_type": "selection",
                            "product_id": "many2one", "product_qty": "float", "price_unit": "float",
                            "discount": "float", "qty_received": "float"},
}  # fmt: skip
_EMPTY = {"integer": 0, "float": 0.0}

# many2one fields the fake can follow in dotted domain paths
RELATIONS = {
    ("stock.quant", "location_id"): "stock.location",
    ("purchase.order", "picking_type_id"): "stock.picking.type",
}


class FakeOdoo(FakeServer):
    vendor = "odoo"

    def __init__(
        self, database: str = "prod", login: str = "sync@example.com", api_key: str = "odoo-key", version: int = 18
    ) -> None:
        super().__init__()
        self.database = database
        self.version = version
        # purchase.order.line's unit field: renamed in saas~18.1, so 19.0 has product_uom_id only.
        self.line_unit = "product_uom_id" if version >= 19 else "product_uom"
        self.users = {login: (2, api_key)}
        # What every Odoo database holds before any import: currencies (EUR the company's; others active as a
        # company that buys in them has them) and units of measure, by the ids the sample data names.
        self.models: dict[str, dict[int, dict[str, Any]]] = {
            "res.currency": {i: {"id": i, "name": n} for i, n in ((1, "EUR"), (2, "USD"), (4, "JPY"))},
            "uom.uom": {i: {"id": i, "name": n} for i, n in ((1, "Units"), (2, "Dozens"), (12, "kg"), (40, "Crate"))},
        }
        self.company_currency_id = 1
        # Record rules: per model, the ids the API user may not see (``tests.support.fakes.odoo_access``).
        self.hidden: dict[str, set[int]] = {}
        self._next_id = 100

    # --- data -------------------------------------------------------------------------------------------------

    def stamp(self) -> str:
        # Kept with microseconds, as Odoo's column is; answered cut to the second (``_search_read``), as Odoo's
        # JSON does, and compared as stored: Odoo 17/18 compare a domain's datetime string as given.
        return self.clock.tick().replace(microsecond=500_000).strftime("%Y-%m-%d %H:%M:%S.%f")

    def put(self, model: str, values: dict[str, Any], record_id: int | None = None) -> int:
        """Create or update a record, bumping write_date as Odoo's ORM does."""
        with self.lock:
            table = self.models.setdefault(model, {})
            if record_id is None:
                self._next_id += 1
                record_id = self._next_id
            record = table.setdefault(record_id, {"id": record_id})
            record.update(values)
            record["write_date"] = self.stamp()
            return record_id

    def put_many(self, model: str, rows: list[dict[str, Any]], write_date: str | None = None) -> list[int]:
        """Bulk import: one write_date for all rows (as an import does)."""
        with self.lock:
            stamp = write_date or self.stamp()
            table = self.models.setdefault(model, {})
            ids = []
            for values in rows:
                self._next_id += 1
                table[self._next_id] = {"id": self._next_id, **values, "write_date": stamp}
                ids.append(self._next_id)
            return ids

    def fields(self, model: str) -> dict[str, str]:
        """The model's fields and their types in this version."""
        unit = {self.line_unit: "many2one"} if model == "purchase.order.line" else {}
        return {**_MAGIC, **FIELDS.get(model, {}), **unit}

    def name_of(self, model: str, record_id: int) -> list[Any]:
        record = self.models[model][record_id]
        return [record_id, record.get("name") or record.get("display_name") or str(record_id)]

    # --- protocol ---------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path.startswith("/json/2/") and self.version >= 19:
            return self._json2(request)
        if request.method != "POST" or request.path != "/jsonrpc":
            return Response(404, "<html><title>404: Not Found</title></html>", {"Content-Type": "text/html"})
        call = request.json()
        call_id = call.get("id")
        params = call.get("params") or {}
        try:
            result = self._call(params.get("service"), params.get("method"), params.get("args") or [])
        except OdooError as exc:
            return Response(200, {"jsonrpc": "2.0", "id": call_id, "error": exc.body()})
        return Response(200, {"jsonrpc": "2.0", "id": call_id, "result": result})

    def _json2(self, request: Request) -> Response:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        database = request.headers.get("x-odoo-database", self.database)
        if scheme.lower() != "bearer" or database != self.database or not any(k == key for _, k in self.users.values()):
            return Response(401, OdooError("werkzeug.exceptions.Unauthorized", "Invalid apikey").json2(401))
        model, _, method = request.path[len("/json/2/") :].partition("/")
        body = request.json() or {}
        allowed = {
            "search_read": {"domain", "fields", "order", "offset", "limit"},
            "fields_get": {"allfields", "attributes"},
            "create": {"vals_list"},
            "read": {"fields"},
            "exists": set(),
        }
        unexpected = set(body) - allowed.get(method, set()) - {"context", "ids"}
        if unexpected:
            return Response(422, f"got an unexpected keyword argument {sorted(unexpected)[0]!r}")
        try:
            if method == "create":
                return Response(
                    200, [self._execute(model, "create", [vals], {}) for vals in body.get("vals_list") or []]
                )
            kwargs = {k: v for k, v in body.items() if k not in ("domain", "context", "ids")}
            return Response(200, self._execute(model, method, [body.get("ids", body.get("domain", []))], kwargs))
        except OdooError as exc:
            status = 403 if exc.name.endswith(("AccessDenied", "AccessError")) else 422
            return Response(status, exc.json2(status))

    def _call(self, service: str | None, method: str | None, args: list[Any]) -> Any:
        if service == "common" and method in ("authenticate", "login"):
            db, login, password = args[0], args[1], args[2]
            user = self.users.get(login)
            if db != self.database or user is None or user[1] != password:
                return False
            return user[0]
        if service == "object" and method == "execute_kw":
            db, uid, password, model, model_method = args[:5]
            positional = args[5] if len(args) > 5 else []
            keywords = args[6] if len(args) > 6 else {}
            if db != self.database or not any(u == (uid, password) for u in self.users.values()):
                raise OdooError("odoo.exceptions.AccessDenied", "Access Denied")
            return self._execute(model, model_method, positional, keywords)
        raise OdooError("werkzeug.exceptions.NotFound", f"unknown service/method {service}.{method}")

    def _execute(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        with self.lock:
            if model not in self.models and model not in FIELDS:
                raise OdooError("builtins.KeyError", model)
            if method == "search_read":
                domain = args[0] if args else kwargs.get("domain", [])
                return self._search_read(model, domain, kwargs)
            if method == "fields_get":
                return self._fields_get(model, kwargs.get("allfields"), kwargs.get("attributes"))
            if method == "create":
                return self._create(model, args[0])
            if method == "read":
                return odoo_access.read(self, model, args[0], kwargs.get("fields", args[1] if len(args) > 1 else []))
            if method == "exists":
                return odoo_access.exists(self, model, args[0])
        raise OdooError("builtins.AttributeError", f"The method '{method}' does not exist on the model '{model}'")

    def _fields_get(self, model: str, allfields: list[str] | None, attributes: list[str] | None) -> dict[str, Any]:
        # As Odoo: a name in ``allfields`` the model lacks is left out, not refused.
        return {
            name: {"type": kind} if attributes is None or "type" in attributes else {}
            for name, kind in self.fields(model).items()
            if not allfields or name in allfields
        }

    def _known(self, model: str, names: Any) -> None:
        """Refuses a field the model lacks, as Odoo's read and create do."""
        known = self.fields(model)
        for name in names:
            if name not in known:
                raise OdooError("builtins.ValueError", f"Invalid field {name!r} on {model!r}")

    def _search_read(self, model: str, domain: list[Any], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        fields = kwargs.get("fields") or []
        self._known(model, fields)
        types = self.fields(model)
        rows = [r for r in self.models.get(model, {}).values() if self._matches(model, r, domain)]
        rows = [r for r in rows if odoo_access.visible(self, model, r)]  # record rules apply to the search
        if not any(leaf[0] == "active" for leaf in domain if isinstance(leaf, list)):
            rows = [r for r in rows if r.get("active", True)]
        for part in reversed((kwargs.get("order") or "id").split(",")):
            name, _, direction = part.strip().partition(" ")
            rows.sort(key=lambda r, n=name: (r.get(n) is None, r.get(n)), reverse=direction.lower() == "desc")
        offset, limit = kwargs.get("offset", 0), kwargs.get("limit")
        rows = rows[offset : offset + limit if limit else None]
        return [
            {"id": r["id"], **{f: _answered(f, r.get(f, _EMPTY.get(types[f], False))) for f in fields}} for r in rows
        ]

    def _value(self, model: str, record: dict[str, Any], path: str) -> Any:
        head, _, rest = path.partition(".")
        value = record.get(head, False)
        if not rest:
            return value[0] if isinstance(value, list) and head != "id" else value
        if not value:
            return False
        related = RELATIONS[(model, head)]
        return self._value(related, self.models[related][value[0]], rest)

    def _matches(self, model: str, record: dict[str, Any], domain: list[Any]) -> bool:
        def parse(items: list[Any], i: int) -> tuple[bool, int]:
            item = items[i]
            if item == "&" or item == "|":
                left, j = parse(items, i + 1)
                right, k = parse(items, j)
                return (left and right) if item == "&" else (left or right), k
            if item == "!":
                value, j = parse(items, i + 1)
                return not value, j
            field_name, op, expected = item
            actual = self._value(model, record, field_name)
            if actual is False and op not in ("=", "!=", "in", "not in"):
                return False, i + 1
            return bool(_OPS[op](actual, expected)), i + 1

        result, i = True, 0
        while i < len(domain):  # implicit '&' between top-level terms
            value, i = parse(domain, i)
            result = result and value
        return result

    def _create(self, model: str, values: dict[str, Any]) -> int:
        self._known(model, values)
        for command in values.get("order_line") or []:
            self._known("purchase.order.line", command[2] if len(command) > 2 else {})
        values = dict(values)
        lines = values.pop("order_line", None)
        for key, related in (("partner_id", "res.partner"), ("product_id", "product.product")):
            if key in values:
                values[key] = self.name_of(related, values[key])
        if model == "purchase.order":
            # As Odoo's _default_picking_type: without one, the first receipt type (the company's first warehouse).
            receipts = sorted(
                t["id"] for t in self.models.get("stock.picking.type", {}).values() if t["code"] == "incoming"
            )
            picking = values.get("picking_type_id") or (receipts[0] if receipts else None)
            values["picking_type_id"] = self.name_of("stock.picking.type", picking) if picking else False
            values.setdefault("state", "draft")
            # An RPC create runs no onchange: without one, the company's currency, whatever the vendor's.
            values["currency_id"] = self.name_of("res.currency", values.get("currency_id") or self.company_currency_id)
            values["name"] = f"P{self._next_id + 1:05d}"
        order_id = self.put(model, values)
        for command in lines or []:
            if command[0] != 0:
                raise OdooError("builtins.ValueError", f"unsupported one2many command {command[0]}")
            line = dict(command[2])
            product = self.models["product.product"][line["product_id"]]
            line["product_id"] = self.name_of("product.product", line["product_id"])
            # As Odoo 17/18's _product_id_change: without one, the product's purchase unit (uom_po_id), which may
            # differ from its stock unit (uom_id).
            unit = line.get(self.line_unit)
            line[self.line_unit] = (
                self.name_of("uom.uom", unit) if unit else product.get("uom_po_id") or product["uom_id"]
            )
            line.setdefault("qty_received", 0.0)
            self.put("purchase.order.line", {**line, "order_id": [order_id, values.get("name")]})
        return order_id

    def orders_with_lines(self) -> list[dict[str, Any]]:
        with self.lock:
            lines = self.models.get("purchase.order.line", {}).values()
            return [
                {**order, "lines": [line for line in lines if line["order_id"][0] == order["id"]]}
                for order in self.models.get("purchase.order", {}).values()
            ]


def _answered(field: str, value: Any) -> Any:
    return value[:19] if field == "write_date" and isinstance(value, str) else value
