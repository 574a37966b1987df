"""NetSuite through SuiteTalk REST web services: SuiteQL for reads, the record API for purchase orders.

Authentication is OAuth 2.0 client credentials (machine to machine): the connector signs a JWT client
assertion with the private key of the certificate mapped to the integration (header ``kid`` = the
certificate id, ``alg`` option ``algorithm`` or PS256 for RSA keys, ES256/384/512 by an EC key's curve, as
``integrations/netsuite_signing.py`` checks them; claims ``iss`` = client id, ``scope``,
``aud`` = the token endpoint, ``iat``/``exp`` at most an hour apart) and posts it to
``/services/rest/auth/oauth2/v1/token`` (``grant_type=client_credentials``, ``client_assertion_type=
urn:ietf:params:oauth:client-assertion-type:jwt-bearer``). The bearer token is kept until a minute before
``expires_in`` runs out and renewed once when the API answers 401.

Reads are SuiteQL (``POST /services/rest/query/v1/suiteql`` with ``Prefer: transient`` and a ``limit`` query
parameter). Incremental reads (locations, vendors, items, purchase orders, item receipts)
use a keyset on ``(lastmodifieddate, id)``: ``WHERE lastmodifieddate > TO_TIMESTAMP(c) OR
(lastmodifieddate = TO_TIMESTAMP(c) AND id > i) ORDER BY lastmodifieddate, id``, one query per page,
asking again from the page's last row while ``hasMore`` is true. NetSuite's ``links``/``offset`` paging is
not used for these: offsets over a set ordered by modification shift when a record changes during the sync
(a record would be skipped and, being older than the cursor, never read again), and SuiteQL stops at
100,000 results per query. Timestamps are read and written with the same ``TO_CHAR``/``TO_TIMESTAMP``
format, so the cursor is in the account's own time zone whatever it is. Snapshots and detail reads
(inventory balances by item and location, order lines by order and line sequence number, orders by id) page by
a keyset on internal ids the same way: with offsets, a line or balance gone between two pages shifted the rows
after it and the next page skipped one (an order was applied without that line, the snapshot zeroed a level).

Stock is ``InventoryBalance`` summed per item and location. Purchase orders are ``transaction`` rows of
type ``PurchOrd`` with their ``transactionline`` item lines; received quantities are the lines'
``quantityshiprecv``. Item receipts (``ItemRcpt``) changed since their own cursor make the orders they were
received against (``createdfrom``) be read again, so a receipt is seen even when it leaves the order's
``lastmodifieddate`` alone.

Purchase orders are created with ``POST /services/rest/record/v1/purchaseOrder`` (``entity``,
``currency``, ``location``, ``dueDate``, ``item.items`` with ``item``, ``quantity``, ``rate``); NetSuite
answers 204 with the new record's URL in ``Location``. The order's ``externalId`` is its Chainsight number,
which NetSuite keeps unique per record type. Lines carry no ``units``: NetSuite applies the item's purchase
unit, so quantities are sent in the item's stock unit (keep the two equal for synced items).

Errors come as ``{"type", "title", "status", "o:errorDetails": [{"detail", "o:errorCode"}]}`` and are
reported with their code and detail.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt

from integrations.connector import ConnectorConfig
from integrations.errors import ConnectorAuthError, ConnectorProtocolError
from integrations.netsuite_records import (
    ITEM_TYPES,
    balance_record,
    item_record,
    location_record,
    order_record,
    vendor_record,
)
from integrations.netsuite_signing import load_signing_key, signing_algorithm
from integrations.netsuite_suiteql import (
    STAMP,
    error_message,
    ids_list,
    keyset_condition,
    literal,
    pages,
    rows_after,
    select_query,
)
from integrations.oauth import OAuthConnector
from integrations.records import ENTITY_ORDER, Entity, Page, PushOrder, SourceRecord

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 (a path, not a secret)
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
RECORD_PATH = "/services/rest/record/v1"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIMIT = 1000  # SuiteQL's largest page
_TYPES = ", ".join(f"'{t}'" for t in ITEM_TYPES)


def _cursor_at(row: dict[str, Any]) -> dict[str, Any]:
    """The incremental cursor ``(lastmodified, id)`` at a row read by ``_changed``."""
    return {"lastmodified": row.get("lastmodified"), "id": str(row.get("id"))}


class NetSuiteConnector(OAuthConnector):
    kind = "netsuite"
    vendor = "NetSuite"
    entities = ENTITY_ORDER  # all of them, in sync order
    issuer = "NetSuite"
    issuer_hint = " (check the client id, the certificate id and that the certificate is mapped to the integration)"

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self._limit = max(1, min(config.page_size, MAX_LIMIT))
        self._currencies: dict[str, str] = {}

    # --- authentication ---------------------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return str(self.option("token_url") or self.config.base_url.rstrip("/") + TOKEN_PATH)

    def client_assertion(self) -> str:
        key = load_signing_key(self.credential("private_key"))
        algorithm = signing_algorithm(key, self.option("algorithm"))
        now = int(time.time())
        claims = {
            "iss": self.credential("client_id"),
            "scope": [s.strip() for s in str(self.option("scope", "rest_webservices")).split(",") if s.strip()],
            "aud": self.token_url,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": self.credential("certificate_id")})

    def token_form(self) -> dict[str, str]:
        try:
            assertion = self.client_assertion()
        # What PyJWT refuses only while signing, should a stored configuration get past the checks made when saved.
        except (ValueError, TypeError, NotImplementedError, jwt.PyJWTError) as exc:
            raise ConnectorAuthError(f"NetSuite: cannot sign the client assertion: {exc}") from exc
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        # SuiteQL is a POST that only reads: safe to retry after a dropped connection. Record writes are not.
        idempotent = kwargs.pop("idempotent", method == "GET")
        response = await self.oauth.send(method, url, idempotent=idempotent, **kwargs)
        if response.status_code >= 400:
            message = error_message(response)
            if response.status_code in (401, 403):
                raise ConnectorAuthError(f"NetSuite refused the request (HTTP {response.status_code}): {message}")
            raise ConnectorProtocolError(f"NetSuite answered HTTP {response.status_code} to {method} {url}: {message}")
        return response

    # --- SuiteQL ----------------------------------------------------------------------------------------------

    async def suiteql(self, query: str) -> dict[str, Any]:
        response = await self._call(
            "POST",
            SUITEQL_PATH,
            params={"limit": self._limit},
            json={"q": query},
            headers={"Prefer": "transient", "Accept": "application/json"},
            idempotent=True,
        )
        try:
            body: dict[str, Any] = response.json()
            body["items"] = list(body.get("items") or [])
        except (ValueError, AttributeError, TypeError) as exc:
            raise ConnectorProtocolError("NetSuite answered a SuiteQL query without an items collection") from exc
        return body

    def _by_keys(
        self, columns: str, source: str, where: list[str], keys: tuple[str, ...], *, grouped: bool = False
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every row of one read in the order of ``keys`` (internal ids, selected under their column names; grouped
        by them with ``grouped``), a page at a time."""

        def query_after(last: dict[str, Any] | None) -> str:
            clauses = where if last is None else [*where, rows_after(keys, last)]
            return select_query(columns, source, clauses, keys, grouped=grouped)

        return pages(self.suiteql, query_after)

    async def _changed(
        self, columns: str, table: str, alias: str, where: list[str], cursor: dict[str, Any] | None
    ) -> AsyncIterator[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """Rows changed since the keyset cursor, a page at a time; yields (rows, the cursor after them)."""

        def query_after(last: dict[str, Any] | None) -> str:
            keyset = keyset_condition(alias, cursor if last is None else _cursor_at(last))
            stamped = f"{columns}, TO_CHAR({alias}.lastmodifieddate, '{STAMP}') AS lastmodified"
            order = (f"{alias}.lastmodifieddate", f"{alias}.id")
            return select_query(stamped, table, [*where, keyset] if keyset else where, order)

        async for rows in pages(self.suiteql, query_after):
            yield rows, _cursor_at(rows[-1])

    # --- reads ------------------------------------------------------------------------------------------------

    async def pull(self, entity: Entity, cursor: dict[str, Any] | None) -> AsyncIterator[Page]:
        if entity == Entity.STOCK:
            select = "b.item, b.location, SUM(b.quantityonhand) AS quantityonhand"
            keys = ("b.item", "b.location")
            async for rows in self._by_keys(select, "InventoryBalance b", [], keys, grouped=True):
                yield Page([balance_record(r) for r in rows])
            return
        if entity == Entity.PURCHASE_ORDERS:
            async for page in self._orders(cursor or {}):
                yield page
            return
        select, table, alias, where, parse = {
            Entity.WAREHOUSES: (
                "l.id, l.name, l.fullname, l.isinactive, a.country, a.city",
                "location l LEFT JOIN LocationMainAddress a ON a.nkey = l.mainaddress",
                "l",
                [],
                location_record,
            ),
            Entity.SUPPLIERS: (
                "v.id, v.entityid, v.companyname, v.email, v.isinactive, c.symbol AS currency",
                "vendor v LEFT JOIN currency c ON c.id = v.currency",
                "v",
                [],
                vendor_record,
            ),
            Entity.PRODUCTS: (
                "i.id, i.itemid, i.displayname, BUILTIN.DF(i.stockunit) AS stockunit, i.cost, i.isinactive",
                "item i",
                "i",
                [f"i.itemtype IN ({_TYPES})"],
                lambda r: item_record(r, self.option("default_unit")),
            ),
        }[entity]
        async for rows, after in self._changed(select, table, alias, where, cursor):
            yield Page([parse(r) for r in rows], after)

    _ORDER_SELECT = (
        "t.id, t.tranid, t.externalid, t.entity, t.status, c.symbol AS currency, "
        "TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate"
    )
    _ORDER_FROM = "transaction t LEFT JOIN currency c ON c.id = t.currency"

    async def _orders(self, cursor: dict[str, Any]) -> AsyncIterator[Page]:
        orders, receipts = cursor.get("orders"), cursor.get("receipts")
        where = ["t.type = 'PurchOrd'"]
        async for rows, after in self._changed(self._ORDER_SELECT, self._ORDER_FROM, "t", where, orders):
            orders = after
            yield Page(await self._with_lines(rows), {"orders": orders, "receipts": receipts})
        # Orders received against since the receipts cursor are read again (their lines hold the quantities).
        async for rows, after in self._changed("t.id", "transaction t", "t", ["t.type = 'ItemRcpt'"], receipts):
            receipts = after
            received: set[str] = set()
            async for lines in self._lines("tl.createdfrom", [str(r["id"]) for r in rows]):
                received.update(str(x["createdfrom"]) for x in lines if x.get("createdfrom"))
            records: list[SourceRecord] = []
            if received:
                where = ["t.type = 'PurchOrd'", f"t.id IN ({ids_list(sorted(received, key=lambda i: (len(i), i)))})"]
                async for found in self._by_keys(self._ORDER_SELECT, self._ORDER_FROM, where, ("t.id",)):
                    records.extend(await self._with_lines(found))
            yield Page(records, {"orders": orders, "receipts": receipts})

    async def _lines(self, columns: str, transactions: list[str]) -> AsyncIterator[list[dict[str, Any]]]:
        """The item lines of the transactions: their ``columns`` beside transaction and line sequence number."""
        where = ["tl.mainline = 'F'", f"tl.transaction IN ({ids_list(transactions)})"]
        keys = ("tl.transaction", "tl.linesequencenumber")
        async for rows in self._by_keys(f"{', '.join(keys)}, {columns}", "transactionline tl", where, keys):
            yield rows

    async def _with_lines(self, rows: list[dict[str, Any]]) -> list[SourceRecord]:
        lines: dict[str, list[dict[str, Any]]] = {str(r["id"]): [] for r in rows}
        select = (
            "tl.item, tl.itemtype, tl.quantity, tl.rate, BUILTIN.DF(tl.units) AS units, tl.location, "
            "tl.quantityshiprecv, tl.isclosed"
        )
        async for page in self._lines(select, list(lines)):
            for line in page:
                lines.setdefault(str(line.get("transaction")), []).append(line)
        return [order_record(r, lines[str(r["id"])], self.option("default_unit")) for r in rows]

    # --- push -------------------------------------------------------------------------------------------------

    async def _currency_id(self, symbol: str) -> str:
        if symbol not in self._currencies:
            body = await self.suiteql(f"SELECT c.id FROM currency c WHERE c.symbol = {literal(symbol)} ORDER BY c.id")
            if not body["items"]:
                raise ConnectorProtocolError(f"NetSuite has no currency with the symbol {symbol!r}")
            self._currencies[symbol] = str(body["items"][0]["id"])
        return self._currencies[symbol]

    async def push_purchase_order(self, order: PushOrder) -> str:
        # Pushed again after an answer was lost (a timeout once NetSuite had created it): NetSuite refuses a
        # second record with the same externalId, so the one it holds is the answer.
        made = await self.suiteql(
            "SELECT t.id FROM transaction t WHERE t.type = 'PurchOrd' AND t.externalid = "
            f"{literal(order.number)} ORDER BY t.id"
        )
        if made["items"]:
            return str(made["items"][0]["id"])
        location = {"location": {"id": order.warehouse_external_id}} if order.warehouse_external_id else {}
        body: dict[str, Any] = {
            "externalId": order.number,
            "entity": {"id": order.supplier_external_id},
            "currency": {"id": await self._currency_id(order.currency)},
            "memo": f"Chainsight {order.number}",
            **location,
            "item": {
                "items": [
                    {
                        "item": {"id": line.product_external_id},
                        "quantity": float(line.quantity),
                        "rate": float(line.unit_price),
                        **location,
                    }
                    for line in order.lines
                ]
            },
        }
        if order.expected_date:
            body["dueDate"] = order.expected_date.isoformat()
        response = await self._call(
            "POST", f"{RECORD_PATH}/purchaseOrder", json=body, headers={"Accept": "application/json"}
        )
        created = response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        if response.status_code != 204 or not created.isdigit():
            raise ConnectorProtocolError(
                f"NetSuite answered the purchase order with HTTP {response.status_code} and no record Location"
            )
        return created
