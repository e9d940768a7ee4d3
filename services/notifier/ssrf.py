"""The guard that keeps webhook requests out of the regency's own network.

Whoever registers a webhook chooses the URL the notifier will POST to from inside the
data centre. Without a guard that is a server-side request forgery: a URL pointing at
`127.0.0.1`, a database on `10.x`, or the cloud metadata service on `169.254.169.254` would
make the notifier attack its neighbours. So a URL is accepted only when every address its
host resolves to is a public one, unless the operator allows private targets (a regency
intranet where OPD systems live, or a test) for all hosts or for listed hosts and networks.

The check runs when an endpoint is registered or changed, and again before every attempt:
DNS may change in between (DNS rebinding), so the delivery resolves the name, checks the
addresses and then connects to the checked address itself rather than letting the HTTP
client resolve the name a second time.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
# Carrier-grade NAT space (RFC 6598) is neither "private" nor global in Python's eyes.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# IPv6 forms that stand for an IPv4 address, which is what a connection finally reaches:
# NAT64's well-known prefix (RFC 6052), whose gateway connects on our behalf; SIIT's
# IPv4-translated addresses (RFC 2765); the deprecated IPv4-compatible ::a.b.c.d (RFC 4291),
# which Python counts as global. (IPv4-mapped ::ffff:a.b.c.d has its own attribute.)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
# The local-use NAT64 prefix (RFC 8215) is translated by the local network's own gateway,
# to whatever it was set up for: never a public target.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")

# Indirection so tests can stand in for DNS (a name that resolves to loopback, a rebinding).
_getaddrinfo = socket.getaddrinfo


class UnsafeUrl(ValueError):
    """A URL the notifier will not call; the message is for the person who gave it."""


@dataclass(frozen=True)
class EgressPolicy:
    """Which webhook targets the operator allows.

    allow_private: any address at all (loopback, private, link-local, …) is acceptable.
    allowed_hosts: host names (exact, case-insensitive), IP addresses or CIDR networks that
        may be private although the rest may not, e.g. an OPD system on the intranet.
    allow_http: plain `http://` URLs are acceptable (otherwise `https://` only).
    """

    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()
    allow_http: bool = False

    def allowed_names(self) -> frozenset[str]:
        return frozenset(
            h.lower().rstrip(".") for h in self.allowed_hosts if as_network(h) is None
        )

    def allowed_networks(self) -> tuple[IPNetwork, ...]:
        return tuple(n for n in (as_network(h) for h in self.allowed_hosts) if n is not None)


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses it may be reached at, in resolver order."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def check_url_syntax(url: str, policy: EgressPolicy) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL, without touching DNS."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"URL wajib diisi, paling banyak {MAX_URL_LENGTH} karakter.")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise UnsafeUrl("URL tidak boleh memuat spasi atau karakter kendali.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl("URL tidak dapat dibaca.") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("URL harus memakai skema https.")
    if scheme == "http" and not policy.allow_http:
        raise UnsafeUrl("URL harus memakai https; http tidak diizinkan di sini.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("URL tidak boleh memuat nama pengguna atau kata sandi.")
    if parts.fragment:
        raise UnsafeUrl("URL tidak boleh memuat fragmen (#…).")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("URL tidak memuat nama host.")
    if _as_address(host) is None:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise UnsafeUrl("Nama host pada URL tidak sah.") from exc
    if port == 0:
        raise UnsafeUrl("Port pada URL tidak sah.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve(url: str, policy: EgressPolicy) -> Target:
    """Check a URL and resolve its host; raises `UnsafeUrl` unless every address is allowed."""
    scheme, host, port = check_url_syntax(url, policy)
    literal = _as_address(host)
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        addresses = _lookup(host, port)
    if not policy.allow_private and host not in policy.allowed_names():
        networks = policy.allowed_networks()
        for address in addresses:
            reason = refusal_reason(address)
            if reason and not any(address in net for net in networks):
                raise UnsafeUrl(f"Alamat tujuan {address} ditolak: {reason}.")
    return Target(url=url, scheme=scheme, host=host, port=port, addresses=addresses)


def refusal_reason(address: IPAddress) -> str | None:
    """Why an address is not a public Internet address, or None when it is.

    An IPv6 address that wraps IPv4 ones is judged by them too: 6to4 (2002::/16) and
    Teredo (2001::/32) tunnels deliver to the IPv4 address inside, so `2002:7f00:1::` is
    loopback in disguise.
    """
    stands_for = _stands_for_ipv4(address)
    if stands_for is not None:
        return refusal_reason(stands_for)
    for embedded in _tunnelled_ipv4(address):
        reason = refusal_reason(embedded)
        if reason:
            return f"{reason} di dalam alamat terowongan IPv6"
    checks = (
        (address.is_unspecified, "alamat tak tertentu"),
        (address.is_loopback, "alamat loopback"),
        (address.is_link_local, "alamat link-local"),
        (address.is_multicast, "alamat multicast"),
        (isinstance(address, ipaddress.IPv6Address) and address in _LOCAL_NAT64,
         "alamat NAT64 lokal"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "alamat CGNAT"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "alamat site-local"),
        (address.is_private, "alamat jaringan privat"),
        (address.is_reserved, "alamat cadangan"),
        (not address.is_global, "bukan alamat Internet publik"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None


def _stands_for_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one is only another spelling of (mapped, translated,
    compatible, NAT64), which is what gets reached."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    # `::` and `::1` sit inside ::/96 but are IPv6's own unspecified and loopback addresses.
    compatible = address in _COMPATIBLE and int(address) > 1
    if compatible or address in _NAT64 or address in _TRANSLATED:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses a 6to4 or Teredo address carries (Teredo: server and client)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return ()
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo
    return ()


def _lookup(host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        infos = _getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UnsafeUrl(f"Nama host {host} tidak dapat ditemukan.") from exc
    addresses = _unique(_as_address(str(info[4][0])) for info in infos)
    if not addresses:
        raise UnsafeUrl(f"Nama host {host} tidak memiliki alamat.")
    return addresses


def _unique(items: Iterable[IPAddress | None]) -> tuple[IPAddress, ...]:
    seen: list[IPAddress] = []
    for item in items:
        if item is not None and item not in seen:
            seen.append(item)
    return tuple(seen)


def _as_address(text: str) -> IPAddress | None:
    # A zone index (`fe80::1%eth0`) names an interface, not a different address.
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def as_network(text: str) -> IPNetwork | None:
    """The address or network `text` names (`10.0.0.5`, `10.20.0.0/16`), or None."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
