"""The SSRF guard sees through IPv6 spellings and tunnels of IPv4 addresses."""

from __future__ import annotations

import ipaddress

import pytest

from services.notifier import ssrf
from services.notifier.ssrf import EgressPolicy, UnsafeUrl

STRICT = EgressPolicy()


def _6to4(v4: str) -> str:
    packed = int(ipaddress.IPv4Address(v4))
    return str(ipaddress.IPv6Address((0x2002 << 112) | (packed << 80)))


def _teredo(server: str, client: str) -> str:
    # RFC 4380: prefix, server, flags, obfuscated port, obfuscated client address.
    value = (0x20010000 << 96) | (int(ipaddress.IPv4Address(server)) << 64)
    value |= (0xFFFF ^ 40000) << 32
    value |= int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF
    return str(ipaddress.IPv6Address(value))


@pytest.mark.parametrize(
    "host",
    [
        "2002:7f00:1::",                       # 6to4 of 127.0.0.1, as reported
        _6to4("10.0.0.1"),
        _6to4("169.254.169.254"),
        _6to4("192.168.1.1"),
        _teredo("65.54.227.120", "127.0.0.1"),  # a public relay, a loopback client
        _teredo("65.54.227.120", "10.1.2.3"),
        _teredo("10.0.0.1", "93.184.216.34"),
        "::7f00:1",                            # IPv4-compatible 127.0.0.1
        "::a00:1",
        "::ffff:0:7f00:1",                     # SIIT IPv4-translated 127.0.0.1
        "64:ff9b::7f00:1",                     # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",                  # NAT64 of the metadata service
        "64:ff9b:1::a00:1",                    # local-use NAT64 prefix
        "::ffff:169.254.169.254",
    ],
)
def test_ipv6_wrappers_of_internal_addresses_are_refused(host):
    with pytest.raises(UnsafeUrl, match="ditolak"):
        ssrf.resolve(f"https://[{host}]/hook", STRICT)


@pytest.mark.parametrize(
    "host",
    [
        _6to4("93.184.216.34"),
        "64:ff9b::5db8:d822",  # NAT64 of a public address
        "2606:4700:4700::1111",
    ],
)
def test_wrappers_of_public_addresses_stay_acceptable(host):
    assert ssrf.resolve(f"https://[{host}]/hook", STRICT).addresses == (ipaddress.ip_address(host),)


def test_the_reason_names_the_tunnelled_address_kind():
    assert ssrf.refusal_reason(ipaddress.ip_address("2002:7f00:1::")) == (
        "alamat loopback di dalam alamat terowongan IPv6"
    )
    assert ssrf.refusal_reason(ipaddress.ip_address("::1")) == "alamat loopback"
    assert ssrf.refusal_reason(ipaddress.ip_address("::")) == "alamat tak tertentu"
