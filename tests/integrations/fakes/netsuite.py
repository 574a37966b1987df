"""A fake NetSuite account: the OAuth 2.0 M2M token endpoint, SuiteQL and the purchase order record API.

Implemented:

- ``POST /services/rest/auth/oauth2/v1/token`` (form encoded) with ``grant_type=client_credentials`` and a
  JWT client assertion (``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``):
  the header's ``kid`` must name a registered certificate, the signature must verify against that
  certificate's public key with PS256/PS384/PS512/ES256/ES384/ES512, ``iss`` must be the client id the
  certificate is mapped to, ``aud`` the token endpoint, ``scope`` must include ``rest_webservices`` and
  ``exp - iat`` be at most an hour. Answers ``{"access_token", "expires_in": "3600", "token_type":
  "bearer"}``, or 400 ``{"error": "invalid_request" | "unsupported_grant_type" | "invalid_grant"}``.
  ``expire_tokens()`` revokes every access token: the API then answers 401 ``INVALID_LOGIN``.
- ``POST /services/rest/query/v1/suiteql`` with ``{"q": ...}``, the ``Prefer: transient`` header and
  ``limit`` (1-1000, default 1000) / ``offset`` query parameters, answering ``{"links", "count", "hasMore",
  "items", "offset", "totalResults"}`` with absolute ``self``/``first``/``prev``/``next``/``last`` links.
  Item values are strings (booleans ``"T"``/``"F"``), null columns are left out, each item has
  ``"links": []``. The SuiteQL understood is the subset the connector sends: ``SELECT`` of ``alias.column``,
  ``BUILTIN.DF(...)``, ``TO_CHAR(..., 'YYYY-MM-DD[ HH24:MI:SS]')`` and ``SUM(...)`` with ``AS``; ``FROM``
  one table with ``LEFT JOIN ... ON a.x = b.y``; ``WHERE`` conditions joined by ``AND``: ``=`` and ``IN``
  against literals, and the keyset ``(a.lastmodifieddate > TO_TIMESTAMP(...) OR (a.lastmodifieddate =
  TO_TIMESTAMP(...) AND a.id > n))``; ``GROUP BY``; ``ORDER BY``. Unknown tables or columns and anything
  else answer 400 ``INVALID_PARAMETER`` ("Invalid search query"), as NetSuite does.
- ``POST /services/rest/record/v1/purchaseOrder`` (``entity``, ``currency``, ``location``, ``dueDate``,
  ``externalId``, ``memo``, ``item.items[]`` with ``item``, ``quantity``, ``rate``, ``location``): 204 with
  the record's URL in ``Location``; 400 ``INVALID_CONTENT`` with ``o:errorPath`` for unknown references,
  ``DUP_RCRD`` for a repeated ``externalId``.
- Errors in NetSuite's body (``type``, ``title``, ``status``, ``o:errorDetails[{detail, o:errorCode}]``);
  throttling is 429 ``CONCURRENCY_LIMIT_EXCEEDED`` with ``Retry-After``.

``receive()`` posts an item receipt against an order: the order's lines get ``quantityshiprecv`` and its
status moves on, but its ``lastmodifieddate`` is left alone (the connector must notice the receipt itself).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import jwt

from tests.integrations.fakes.base import FakeServer, Request, Response

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
RECORD_PATH = "/services/rest/record/v1"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]

# The columns each table has (SuiteQL names are case-insensitive; these are the lower-case ones).
SCHEMA: dict[str, set[str]] = {
    "location": {"id", "name", "fullname", "isinactive", "mainaddress", "lastmodifieddate"},
    "locationmainaddress": {"nkey", "country", "city", "zip"},
    "vendor": {"id", "entityid", "companyname", "email", "isinactive", "lastmodifieddate"},
    "item": {"id", "itemid", "displayname", "itemtype", "stockunit", "cost", "isinactive", "lastmodifieddate"},
    "unitstypeuom": {"internalid", "unitname", "abbreviation"},
    "inventorybalance": {"item", "location", "binnumber", "quantityonhand", "quantityavailable"},
    "currency": {"id", "symbol", "name"},
    "transaction": {
        "id",
        "tranid",
        "type",
        "entity",
        "status",
        "currency",
        "duedate",
        "externalid",
        "memo",
        "lastmodifieddate",
    },
    "transactionline": {
        "id",
        "transaction",
        "linesequencenumber",
        "mainline",
        "item",
        "itemtype",
        "quantity",
        "rate",
        "units",
        "location",
        "quantityshiprecv",
        "isclosed",
        "createdfrom",
    },
}
# BUILTIN.DF(table.column): the referenced table, its key and the column shown.
DISPLAY = {
    ("item", "stockunit"): ("unitstypeuom", "internalid", "unitname"),
    ("transactionline", "units"): ("unitstypeuom", "internalid", "unitname"),
}
FORMATS = {"YYYY-MM-DD HH24:MI:SS": "%Y-%m-%d %H:%M:%S", "YYYY-MM-DD": "%Y-%m-%d"}

_QUERY = re.compile(
    r"^SELECT (?P<select>.+?) FROM (?P<table>\w+) (?P<alias>\w+)"
    r"(?P<joins>(?: LEFT JOIN \w+ \w+ ON \w+\.\w+ = \w+\.\w+)*)"
    r"(?: WHERE (?P<where>.+?))?(?: GROUP BY (?P<group>.+?))? ORDER BY (?P<order>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_JOIN = re.compile(r"LEFT JOIN (\w+) (\w+) ON (\w+)\.(\w+) = (\w+)\.(\w+)", re.IGNORECASE)
_COLUMN = re.compile(r"^(\w+)\.(\w+)$")
_EXPR = re.compile(
    r"^(?:(?P<fn>BUILTIN\.DF|SUM|TO_CHAR)\()?(?P<ref>\w+\.\w+)(?:, '(?P<fmt>[^']*)')?\)?(?: AS (?P<as>\w+))?$",
    re.IGNORECASE,
)
_EQ = re.compile(r"^(\w+\.\w+) = (?:'((?:[^']|'')*)'|(\d+))$")
_IN = re.compile(r"^(\w+\.\w+) IN \(((?:'[^']*'|\d+)(?:, (?:'[^']*'|\d+))*)\)$", re.IGNORECASE)
_KEYSET = re.compile(
    r"^\((\w+)\.lastmodifieddate > TO_TIMESTAMP\('([^']*)', '([^']*)'\) OR \(\1\.lastmodifieddate = "
    r"TO_TIMESTAMP\('\2', '\3'\) AND \1\.id > (\d+)\)\)$",
    re.IGNORECASE,
)


class QueryError(Exception):
    pass


def ns_error(status: int, title: str, code: str, detail: str, **extra: Any) -> Response:
    detail_item: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if "path" in extra:
        detail_item["o:errorPath"] = extra.pop("path")
    return Response(
        status,
        {
            "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
            "title": title,
            "status": status,
            "o:errorDetails": [detail_item],
        },
        extra.pop("headers", {}),
    )


def _split(text: str, separator: str) -> list[str]:
    """Split on a separator outside parentheses and quotes."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i].strip())
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:].strip())
    return parts


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return format(Decimal(str(value)).normalize(), "f")
    return str(value)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (2, "")
    if isinstance(value, datetime):
        return (0, value.timestamp())
    text = str(value)
    return (0, int(text)) if text.isdigit() else (1, text)


class FakeNetSuite(FakeServer):
    vendor = "netsuite"

    def __init__(self, client_id: str = "ns-client", certificate_id: str = "cert-1", public_key: Any = None) -> None:
        super().__init__()
        self.certificates: dict[str, tuple[str, Any]] = {}
        if public_key is not None:
            self.certificates[certificate_id] = (client_id, public_key)
        self.tokens: set[str] = set()
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMA}
        self.queries: list[str] = []
        self.made: dict[str, Any] = {}  # what populate() created, by role
        self._ids = 100

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    # --- data -------------------------------------------------------------------------------------------------

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    def put(self, table: str, values: dict[str, Any], record_id: int | None = None) -> dict[str, Any]:
        """Create or change a record (a new ``lastmodifieddate``, one second later than the last one)."""
        return self.put_many(table, [values], [record_id] if record_id else None)[0]

    def put_many(self, table: str, rows: list[dict[str, Any]], ids: list[int] | None = None) -> list[dict[str, Any]]:
        """Create or change records in one go: they share a ``lastmodifieddate`` (a CSV import, say)."""
        with self.lock:
            stamp = self.clock.tick().replace(tzinfo=None)
            made = []
            for n, values in enumerate(rows):
                record_id = ids[n] if ids else None
                record = next((r for r in self.tables[table] if record_id and r.get("id") == record_id), None)
                if record is None:
                    record = {"id": record_id or self.next_id()}
                    self.tables[table].append(record)
                record.update(values)
                if "lastmodifieddate" in SCHEMA[table]:
                    record["lastmodifieddate"] = stamp
                made.append(record)
            return made

    def add(self, table: str, values: dict[str, Any]) -> dict[str, Any]:
        """A row of a table without change tracking (addresses, units, balances, lines)."""
        with self.lock:
            self.tables[table].append(values)
            return values

    def lines(self, transaction: int) -> list[dict[str, Any]]:
        with self.lock:
            return [
                line
                for line in self.tables["transactionline"]
                if line["transaction"] == transaction and line["mainline"] == "F"
            ]

    def order(self, number: str) -> dict[str, Any]:
        with self.lock:
            return next(t for t in self.tables["transaction"] if t["type"] == "PurchOrd" and t["tranid"] == number)

    def receive(self, order_id: int, quantities: dict[int, Decimal]) -> dict[str, Any]:
        """An item receipt against an order: ``{line sequence number: quantity received now}``."""
        with self.lock:
            receipt = self.put("transaction", {"type": "ItemRcpt", "tranid": f"IR{order_id}", "status": "Y"})
            lines = self.lines(order_id)
            for seq, quantity in quantities.items():
                line = next(x for x in lines if x["linesequencenumber"] == seq)
                line["quantityshiprecv"] = Decimal(str(line.get("quantityshiprecv") or 0)) + quantity
                self.add(
                    "transactionline",
                    {
                        "id": seq,
                        "transaction": receipt["id"],
                        "linesequencenumber": seq,
                        "mainline": "F",
                        "item": line["item"],
                        "itemtype": line["itemtype"],
                        "quantity": quantity,
                        "location": line.get("location"),
                        "createdfrom": order_id,
                    },
                )
            done = all(Decimal(str(x.get("quantityshiprecv") or 0)) >= Decimal(str(x["quantity"])) for x in lines)
            order = next(t for t in self.tables["transaction"] if t["id"] == order_id)
            order["status"] = "F" if done else "D"  # Pending Bill / Partially Received; lastmodifieddate unchanged
            return receipt

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    # --- protocol ---------------------------------------------------------------------------------------------

    def throttled(self, retry_after: int) -> Response:
        return ns_error(
            429,
            "Too Many Requests",
            "CONCURRENCY_LIMIT_EXCEEDED",
            "Concurrent request limit exceeded. Request blocked.",
            headers={"Retry-After": str(retry_after)},
        )

    def handle(self, request: Request) -> Response:
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._token(request)
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return ns_error(
                401,
                "Unauthorized",
                "INVALID_LOGIN",
                "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > "
                "Users/Roles > User Management > View Login Audit Trail.",
            )
        if request.path == SUITEQL_PATH and request.method == "POST":
            return self._suiteql(request)
        if request.path == f"{RECORD_PATH}/purchaseOrder" and request.method == "POST":
            return self._create_order(request.json() or {})
        return ns_error(404, "Not Found", "NONEXISTENT_ID", f"The record type or path {request.path} does not exist.")

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type"})
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            return Response(400, {"error": "invalid_request"})
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
            client_id, public_key = self.certificates[header.get("kid", "")]
            claims = jwt.decode(
                assertion,
                public_key,
                algorithms=ALGORITHMS,
                audience=self.token_url,
                issuer=client_id,
                options={"require": ["iss", "aud", "exp", "iat", "scope"]},
            )
        except (jwt.PyJWTError, KeyError):
            return Response(400, {"error": "invalid_grant"})
        scope = claims["scope"]
        scopes = scope if isinstance(scope, list) else str(scope).split(",")
        if "rest_webservices" not in [s.strip() for s in scopes] or int(claims["exp"]) - int(claims["iat"]) > 3600:
            return Response(400, {"error": "invalid_grant"})
        token = "eyJ" + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens.add(token)
        return Response(200, {"access_token": token, "expires_in": str(self.token_lifetime_s), "token_type": "bearer"})

    # --- SuiteQL ----------------------------------------------------------------------------------------------

    def _suiteql(self, request: Request) -> Response:
        if "transient" not in request.headers.get("prefer", ""):
            return ns_error(
                400, "Bad Request", "INVALID_HEADER", "The request must contain the header Prefer: transient."
            )
        try:
            limit = int(request.query.get("limit", "1000"))
            offset = int(request.query.get("offset", "0"))
        except ValueError:
            return ns_error(400, "Bad Request", "INVALID_PARAMETER", "limit and offset must be integers.")
        if not 1 <= limit <= 1000 or offset < 0:
            return ns_error(400, "Bad Request", "INVALID_PARAMETER", "The limit must be between 1 and 1000.")
        query = str((request.json() or {}).get("q") or "")
        with self.lock:
            self.queries.append(query)
            try:
                rows = self._run(query)
            except QueryError as exc:
                return ns_error(
                    400,
                    "Bad Request",
                    "INVALID_PARAMETER",
                    f"Invalid search query. Detailed unprocessed description follows. {exc}",
                )
        page = rows[offset : offset + limit]
        link = f"{self.url}{SUITEQL_PATH}?limit={limit}&offset="
        links = [{"rel": "first", "href": f"{link}0"}]
        if offset > 0:
            links.append({"rel": "prev", "href": f"{link}{max(0, offset - limit)}"})
        if offset + limit < len(rows):
            links.append({"rel": "next", "href": f"{link}{offset + limit}"})
        links.append({"rel": "last", "href": f"{link}{max(0, (len(rows) - 1) // limit * limit)}"})
        links.append({"rel": "self", "href": f"{link}{offset}"})
        return Response(
            200,
            {
                "links": links,
                "count": len(page),
                "hasMore": offset + limit < len(rows),
                "items": [{"links": [], **row} for row in page],
                "offset": offset,
                "totalResults": len(rows),
            },
        )

    def _run(self, query: str) -> list[dict[str, str]]:
        match = _QUERY.match(" ".join(query.split()))
        if match is None:
            raise QueryError("Search error occurred: the query is not understood by this fake.")
        aliases = {match["alias"]: match["table"].lower()}
        joins = _JOIN.findall(match["joins"] or "")
        for table, alias, *_ in joins:
            aliases[alias] = table.lower()
        for table in aliases.values():
            if table not in SCHEMA:
                raise QueryError(f"Search error occurred: Record '{table}' was not found.")

        def column(ref: str) -> tuple[str, str]:
            found = _COLUMN.match(ref)
            if found is None or found[1] not in aliases:
                raise QueryError(f"Search error occurred: Invalid or unsupported search: {ref}")
            alias, name = found[1], found[2].lower()
            if name not in SCHEMA[aliases[alias]]:
                raise QueryError(f"Search error occurred: Field '{name}' for record '{aliases[alias]}' was not found.")
            return alias, name

        # FROM + LEFT JOINs
        contexts: list[dict[str, dict[str, Any] | None]] = [
            {match["alias"]: row} for row in self.tables[aliases[match["alias"]]]
        ]
        for table, alias, left_alias, left_col, right_alias, right_col in joins:
            if alias == left_alias:
                left_alias, left_col, right_alias, right_col = right_alias, right_col, left_alias, left_col
            column(f"{left_alias}.{left_col}")
            column(f"{right_alias}.{right_col}")
            for ctx in contexts:
                value = (ctx.get(left_alias) or {}).get(left_col.lower())
                ctx[alias] = next((r for r in self.tables[table.lower()] if r.get(right_col.lower()) == value), None)

        # WHERE
        for condition in _split(match["where"] or "", " AND ") if match["where"] else []:
            contexts = [ctx for ctx in contexts if self._test(condition, ctx, column)]

        # SELECT items
        items = []
        for item in _split(match["select"], ","):
            expr = _EXPR.match(item)
            if expr is None:
                raise QueryError(f"Search error occurred: Invalid or unsupported search: {item}")
            alias, name = column(expr["ref"])
            fn = (expr["fn"] or "").upper()
            if fn == "TO_CHAR" and expr["fmt"] not in FORMATS:
                raise QueryError(f"Search error occurred: invalid date format {expr['fmt']!r}")
            if fn == "BUILTIN.DF" and (aliases[alias], name) not in DISPLAY:
                raise QueryError(f"Search error occurred: {item} has no display value here")
            items.append((fn, alias, name, expr["fmt"], (expr["as"] or name).lower()))

        def value(ctx: dict[str, Any], fn: str, alias: str, name: str, fmt: str | None) -> Any:
            raw = (ctx.get(alias) or {}).get(name)
            if raw is None:
                return None
            if fn == "TO_CHAR":
                return raw.strftime(FORMATS[fmt or ""])
            if fn == "BUILTIN.DF":
                table, key, shown = DISPLAY[(aliases[alias], name)]
                target = next((r for r in self.tables[table] if r.get(key) == raw), None)
                return target.get(shown) if target else None
            return raw

        # GROUP BY with SUM
        if match["group"]:
            keys = [column(ref.strip()) for ref in match["group"].split(",")]
            groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
            for ctx in contexts:
                groups.setdefault(tuple((ctx.get(a) or {}).get(n) for a, n in keys), []).append(ctx)
            out = []
            for members in groups.values():
                row: dict[str, Any] = {}
                for fn, alias, name, fmt, label in items:
                    if fn == "SUM":
                        row[label] = sum(Decimal(str(value(c, "", alias, name, None) or 0)) for c in members)
                    elif (alias, name) in keys:
                        row[label] = value(members[0], fn, alias, name, fmt)
                    else:
                        raise QueryError(f"Search error occurred: {alias}.{name} is not a GROUP BY expression")
                row["__ctx"] = members[0]
                out.append(row)
        else:
            if any(fn == "SUM" for fn, *_ in items):
                raise QueryError("Search error occurred: SUM without GROUP BY")
            out = [
                {**{label: value(ctx, fn, a, n, fmt) for fn, a, n, fmt, label in items}, "__ctx": ctx}
                for ctx in contexts
            ]

        # ORDER BY (on the underlying columns)
        order = [column(ref.strip()) for ref in match["order"].split(",")]
        for alias, name in reversed(order):
            out.sort(key=lambda r, a=alias, n=name: _sort_key((r["__ctx"].get(a) or {}).get(n)))
        return [{k: t for k, v in r.items() if k != "__ctx" and (t := _text(v)) is not None} for r in out]

    def _test(self, condition: str, ctx: dict[str, Any], column: Any) -> bool:
        keyset = _KEYSET.match(condition)
        if keyset:
            alias = keyset[1]
            column(f"{alias}.lastmodifieddate")
            if keyset[3] not in FORMATS:
                raise QueryError(f"Search error occurred: invalid date format {keyset[3]!r}")
            try:
                since = datetime.strptime(keyset[2], FORMATS[keyset[3]])
            except ValueError as exc:
                raise QueryError(f"Search error occurred: {exc}") from exc
            row = ctx.get(alias) or {}
            stamp = row.get("lastmodifieddate")
            return stamp is not None and (stamp > since or (stamp == since and int(row["id"]) > int(keyset[4])))
        eq = _EQ.match(condition)
        if eq:
            alias, name = column(eq[1])
            wanted = eq[2].replace("''", "'") if eq[2] is not None else eq[3]
            return _text((ctx.get(alias) or {}).get(name)) == wanted
        inside = _IN.match(condition)
        if inside:
            alias, name = column(inside[1])
            values = {v.strip().strip("'") for v in inside[2].split(",")}
            return _text((ctx.get(alias) or {}).get(name)) in values
        raise QueryError(f"Search error occurred: Invalid or unsupported search condition: {condition}")

    # --- record API -------------------------------------------------------------------------------------------

    def _create_order(self, body: dict[str, Any]) -> Response:
        def ref(value: Any) -> int | None:
            return int(value["id"]) if isinstance(value, dict) and str(value.get("id", "")).isdigit() else None

        def bad(path: str, detail: str) -> Response:
            return ns_error(
                400, "Bad Request", "INVALID_CONTENT", f"Error while accessing a resource. {detail}", path=path
            )

        with self.lock:
            vendor = ref(body.get("entity"))
            if vendor is None or not any(v["id"] == vendor for v in self.tables["vendor"]):
                return bad(
                    "entity",
                    f"You have entered an Invalid Field Value {body.get('entity')} for the following field: entity",
                )
            currency = ref(body.get("currency"))
            if body.get("currency") is not None and not any(c["id"] == currency for c in self.tables["currency"]):
                return bad("currency", "You have entered an Invalid Field Value for the following field: currency")
            external = body.get("externalId")
            if external and any(t.get("externalid") == external for t in self.tables["transaction"]):
                return ns_error(
                    400, "Bad Request", "DUP_RCRD", f"A record with the external ID {external} already exists."
                )
            lines = ((body.get("item") or {}).get("items")) or []
            if not lines:
                return bad("item", "Please enter value(s) for: Items")
            made = []
            for n, line in enumerate(lines):
                item_id = ref(line.get("item"))
                item = next((i for i in self.tables["item"] if i["id"] == item_id), None)
                if item is None:
                    return bad(
                        f"item.items[{n}].item",
                        f"You have entered an Invalid Field Value {line.get('item')} for the following field: item",
                    )
                if not isinstance(line.get("quantity"), int | float) or line["quantity"] <= 0:
                    return bad(f"item.items[{n}].quantity", "Quantity must be greater than 0")
                made.append((n + 1, item, line))
            location = ref(body.get("location"))
            order = self.put(
                "transaction",
                {
                    "type": "PurchOrd",
                    "tranid": f"PO{len(self.tables['transaction']) + 1:05d}",
                    "entity": vendor,
                    "status": "B",
                    "currency": currency,
                    "duedate": datetime.fromisoformat(body["dueDate"]) if body.get("dueDate") else None,
                    "externalid": external,
                    "memo": body.get("memo"),
                },
            )
            self.add("transactionline", {"id": 0, "transaction": order["id"], "linesequencenumber": 0, "mainline": "T"})
            for seq, item, line in made:
                self.add(
                    "transactionline",
                    {
                        "id": seq,
                        "transaction": order["id"],
                        "linesequencenumber": seq,
                        "mainline": "F",
                        "item": item["id"],
                        "itemtype": item.get("itemtype"),
                        "quantity": Decimal(str(line["quantity"])),
                        "rate": Decimal(str(line.get("rate") or 0)),
                        "units": item.get("stockunit"),
                        "location": ref(line.get("location")) or location,
                        "quantityshiprecv": Decimal(0),
                        "isclosed": False,
                    },
                )
        return Response(204, None, {"Location": f"{self.url}{RECORD_PATH}/purchaseOrder/{order['id']}"})


def populate(fake: FakeNetSuite, *, items: int = 6, orders: int = 3) -> dict[str, Any]:
    """A small account: two locations, three vendors, items (one without an item id, one in crates), stock,
    orders in three states. Returns the records made, by role."""
    each = fake.add("unitstypeuom", {"internalid": 1, "unitname": "Each", "abbreviation": "ea"})
    kilo = fake.add("unitstypeuom", {"internalid": 2, "unitname": "Kilogram", "abbreviation": "kg"})
    crate = fake.add("unitstypeuom", {"internalid": 3, "unitname": "Crate", "abbreviation": "cr"})
    usd = fake.add("currency", {"id": 1, "symbol": "USD", "name": "US Dollar"})
    fake.add("currency", {"id": 2, "symbol": "EUR", "name": "Euro"})
    fake.add("locationmainaddress", {"nkey": 501, "country": "US", "city": "Austin"})
    fake.add("locationmainaddress", {"nkey": 502, "country": "US", "city": "Reno"})
    locations = [
        fake.put("location", {"name": "AUS", "fullname": "Austin DC", "isinactive": False, "mainaddress": 501}),
        fake.put("location", {"name": "RNO", "fullname": "Reno DC", "isinactive": False, "mainaddress": 502}),
    ]
    vendors = [
        fake.put(
            "vendor",
            {"entityid": f"VEND-{i}", "companyname": f"Vendor {i}", "email": f"v{i}@example.com", "isinactive": False},
        )
        for i in range(3)
    ]
    made = fake.put_many(  # an import: every item shares one lastmodifieddate
        "item",
        [
            {
                "itemid": "" if i == 0 else f"ITEM-{i:03d}",
                "displayname": f"Item {i}",
                "itemtype": "InvtPart",
                "stockunit": crate["internalid"] if i == 1 else (kilo if i % 2 else each)["internalid"],
                "cost": Decimal("2.50") + i,
                "isinactive": False,
            }
            for i in range(items)
        ],
    )
    good = made[2:]
    for item in made:
        for n, location in enumerate(locations):
            for bin_number in (1, 2):  # two bins per location: summed per item and location
                fake.add(
                    "inventorybalance",
                    {
                        "item": item["id"],
                        "location": location["id"],
                        "binnumber": bin_number,
                        "quantityonhand": Decimal(5 * (n + 1)),
                    },
                )
    statuses = ["A", "B", "H"]  # Pending Supervisor Approval, Pending Receipt, Closed
    order_rows = []
    for i in range(orders):
        order = fake.put(
            "transaction",
            {
                "type": "PurchOrd",
                "tranid": f"PO{900 + i}",
                "entity": vendors[i % 3]["id"],
                "status": statuses[i % 3],
                "currency": usd["id"],
                "duedate": datetime(2026, 2, 10 + i),
            },
        )
        fake.add("transactionline", {"id": 0, "transaction": order["id"], "linesequencenumber": 0, "mainline": "T"})
        for j in range(2):
            item = good[(i + j) % len(good)]
            fake.add(
                "transactionline",
                {
                    "id": j + 1,
                    "transaction": order["id"],
                    "linesequencenumber": j + 1,
                    "mainline": "F",
                    "item": item["id"],
                    "itemtype": "InvtPart",
                    "quantity": Decimal(4 + j),
                    "rate": Decimal("3.25"),
                    "units": item["stockunit"],
                    "location": locations[i % 2]["id"],
                    "quantityshiprecv": Decimal(0),
                    "isclosed": statuses[i % 3] == "H",
                },
            )
        order_rows.append(order)
    fake.add(  # a tax line on the first order: not an item line
        "transactionline",
        {
            "id": 3,
            "transaction": order_rows[0]["id"],
            "linesequencenumber": 3,
            "mainline": "F",
            "itemtype": "TaxItem",
            "quantity": Decimal(1),
            "rate": Decimal("0.5"),
        },
    )
    fake.made = {"locations": locations, "vendors": vendors, "items": made, "orders": order_rows}
    return fake.made


def signing_key_pem(private_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
