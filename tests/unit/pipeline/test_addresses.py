from __future__ import annotations

import socket

import pytest

from broadsheet.errors import BlockedAddress, DNSError
from broadsheet.pipeline.addresses import AddressPolicy

BLOCKED = [
    "127.0.0.1",
    "127.255.0.1",
    "::1",
    "0.0.0.0",  # noqa: S104 - an address under test, not a bind
    "::",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "fe80::1",
    "fc00::1",
    "fec0::1",  # site-local
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "224.0.0.1",  # multicast (3.11 calls it global)
    "ff02::1",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::ffff:127.0.0.1",
    "::127.0.0.1",  # IPv4-compatible (3.11: global)
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1 (3.11: global)
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1 (3.11: global)
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]
PUBLIC = [
    "93.184.216.34",
    "1.1.1.1",
    "2606:4700::1111",
    "2a00:1450:4001:82b::200e",
    "::ffff:93.184.216.34",
    "64:ff9b::5db8:d822",
    "2002:5db8:d822::1",
]


@pytest.mark.parametrize("ip", BLOCKED)
def test_special_addresses_blocked(ip: str) -> None:
    with pytest.raises(BlockedAddress):
        AddressPolicy().check_ip(ip)


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses_pass(ip: str) -> None:
    AddressPolicy().check_ip(ip)


LOOPBACK_SPELLINGS = ["127.1", "0x7f.1", "0177.0.0.1", "2130706433", "localhost", "127.0.0.1"]


@pytest.mark.parametrize("host", [*LOOPBACK_SPELLINGS, "0.0.0.0"])  # noqa: S104
def test_resolver_forms_of_loopback_blocked(host: str) -> None:
    with pytest.raises(BlockedAddress):
        AddressPolicy().resolve(host, 80)


def test_allow_networks_and_ips() -> None:
    policy = AddressPolicy(["127.0.0.1", "10.0.0.0/8", " ", "[::1]"])
    policy.check_ip("127.0.0.1")
    policy.check_ip("::ffff:127.0.0.1")  # the same address, mapped
    policy.check_ip("10.20.30.40")
    policy.check_ip("::1")
    assert [str(ip) for ip in policy.resolve("127.1", 80)] == ["127.0.0.1"]
    with pytest.raises(BlockedAddress):
        policy.check_ip("127.0.0.2")
    with pytest.raises(BlockedAddress):
        policy.check_ip("169.254.169.254")


def test_allowed_hostname_skips_the_check() -> None:
    policy = AddressPolicy(["LocalHost."])
    assert policy.host_allowed("localhost")
    assert policy.resolve("localhost", 80)
    with pytest.raises(BlockedAddress):
        policy.resolve("127.0.0.1", 80)  # the name is allowed, not its address


def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(BlockedAddress):
        AddressPolicy().resolve("rebind.example", 443)


def test_resolution_failure_is_dns_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(DNSError):
        AddressPolicy().resolve("nowhere.example", 80)
