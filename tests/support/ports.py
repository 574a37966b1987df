"""Loopback ports and networks for servers a test or a bench script starts."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# The fake ERP servers run on loopback, which connectors may not call unless an operator allows it.
LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]


def wait_for_listener(port: int, timeout_s: float) -> bool:
    """Whether something listens on loopback ``port`` within ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)
