"""Client addresses as the rate limits count them: one IPv6 client is its /64
(a home or an office gets a whole /64, and picks any address of it), and an
IPv4 client is the same client whether it arrives as 192.0.2.1 or as the
IPv4-mapped ::ffff:192.0.2.1 of a dual-stack socket."""

from __future__ import annotations

import ipaddress

from flask import request


def limit_address(address: str | None) -> str:
    """The key of `address` for per-address limits."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone
    except ValueError:
        return address  # not an address (a unix socket's peer): counted as given
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def request_address() -> str:
    """key_func: the per-address limit key of this request's client."""
    return limit_address(request.remote_addr)
