"""Which network addresses the fetcher may connect to.

Publishers' URLs are untrusted input: a feed or a redirect may point at ``127.0.0.1``, the cloud
metadata service ``169.254.169.254`` or a host on the private network. ``AddressPolicy`` refuses
every address that is not plainly public, unless the operator allows it (tests and the demo allow
loopback). Python 3.11's ``ipaddress`` calls several IPv6 forms that embed an IPv4 address global
(``::127.0.0.1``, ``64:ff9b::7f00:1``, ``2002:7f00:1::``), and calls ``224.0.0.1`` merely multicast,
so the embedded addresses are unwrapped and every property is checked (KNOWN-FAULTS).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from broadsheet.errors import BlockedAddress, DNSError

IPAddress = IPv4Address | IPv6Address

_SHARED = IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598): spelled out for 3.11
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))  # RFC 6052, RFC 8215
_IPV4_COMPATIBLE = IPv6Network("::/96")  # deprecated ::a.b.c.d


def embedded_ipv4(ip: IPv6Address) -> list[IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    found: list[IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client)
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in net for net in _NAT64):
        found.append(low32)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # "::" and "::1" are themselves special anyway
        found.append(low32)
    return found


def is_special(ip: IPAddress) -> bool:
    """True when ``ip`` is not a plain public unicast address."""
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, IPv6Address) and ip.is_site_local)
        or (isinstance(ip, IPv4Address) and ip in _SHARED)
    )


class AddressPolicy:
    """Refuses private, loopback, link-local, multicast, reserved and shared addresses.

    ``allow`` holds hostnames (``localhost``: anything it resolves to is accepted), IP addresses
    and CIDR networks (``10.0.0.0/8``) that are accepted even though they are special.
    """

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self._hosts: set[str] = set()
        self._networks: list[IPv4Network | IPv6Network] = []
        for raw in allow:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self._hosts.add(entry.rstrip("."))

    def host_allowed(self, host: str) -> bool:
        """Whether ``host`` is allowed by name (its addresses are then not checked)."""
        return host.strip("[]").lower().rstrip(".") in self._hosts

    def _ip_allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self._networks)

    def check_ip(self, ip: str | IPAddress) -> None:
        """Raise ``BlockedAddress`` unless ``ip`` (and every IPv4 address it embeds) is fine."""
        addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        if isinstance(addr, IPv6Address) and addr.scope_id:
            addr = IPv6Address(str(addr).split("%", 1)[0])  # fe80::1%eth0: judge the address
        if self._ip_allowed(addr):
            return
        candidates: list[IPAddress] = [addr]
        if isinstance(addr, IPv6Address):
            if addr.ipv4_mapped is not None or any(addr in net for net in _NAT64):
                # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket, and a NAT64 address is how
                # an IPv6-only network reaches a.b.c.d: judge the IPv4 address alone (the
                # NAT64 prefix sits in the reserved ::/8, which would refuse every such site).
                candidates = []
            candidates.extend(embedded_ipv4(addr))
        for candidate in candidates:
            if not self._ip_allowed(candidate) and is_special(candidate):
                raise BlockedAddress(f"address {addr} is not public ({candidate})")

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Resolve ``host`` and check every address; the list is what may be connected to.

        Resolver forms such as ``127.1``, ``0x7f.1`` or ``2130706433`` are resolved by the
        system (as a browser would) and then refused like ``127.0.0.1``.
        """
        name = host.strip("[]")
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise DNSError(f"cannot resolve {host!r}: {exc}") from exc
        addresses: list[IPAddress] = []
        for info in infos:
            addr = ipaddress.ip_address(str(info[4][0]))
            if addr not in addresses:
                addresses.append(addr)
        if not addresses:
            raise DNSError(f"no address for {host!r}")
        if not self.host_allowed(name):
            for addr in addresses:
                self.check_ip(addr)
        return addresses
