"""A fake SAP S/4HANA Gateway serving the OData v2 APIs the SAP connector reads and writes.

Implemented: basic authentication (401 with ``WWW-Authenticate: Basic realm="SAP NetWeaver Application
Server [...]"`` otherwise), ``$format=json`` responses wrapped in ``{"d": {"results": [...]}}`` with
``/Date(ms+0000)/`` dates, ``$filter`` clauses joined by ``and`` (``eq``, ``ne``, ``ge``, ``gt`` against
string, ``datetime'...'`` and ``datetimeoffset'...'`` literals), ``$orderby``, ``$expand`` of the
navigation properties used, server-driven paging with ``__next`` and an opaque ``$skiptoken``, the CSRF
handshake (``x-csrf-token: Fetch`` -> token + session cookie; ``403`` + ``x-csrf-token: Required`` when
missing or stale), OAuth 2.0 client credentials (``POST /sap/bc/sec/oauth2/token`` with the client in a
basic authentication header and ``grant_type=client_credentials``: ``{"access_token", "token_type": "Bearer",
"expires_in", "scope"}``, 401 ``invalid_client`` otherwise; an unknown or revoked bearer token is 401 with
``WWW-Authenticate: Bearer error="invalid_token"``) and deep insert of ``A_PurchaseOrder`` with
``to_PurchaseOrderItem`` (and their ``to_ScheduleLine``). Errors use the Gateway's ``{"error": {"code",
"message": {"lang", "value"}}}`` body.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from integrations.odata import v2_date
from tests.support.fakes.base import FakeServer, Request, Response

ROOT = "/sap/opu/odata/sap"
SETS = {
    f"{ROOT}/API_PRODUCT_SRV/A_Product": ("A_Product", "Product"),
    f"{ROOT}/API_BUSINESS_PARTNER/A_BusinessPartner": ("A_BusinessPartner", "BusinessPartner"),
    f"{ROOT}/API_MATERIAL_STOCK_SRV/A_MatlStkInAcctMod": ("A_MatlStkInAcctMod", "Key"),
    f"{ROOT}/API_PURCHASEORDER_PROCESS_SRV/A_PurchaseOrder": ("A_PurchaseOrder", "PurchaseOrder"),
}
_CLAUSE = re.compile(r"^(\w+) (eq|ne|ge|gt) (?:(datetimeoffset|datetime)'([^']*)'|'((?:[^']|'')*)')$")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"error": {"code": code, "message": {"lang": "en", "value": message}}}, headers or {})


class FakeSap(FakeServer):
    vendor = "sap"

    def __init__(self, user: str = "COMM_USER", password: str = "sap-secret", page_size: int = 4) -> None:  # noqa: S107
        super().__init__()
        self.credentials = (user, password)
        self.page_size = page_size
        self.sets: dict[str, dict[str, dict[str, Any]]] = {name: {} for name, _ in SETS.values()}
        self.csrf_tokens: set[str] = set()
        self.oauth_clients: dict[str, str] = {"sap-client": "sap-client-secret"}
        self.session_timeout_on_next_post = False
        self._po_number = 4500000000

    # --- data -------------------------------------------------------------------------------------------------

    def put(self, entity_set: str, key: str, values: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            record = self.sets[entity_set].setdefault(key, {})
            record.update(values)
            now = self.clock.tick()
            if entity_set == "A_BusinessPartner":
                record["LastChangeDate"] = datetime(now.year, now.month, now.day, tzinfo=UTC)
            elif entity_set != "A_MatlStkInAcctMod":
                record["LastChangeDateTime"] = now
            return record

    def put_many(self, entity_set: str, records: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        """Records keyed by their own ``key`` property (``Product``, ``PurchaseOrder`` ...)."""
        return [self.put(entity_set, record[key], record) for record in records]

    def expire_csrf(self) -> None:
        with self.lock:
            self.csrf_tokens.clear()

    # --- protocol ---------------------------------------------------------------------------------------------

    def throttled(self, retry_after: int) -> Response:
        return _error(429, "API_RATE_LIMIT", "Rate limit quota violation", {"Retry-After": str(retry_after)})

    def _token(self, request: Request) -> Response:
        form = request.form()
        try:
            scheme, encoded = request.headers.get("authorization", "").split(" ", 1)
            client, secret = base64.b64decode(encoded).decode().split(":", 1)
        except ValueError:
            client, secret, scheme = "", "", ""
        if scheme != "Basic" or self.oauth_clients.get(client) != secret:
            return Response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        token = self.issue_bearer_token()
        return Response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_lifetime_s,
                "scope": form.get("scope", ""),
            },
        )

    def handle(self, request: Request) -> Response:
        if request.path == "/sap/bc/sec/oauth2/token" and request.method == "POST":
            return self._token(request)
        expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
        authorization = request.headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            if not self.holds_bearer_token(request):
                return Response(
                    401,
                    "<html><body>Logon failed</body></html>",
                    {"WWW-Authenticate": 'Bearer error="invalid_token"', "Content-Type": "text/html"},
                )
        elif authorization != expected:
            return Response(
                401,
                "<html><body>Logon failed</body></html>",
                {
                    "WWW-Authenticate": 'Basic realm="SAP NetWeaver Application Server [S4H/100]"',
                    "Content-Type": "text/html",
                },
            )
        if request.method == "GET" and request.headers.get("x-csrf-token", "").lower() == "fetch":
            token = secrets.token_urlsafe(16)
            with self.lock:
                self.csrf_tokens.add(token)
            return Response(
                200,
                {"d": {"EntitySets": ["A_PurchaseOrder"]}},
                {"x-csrf-token": token, "Set-Cookie": f"SAP_SESSIONID_S4H_100={token}; path=/"},
            )
        if request.method == "POST":
            return self._create(request)
        if request.method != "GET" or request.path not in SETS:
            return _error(404, "/IWFND/CM_MGW/020", f"Resource not found for segment '{request.path}'")
        return self._query(request)

    def _query(self, request: Request) -> Response:
        name, key = SETS[request.path]
        with self.lock:
            rows = list(self.sets[name].values())
        try:
            for clause in filter(None, request.query.get("$filter", "").split(" and ")):
                rows = [r for r in rows if _matches(r, clause)]
        except ValueError as exc:
            return _error(400, "/IWBEP/CM_MGW_RT/022", str(exc))
        for field in reversed(request.query.get("$orderby", key).split(",")):
            rows.sort(key=lambda r, f=field.strip(): r.get(f.split(" ")[0]))
        skip = int(request.query.get("$skiptoken", "0") or 0)
        page = rows[skip : skip + self.page_size]
        expand = set(filter(None, request.query.get("$expand", "").split(",")))
        data: dict[str, Any] = {"results": [self._render(r, name, expand) for r in page]}
        if skip + self.page_size < len(rows):
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            data["__next"] = f"{self.url}{request.path}?{urlencode({**query, '$skiptoken': skip + self.page_size})}"
        return Response(200, {"d": data})

    def _render(self, record: dict[str, Any], name: str, expand: set[str]) -> dict[str, Any]:
        """One entity; ``expand`` holds paths (``to_Supplier/to_SupplierPurchasingOrg``). A to-one navigation
        (a dict) renders as the entity itself, a to-many one (a list) as ``{"results": [...]}``, as OData v2."""
        out: dict[str, Any] = {"__metadata": {"type": f"API.{name}Type"}}
        for field, value in record.items():
            if field.startswith("to_"):
                inner = {path.split("/", 1)[1] for path in expand if path.startswith(f"{field}/")}
                if field not in expand and not inner:
                    out[field] = {"__deferred": {"uri": f"{self.url}/{field}"}}
                elif isinstance(value, dict):
                    out[field] = self._render(value, field, inner)
                else:
                    out[field] = {"results": [self._render(v, field, inner) for v in value]}
            elif isinstance(value, datetime):
                out[field] = v2_date(value)
            elif isinstance(value, Decimal):
                out[field] = f"{value:f}"
            else:
                out[field] = value
        return out

    def _create(self, request: Request) -> Response:
        token = request.headers.get("x-csrf-token")
        cookie = request.headers.get("cookie", "")
        with self.lock:
            if self.session_timeout_on_next_post:  # the session (and its token) timed out since the fetch
                self.session_timeout_on_next_post = False
                self.csrf_tokens.clear()
            valid = token in self.csrf_tokens and f"SAP_SESSIONID_S4H_100={token}" in cookie
        if not valid:
            return Response(403, "CSRF token validation failed", {"x-csrf-token": "Required"})
        if request.path != f"{ROOT}/API_PURCHASEORDER_PROCESS_SRV/A_PurchaseOrder":
            return _error(405, "/IWFND/CM_MGW/025", "Method not allowed")
        body = request.json()
        items = body.pop("to_PurchaseOrderItem", {}).get("results", [])
        if not body.get("Supplier") or body["Supplier"] not in {
            r.get("Supplier") for r in self.sets["A_BusinessPartner"].values()
        }:
            return _error(400, "ME/062", f"Supplier {body.get('Supplier')} does not exist")
        with self.lock:
            self._po_number += 1
            while str(self._po_number) in self.sets.get("A_PurchaseOrder", {}):  # SAP never reuses a number
                self._po_number += 1
            number = str(self._po_number)
        record = self.put(
            "A_PurchaseOrder",
            number,
            {
                **body,
                "PurchaseOrder": number,
                "PurchasingProcessingStatus": "02",
                "to_PurchaseOrderItem": [
                    {
                        **item,
                        "PurchaseOrder": number,
                        "IsCompletelyDelivered": False,
                        "PurchasingDocumentDeletionCode": "",
                        # A deep-inserted navigation arrives as {"results": [...]} and is kept as its list.
                        "to_ScheduleLine": [
                            {**line, "PurchasingDocument": number, "PurchasingDocumentItem": item["PurchaseOrderItem"]}
                            for line in item.get("to_ScheduleLine", {}).get("results", [])
                        ],
                    }
                    for item in items
                ],
            },
        )
        return Response(
            201,
            {"d": self._render(record, "A_PurchaseOrder", {"to_PurchaseOrderItem"})},
            {"Location": f"{self.url}{request.path}('{number}')"},
        )


def _matches(record: dict[str, Any], clause: str) -> bool:
    match = _CLAUSE.match(clause.strip())
    if match is None:
        raise ValueError(f"Invalid filter expression: '{clause}'")
    field, op, kind, moment, text = match.groups()
    actual = record.get(field)
    expected: Any
    if kind:
        expected = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        if expected.tzinfo is None:
            expected = expected.replace(tzinfo=UTC)
    else:
        expected = text.replace("''", "'")
        actual = "" if actual is None else actual
    if actual is None:
        return False
    return {"eq": actual == expected, "ne": actual != expected, "ge": actual >= expected, "gt": actual > expected}[op]


def populate(fake: FakeSap, *, products: int = 5, orders: int = 3) -> None:
    """Plants 1010 and 1020; suppliers; products (with a malformed one and an unmapped unit when >= 5);
    unrestricted stock in two storage locations; purchase orders released, in process and deleted."""
    org_currencies = (("EUR", "EUR"), ("EUR", "GBP"), ("USD", "USD"))
    for i in range(3):
        fake.put(
            "A_BusinessPartner",
            f"1000{i:02d}",
            {
                "BusinessPartner": f"1000{i:02d}",
                "Supplier": f"1000{i:02d}",
                "BusinessPartnerFullName": f"Vendor {i}",
                "BusinessPartnerIsBlocked": False,
                "to_BusinessPartnerAddress": [{"Country": "DE"}],
                # Purchasing organisations and the currency each orders in: the first orders in EUR in both, the
                # second in EUR and GBP, the third in USD in both.
                "to_Supplier": {
                    "Supplier": f"1000{i:02d}",
                    "to_SupplierPurchasingOrg": [
                        {"PurchasingOrganization": org, "PurchaseOrderCurrency": currency}
                        for org, currency in zip(("1010", "1020"), org_currencies[i], strict=True)
                    ],
                },
            },
        )
    fake.put(
        "A_BusinessPartner",
        "900001",
        {
            "BusinessPartner": "900001",
            "Supplier": "",
            "BusinessPartnerFullName": "A customer",
            "to_BusinessPartnerAddress": [],
        },
    )
    good = []
    for i in range(products):
        material = f"MAT{i:06d}"
        unit = "PC" if i % 2 else "KGM"
        description: list[dict[str, Any]] = [
            {"Product": material, "Language": "EN", "ProductDescription": f"Material {i}"}
        ]
        if products >= 5 and i == 0:
            description = []  # no English description: the record has no name and is dead-lettered
        if products >= 5 and i == 1:
            unit = "BAG"  # unmapped unit
        if not (products >= 5 and i < 2):
            good.append(material)
        fake.put(
            "A_Product",
            material,
            {
                "Product": material,
                "ProductType": "HAWA",
                "BaseUnit": unit,
                "IsMarkedForDeletion": False,
                "to_Description": description,
            },
        )
    for n, material in enumerate(good):
        for plant in ("1010", "1020"):
            for location in ("0001", "0002"):
                key = f"{material}/{plant}/{location}"
                fake.put(
                    "A_MatlStkInAcctMod",
                    key,
                    {
                        "Key": key,
                        "Material": material,
                        "Plant": plant,
                        "StorageLocation": location,
                        "InventoryStockType": "01",
                        "MatlWrhsStkQtyInMatlBaseUnit": Decimal(5 * n + 1),
                        "MaterialBaseUnit": fake.sets["A_Product"][material]["BaseUnit"],
                    },
                )
    for i in range(orders):
        number = f"45000{i:05d}"
        items = [
            {
                "PurchaseOrder": number,
                "PurchaseOrderItem": str(10 * (j + 1)),
                "Material": good[(i + j) % len(good)],
                "Plant": "1010" if i % 2 == 0 else "1020",
                "OrderQuantity": Decimal(3 + j),
                "PurchaseOrderQuantityUnit": fake.sets["A_Product"][good[(i + j) % len(good)]]["BaseUnit"],
                "NetPriceAmount": Decimal("25.00"),
                "NetPriceQuantity": Decimal(10),
                "IsCompletelyDelivered": False,
                "PurchasingDocumentDeletionCode": "L" if i % 3 == 2 else "",
                # Item 20 is due a week after item 10: the order is expected on its first date.
                "to_ScheduleLine": [
                    {
                        "PurchasingDocument": number,
                        "PurchasingDocumentItem": str(10 * (j + 1)),
                        "ScheduleLine": "1",
                        "ScheduleLineDeliveryDate": datetime(2026, 3, 2 + i + 7 * j, tzinfo=UTC),
                        "ScheduleLineOrderQuantity": Decimal(3 + j),
                    }
                ],
            }
            for j in range(2)
        ]
        fake.put(
            "A_PurchaseOrder",
            number,
            {
                "PurchaseOrder": number,
                "Supplier": f"1000{i % 3:02d}",
                "DocumentCurrency": "EUR",
                "PurchaseOrderDate": datetime(2026, 1, 20, tzinfo=UTC),
                "PurchasingProcessingStatus": "05" if i % 3 == 1 else "02",
                "to_PurchaseOrderItem": items,
            },
        )
