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
  one table with ``LEFT JOIN ... ON a.x = b.y``; ``WHERE`` with ``AND``, ``OR`` and parentheses over ``IN``,
  ``IS NULL`` and ``=``/``>``/``<`` against a string, a number or ``TO_TIMESTAMP(...)`` (a null column
  compares true with nothing), applied before ``GROUP BY``; ``ORDER BY``, nulls last. Unknown tables or columns
  and anything else answer 400 ``INVALID_PARAMETER`` ("Invalid search query"), as NetSuite does.
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

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import jwt

from tests.support.fakes.base import FakeServer, Request, Response

# Re-exported: tests and benches import the fake account and its data from here.
from tests.support.fakes.netsuite_data import populate as populate
from tests.support.fakes.netsuite_data import rsa_key as rsa_key
from tests.support.fakes.netsuite_data import signing_key_pem as signing_key_pem
from tests.support.fakes.netsuite_suiteql import SCHEMA, QueryError, run_query

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
RECORD_PATH = "/services/rest/record/v1"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


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


class FakeNetSuite(FakeServer):
    vendor = "netsuite"

    def __init__(self, client_id: str = "ns-client", certificate_id: str = "cert-1", public_key: Any = None) -> None:
        super().__init__()
        self.certificates: dict[str, tuple[str, Any]] = {}
        if public_key is not None:
            self.certificates[certificate_id] = (client_id, public_key)
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMA}
        self.queries: list[str] = []
        self.made: dict[str, Any] = {}  # what populate() created, by role
        self._after_query: tuple[Callable[[str], bool], Callable[[], None]] | None = None
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
        if not self.holds_bearer_token(request):
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
        form = request.form()
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
        token = self.issue_bearer_token(prefix="eyJ", nbytes=32)
        return Response(200, {"access_token": token, "expires_in": str(self.token_lifetime_s), "token_type": "bearer"})

    def after_query(self, matches: Callable[[str], bool], change: Callable[[], None]) -> None:
        """Runs ``change`` once, after answering the first query ``matches`` accepts (an edit between two pages)."""
        with self.lock:
            self._after_query = (matches, change)

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
                rows = run_query(self.tables, query)
            except QueryError as exc:
                return ns_error(
                    400,
                    "Bad Request",
                    "INVALID_PARAMETER",
                    f"Invalid search query. Detailed unprocessed description follows. {exc}",
                )
            if self._after_query is not None and self._after_query[0](query):
                change, self._after_query = self._after_query[1], None
                change()
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
