"""Connectors reach only public addresses, unless the operator allows more (SSRF protection).

A tenant admin chooses a connector's ``base_url`` (and SAP/Dynamics ``token_url``); without a guard they could
aim the server at loopback, private networks or a cloud metadata endpoint and read parts of the answers in
run errors. The transport resolves the host itself, checks every address it resolves to, and connects to the
checked address (the TLS name stays the host's), so a DNS answer that changes between check and connect
(rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpx

from integrations.errors import ConnectorError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenAddressError(ConnectorError):
    """The connector's host resolves to an address this server may not call."""


def parse_networks(networks: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def address_problem(address: IPAddress, allowed: tuple[IPNetwork, ...]) -> str | None:
    """Why ``address`` may not be called, or None."""
    if any(address in network for network in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_problem(address.ipv4_mapped, allowed)
    if not address.is_global or address.is_multicast:
        # Loopback, private (RFC 1918, unique local), link-local (169.254.169.254, the metadata endpoint),
        # carrier-grade NAT, reserved and unspecified addresses are all "not global".
        return f"{address} is not a public address"
    return None


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allowed_networks: Iterable[str] = (), **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.allowed = parse_networks(allowed_networks)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        address = await self._checked_address(host, request.url.port or (443 if request.url.scheme == "https" else 80))
        if str(address) == host:
            return await super().handle_async_request(request)
        # Connect to the address just checked; the Host header (set from the URL when the request was built) and
        # the TLS name (SNI, certificate) stay the host's.
        request.extensions = {**request.extensions, "sni_hostname": host}
        url, request.url = request.url, request.url.copy_with(host=str(address))
        try:
            return await super().handle_async_request(request)
        finally:
            # The client files the answer's cookies, and follows its redirects, by the request's URL: left on the
            # address, SAP's session cookie was kept for 127.0.0.1 and never sent to its host again, so every
            # CSRF-checked write was refused.
            request.url = url

    async def _checked_address(self, host: str, port: int) -> IPAddress:
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                resolved = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:  # UnicodeError: no name to ask for ("a..b", a label over 63)
                raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
            addresses = [ipaddress.ip_address(info[4][0]) for info in resolved]
        for address in addresses:  # every answer: one public address must not vouch for a private one
            problem = address_problem(address, self.allowed)
            if problem is not None:
                raise ForbiddenAddressError(
                    f"{host}: {problem}; connectors may only call public addresses "
                    "(an operator can allow networks with INTEGRATIONS_ALLOWED_NETWORKS)"
                )
        return addresses[0]
