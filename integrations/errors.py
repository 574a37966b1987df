"""What can go wrong talking to an ERP. A run records the message; the API maps none of these to a 500."""

from __future__ import annotations


class ConnectorError(Exception):
    """The ERP could not be read or written; the run fails, nothing committed so far is lost."""


class ConnectorAuthError(ConnectorError):
    """Credentials refused (wrong, revoked or expired and not renewable)."""


class ConnectorUnavailableError(ConnectorError):
    """Unreachable, timed out, dropped the connection, or kept answering 429/5xx past the retry budget."""


class ConnectorProtocolError(ConnectorError):
    """The ERP answered something this connector does not understand, or refused the request."""


class MappingError(ValueError):
    """A record's value has no Chainsight equivalent (unit, warehouse, currency); the record is dead-lettered."""
