"""The connector interface every ERP module implements, and how a configured connector is built."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from integrations.http import HttpClient, RetryPolicy
from integrations.records import Entity, Page, PurchaseOrderStatus, PushOrder


@dataclass(frozen=True)
class ConnectorConfig:
    base_url: str
    credentials: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    page_size: int = 500
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class Connector(ABC):
    """Reads entities since a cursor, page by page, and creates purchase orders in the ERP.

    ``pull`` yields pages in the ERP's change order; each page carries the cursor that is safe to store
    once that page is committed, so a sync interrupted anywhere resumes without gaps.
    """

    kind: ClassVar[str]
    entities: ClassVar[tuple[Entity, ...]]
    vendor: ClassVar[str]

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self.http = HttpClient(self.vendor, config.base_url, config.retry)

    @abstractmethod
    def pull(self, entity: Entity, cursor: dict[str, Any] | None) -> AsyncIterator[Page]: ...

    @abstractmethod
    async def push_purchase_order(self, order: PushOrder) -> str:
        """Create the order in the ERP; returns its external id there."""

    async def gone_orders(self, known: Mapping[str, str]) -> dict[str, PurchaseOrderStatus] | None:
        """Of ``known`` (the ERP ids of orders still open here, with their numbers), those the ERP no longer holds,
        each with how it ended there: received in full, or cancelled (``integrations.reconcile``). The answer rests
        on a complete reading of the ERP: any failure raises, and nothing is closed. None: this ERP keeps its orders
        (closed orders are read as such), so none is ever gone."""
        return None

    async def aclose(self) -> None:
        await self.http.aclose()

    def option(self, name: str, default: Any = None) -> Any:
        return self.config.options.get(name, default)

    def credential(self, name: str) -> str:
        from integrations.errors import ConnectorAuthError

        value = self.config.credentials.get(name)
        if not value:
            raise ConnectorAuthError(f"{self.vendor}: credential {name!r} is not configured")
        return str(value)


_MODULES = {
    "odoo": ("integrations.odoo", "OdooConnector"),
    "sap": ("integrations.sap", "SapConnector"),
    "dynamics": ("integrations.dynamics", "DynamicsConnector"),
    "netsuite": ("integrations.netsuite", "NetSuiteConnector"),
}


def connector_class(kind: str) -> type[Connector]:
    module, name = _MODULES[kind]
    cls: type[Connector] = getattr(importlib.import_module(module), name)
    return cls


# What each kind needs, for validating configurations before anything is stored.
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "odoo": ("username", "api_key"),
    "sap": ("username", "password"),  # a communication user (basic authentication), or OAuth 2.0 below
    "dynamics": ("client_id", "client_secret"),
    # OAuth 2.0 client credentials (M2M): the integration's client id, and the certificate mapped to it
    "netsuite": ("client_id", "certificate_id", "private_key"),
}
# Kinds that accept another set of credentials instead of the required one.
ALTERNATIVE_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "sap": ("client_id", "client_secret"),  # OAuth 2.0 client credentials (communication arrangement)
}
REQUIRED_OPTIONS: dict[str, tuple[str, ...]] = {
    "odoo": ("database",),
    "sap": (),
    "dynamics": ("token_url", "company_id"),
    "netsuite": (),
}
