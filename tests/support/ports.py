"""Loopback ports and networks for servers a test or a bench script starts."""

from __future__ import annotations

import random
import socket
import time

# Ports handed to servers that bind them later (the Serve proxy's HTTP port is bound by HAProxy tens of seconds
# after it is chosen). They come from below Linux's ephemeral range (32768-60999), which every outgoing
# connection and every bind to port 0 draws from: a port picked there was taken in that window by a client
# socket in one CI run ("cannot bind socket (Address already in use)"). Above Ray's worker ports (10002-19999).
PORT_RANGE = (20_000, 32_767)


def free_port() -> int:
    """A loopback port in ``PORT_RANGE`` that nothing holds now."""
    for _ in range(200):
        port = random.randint(*PORT_RANGE)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {PORT_RANGE[0]}-{PORT_RANGE[1]}")


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
