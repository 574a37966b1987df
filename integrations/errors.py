"""What can go wrong talking to an ERP or applying its records; all are ``DomainError``s, so the API maps
each to its status (an ERP failure is a 503, never a 500) and a sync run records the message."""

from __future__ import annotations

from common.errors import InvalidInputError, ServiceUnavailableError


class ConnectorError(ServiceUnavailableError):
    """The ERP could not be read or written; the run fails, nothing committed so far is lost."""

    code = "erp_error"


class ConnectorAuthError(ConnectorError):
    """Credentials refused (wrong, revoked or expired and not renewable)."""

    code = "erp_auth_error"


class ConnectorUnavailableError(ConnectorError):
    """Unreachable, timed out, dropped the connection, or kept answering 429/5xx past the retry budget."""

    code = "erp_unavailable"


class WriteOutcomeUnknownError(ConnectorUnavailableError):
    """A write that may have reached the ERP and been applied, with no answer saying so: the connection was lost
    during it, or a gateway answered 502/504. Not retried; whoever wrote must not take it as refused."""


class ConnectorProtocolError(ConnectorError):
    """The ERP answered something this connector does not understand, or refused the request."""

    code = "erp_protocol_error"


class MappingError(InvalidInputError):
    """A record's value has no Chainsight equivalent (unit, warehouse, currency); the record is dead-lettered."""

    code = "unmapped_value"


class RecordRejected(InvalidInputError):
    """The record is well formed but cannot be applied (refers to something not synced, illegal change)."""

    code = "record_rejected"
