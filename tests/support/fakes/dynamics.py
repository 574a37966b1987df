"""A fake Business Central API v2.0 (OData v4) behind a fake Microsoft identity platform token endpoint.

Implemented: ``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials`` (``invalid_client``
error body otherwise, its ``error_description`` ending as Microsoft's does, in lines of its own, with a Trace ID,
Correlation ID and Timestamp new on every request) issuing bearer tokens with ``expires_in``; ``expire_tokens()``
revokes them all so the API answers 401 ``Authentication_InvalidCredentials`` as BC does for expired tokens;
collection GETs on ``/api/v2.0/companies({id})/<entity>`` with ``$filter=lastModifiedDateTime ge <iso>``, ``$orderby``,
``$expand=purchaseOrderLines``, ``Prefer: odata.maxpagesize`` (echoed in ``Preference-Applied``) and
``@odata.nextLink`` with ``$skiptoken``; ``$filter=[orderId eq <id> or ]orderNumber eq '<number>'`` on posted
``purchaseInvoices`` (the invoices of an order); ``delete`` removes a record as BC deletes an order, leaving no
trace for a reader; POST of ``purchaseOrders`` with ``purchaseOrderLines`` (deep
insert), answered 201 with the entity. Throttling answers 429 with Retry-After and BC's error body. Enum values
are member names as the API encodes them: the blank member " " is ``_x0020_``; a reference to nothing (a line's
location) is the null GUID.

Prices: an order's ``pricesIncludeTax`` ("Prices Including VAT") says whether its lines' ``directUnitCost`` includes
VAT; a created order takes the body's, else its vendor's (``prices_including_vat``: the vendor card's setting, which
the vendors API does not show). Every write of an order computes its lines' read-only amounts as BC does
(``Purchase Line.GetLineAmountExclVAT``): the line amount is quantity times directUnitCost rounded to the cent, less
``discountAmount``; ``amountExcludingTax`` is that amount, or with prices including VAT that amount divided by
(1 + ``taxPercent``/100) and rounded to the cent. A line's ``taxPercent`` is what it is given (BC's VAT posting setup),
on a created line its item's in ``vat_percent``. A created line that gives no discount takes the vendor's line
discount for its item (``line_discounts``: BC's purchase line discounts), as BC applies it on insert.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from tests.support.fakes.base import FakeServer, Request, Response

_COLLECTION = re.compile(r"^/api/v2\.0/companies\(([0-9a-f-]+)\)/(\w+)$")
# What the API sends for a reference to nothing, as a line created without a location has.
NULL_GUID = "00000000-0000-0000-0000-000000000000"
# A line's discount, which BC sends on every line: directUnitCost is the price before it.
NO_DISCOUNT = {"discountPercent": 0, "discountAmount": 0}
_CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    """Rounded as BC rounds an amount in a currency whose rounding precision is 0.01 (half away from zero)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _priced(line: dict[str, Any], prices_include_tax: bool) -> dict[str, Any]:
    """``line`` with the amounts BC computes for it (read-only in the API), with no invoice discount."""
    if line.get("lineType", "Item") == "Comment":
        return line
    quantity = Decimal(str(line.get("quantity") or 0))
    cost = Decimal(str(line.get("directUnitCost") or 0))
    tax = Decimal(str(line.get("taxPercent") or 0))
    amount = _cents(quantity * cost) - Decimal(str(line.get("discountAmount") or 0))
    if prices_include_tax:
        including, excluding = amount, _cents(amount / (1 + tax / 100))
    else:
        including, excluding = _cents(amount * (1 + tax / 100)), amount
    return {
        **line,
        "taxPercent": float(tax),
        "amountExcludingTax": float(excluding),
        "totalTaxAmount": float(including - excluding),
        "amountIncludingTax": float(including),
        "invoiceDiscountAllocation": 0,
        "netAmount": float(excluding),
        "netTaxAmount": float(including - excluding),
        "netAmountIncludingTax": float(including),
    }


def _refusal(client_id: str) -> str:
    """The identity platform's ``error_description`` for a wrong client secret, trace lines and all."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return (
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client "
        f"secret value, not the client secret ID, for a secret added to app '{client_id}'.\r\n"
        f"Trace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}\r\nTimestamp: {now}"
    )


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"error": {"code": code, "message": message}}, headers or {})


class FakeDynamics(FakeServer):
    vendor = "dynamics"

    def __init__(self, client_id: str = "app-id", client_secret: str = "app-secret") -> None:  # noqa: S107
        super().__init__()
        self.client = (client_id, client_secret)
        self.company_id = str(uuid.uuid4())
        self.tables: dict[str, dict[str, dict[str, Any]]] = {
            "locations": {},
            "vendors": {},
            "items": {},
            "purchaseOrders": {},
            # Posted invoices: one posted from an order names it (orderNumber), which BC then deletes if fully
            # received and invoiced.
            "purchaseInvoices": {},
        }
        # Business Central's setup behind the API, which its entities do not show: vendors whose prices include
        # VAT (vendor id), the VAT % of an item's lines (item id), purchase line discounts (vendor id, item id).
        self.prices_including_vat: set[str] = set()
        self.vat_percent: dict[str, float] = {}
        self.line_discounts: dict[tuple[str, str], float] = {}

    @property
    def token_url(self) -> str:
        return f"{self.url}/contoso.onmicrosoft.com/oauth2/v2.0/token"

    def put(self, table: str, values: dict[str, Any], record_id: str | None = None) -> dict[str, Any]:
        with self.lock:
            record_id = record_id or str(uuid.uuid4())
            record = self.tables[table].setdefault(record_id, {"id": record_id})
            record.update(values)
            if table == "purchaseOrders":
                record.setdefault("pricesIncludeTax", False)
                lines = [_priced(line, record["pricesIncludeTax"]) for line in record.get("purchaseOrderLines") or []]
                record["purchaseOrderLines"] = lines
            record["lastModifiedDateTime"] = self.clock.tick().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            return record

    def delete(self, table: str, record_id: str) -> None:
        """A record gone as BC deletes it (an order once fully received and invoiced, or by hand): no read shows it
        again, and nothing tells a reader it went."""
        with self.lock:
            del self.tables[table][record_id]

    def throttled(self, retry_after: int) -> Response:
        return _error(
            429, "Application_TooManyRequests", "Too many requests; try again later.", {"Retry-After": str(retry_after)}
        )

    def handle(self, request: Request) -> Response:
        if request.path.endswith("/oauth2/v2.0/token"):
            form = request.form()
            if (
                form.get("grant_type") != "client_credentials"
                or (form.get("client_id"), form.get("client_secret")) != self.client
            ):
                return Response(401, {"error": "invalid_client", "error_description": _refusal(self.client[0])})
            token = self.issue_bearer_token()
            return Response(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": self.token_lifetime_s,
                    "ext_expires_in": self.token_lifetime_s,
                    "access_token": token,
                },
            )
        if not self.holds_bearer_token(request):
            return _error(
                401,
                "Authentication_InvalidCredentials",
                "The server has rejected the client credentials.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        match = _COLLECTION.match(request.path)
        if match is None or match.group(1) != self.company_id or match.group(2) not in self.tables:
            return _error(404, "BadRequest_NotFound", f"The request URI is not valid: {request.path}")
        table = match.group(2)
        if request.method == "POST":
            return self._create(table, request.json())
        return self._query(table, request)

    def _query(self, table: str, request: Request) -> Response:
        with self.lock:
            rows = [dict(r) for r in self.tables[table].values()]
        flt = request.query.get("$filter")
        if flt:
            number = re.fullmatch(r"(?:orderId eq ([0-9a-f-]{36}) or )?orderNumber eq '((?:[^']|'')*)'", flt)
            if number is not None:
                named, by_id = number.group(2).replace("''", "'"), number.group(1)
                rows = [r for r in rows if r.get("orderNumber") == named or (by_id and r.get("orderId") == by_id)]
            m = re.fullmatch(r"lastModifiedDateTime ge (\S+)", flt)
            if m is None and number is None:
                return _error(400, "BadRequest", f"Could not parse the filter: {flt}")
            if m is not None:
                since = datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
                rows = [
                    r for r in rows if datetime.fromisoformat(r["lastModifiedDateTime"].replace("Z", "+00:00")) >= since
                ]
        for field in reversed(request.query.get("$orderby", "id").split(",")):
            rows.sort(key=lambda r, f=field.strip(): r.get(f))
        prefer = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("prefer", ""))
        size = int(prefer.group(1)) if prefer else 20000
        skip = int(request.query.get("$skiptoken", "0"))
        page = rows[skip : skip + size]
        if request.query.get("$expand") != "purchaseOrderLines":
            for r in page:
                r.pop("purchaseOrderLines", None)
        body: dict[str, Any] = {
            "@odata.context": f"{self.url}/api/v2.0/$metadata#companies({self.company_id})/{table}",
            "value": page,
        }
        if skip + size < len(rows):
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            body["@odata.nextLink"] = f"{self.url}{request.path}?{urlencode({**query, '$skiptoken': skip + size})}"
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if prefer else {}
        return Response(200, body, headers)

    def _create(self, table: str, body: dict[str, Any]) -> Response:
        if table != "purchaseOrders":
            return _error(405, "BadRequest_MethodNotAllowed", "'POST' requests are not allowed here.")
        if body.get("vendorId") not in self.tables["vendors"]:
            return _error(400, "BadRequest_ResourceNotFound", "The vendor does not exist.")
        vendor = body["vendorId"]
        body.setdefault("pricesIncludeTax", vendor in self.prices_including_vat)
        lines = [
            {"id": str(uuid.uuid4()), "receivedQuantity": 0, "locationId": NULL_GUID, **line}
            for line in body.pop("purchaseOrderLines", [])
        ]
        for line in lines:
            line.setdefault("taxPercent", self.vat_percent.get(line.get("itemId", ""), 0))
            if "discountPercent" not in line and "discountAmount" not in line:
                percent = Decimal(str(self.line_discounts.get((vendor, line.get("itemId", "")), 0)))
                gross = _cents(Decimal(str(line.get("quantity") or 0)) * Decimal(str(line.get("directUnitCost") or 0)))
                line.update(discountPercent=float(percent), discountAmount=float(_cents(gross * percent / 100)))
        number = f"106{len(self.tables['purchaseOrders']) + 1:03d}"
        body = {"orderDate": datetime.now().date().isoformat(), **body}  # Business Central's work date
        record = self.put("purchaseOrders", {**body, "number": number, "status": "Draft", "purchaseOrderLines": lines})
        return Response(201, record)


def populate(fake: FakeDynamics, *, items: int = 5, orders: int = 2) -> None:
    main = fake.put("locations", {"code": "MAIN", "displayName": "Main", "country": "US", "city": "Chicago"})
    vendors = [
        fake.put(
            "vendors",
            {
                "number": f"{20000 + 10000 * i}",
                "displayName": f"Vendor {i}",
                "country": "US",
                "email": f"v{i}@example.com",
                "currencyCode": "CAD" if i else "",  # blank: the company's local currency
                "blocked": "_x0020_",  # the blank member " ", OData-encoded as the API sends enum values
            },
        )
        for i in range(2)
    ]
    made = []
    for i in range(items):
        uom = "PCS" if i % 2 else "KG"
        number: Any = f"{1000 + i}"
        if items >= 5 and i == 0:
            number = ""  # an item without a number: dead-lettered
        made.append(
            fake.put(
                "items",
                {
                    "number": number,
                    "displayName": f"Item {i}",
                    "baseUnitOfMeasureCode": uom,
                    "unitCost": 3.5,
                    "blocked": False,
                    "inventory": float(10 * i),
                },
            )
        )
    good = made[1:] if items >= 5 else made
    for i in range(orders):
        fake.put(
            "purchaseOrders",
            {
                "number": f"106{i + 900}",
                "vendorId": vendors[i % 2]["id"],
                "currencyCode": "",
                "orderDate": "2026-01-20",
                "requestedReceiptDate": "2026-02-10",
                "status": "Open" if i % 2 else "Draft",
                "purchaseOrderLines": [
                    {
                        "id": str(uuid.uuid4()),
                        "sequence": 10000 * (j + 1),
                        "lineType": "Item",
                        "itemId": good[(i + j) % len(good)]["id"],
                        "quantity": 4.0,
                        "unitOfMeasureCode": good[(i + j) % len(good)]["baseUnitOfMeasureCode"],
                        "directUnitCost": 3.5,
                        **NO_DISCOUNT,
                        "receivedQuantity": 0,
                        "locationId": main["id"],
                    }
                    for j in range(2)
                ],
            },
        )
