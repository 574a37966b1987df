"""Loopback ports and networks for servers a test or a bench script starts."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# The fake ERP servers run on loopback, which connectors may not call unless an operator allows it.
LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]
