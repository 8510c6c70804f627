"""The country of an IP address, looked up offline: what a proxy check does with the exit address it saw.

The table is the one the ``iptocc`` package ships inside its wheel (MIT OR Apache-2.0; built from the five
Regional Internet Registries' delegation files, refreshed with each release): no file to download, no
service to call, no key. It gives the country a block is *registered* to, which agrees with commercial
geolocation for about 95% of IPv4 addresses (the package's own note); a datacenter block registered in one
country and announced in another is the usual miss. A newer ``iptocc`` release brings newer data.

Loopback, private, link-local and other non-public addresses have no country (None), nor has anything
that is not an IP address: a check that saw such an exit (a proxy on this machine, a NAT'd test network)
leaves the proxy's typed country label as the one binding uses.
"""

from __future__ import annotations

import ipaddress


def public_address(value: str | None) -> str | None:
    """``value`` as a canonical public IP address, or None (not an address, or not a global one)."""
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address) if address.is_global else None


def country_of(value: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 country (upper case) of a public IP address, from the shipped table; None for
    an address the table does not place, a non-public address, or anything that is not an address."""
    address = public_address(value)
    if address is None:
        return None
    from iptocc import country_code  # the table loads on first use, not at import of the pools

    code = country_code(address)
    return code.upper() if code and len(code) == 2 and code.isalpha() else None
