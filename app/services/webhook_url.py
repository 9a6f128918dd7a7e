"""The one rule for the addresses webhooks are sent to, at subscription and again at delivery.

A webhook makes this server send a signed POST wherever a department (or an admin) says: left
unchecked, it is a way into the platform's own network (a local port, the cloud's metadata
service at 169.254.169.254, an intranet host). So an address is accepted only when it is
https (``WEBHOOK_REQUIRE_HTTPS``, on in production), carries no user name, password or fragment,
names a sane port, and every address its host resolves to is a public Internet address: not
loopback, private, link-local, CGNAT, multicast, reserved, unspecified or documentation space,
in IPv4, IPv6 or IPv4 written inside IPv6. Integer, octal and hex host forms
(``http://2130706433/``) are refused outright: only the four-decimal form names an IPv4 address.

The check returns the addresses it vetted, and the dispatcher connects to one of those (not to
the name again): a name that resolves to a public address at the check and to 127.0.0.1 a
moment later (DNS rebinding) still reaches only the vetted address.

``WEBHOOK_ALLOWED_NETWORKS`` (empty by default) lists networks the operator allows despite the
address rule: a receiver on a known intranet, or the tests' receivers on 127.0.0.1. Below every
service package: the accounts (subscriptions) and the notices (delivery) both use it.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Iterable[str]]

MAX_LENGTH = 500  # the column's size

# Not the Internet (RFC 6890 and the IANA special-purpose registries), written out rather than
# left to ``ipaddress.is_global``, whose answers changed between Python releases.
_NOT_PUBLIC_V4 = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8",  # "this network", 0.0.0.0 included
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # private
    "100.64.0.0/10",  # carrier-grade NAT (and some clouds' metadata, e.g. 100.100.100.200)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, the metadata service 169.254.169.254
    "192.0.0.0/24", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # protocol, documentation
    "192.88.99.0/24",  # 6to4 relays
    "198.18.0.0/15",  # benchmarking
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, the broadcast address
))
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")  # the rest of IPv6 is none of the Internet's
_NOT_PUBLIC_V6 = tuple(ipaddress.IPv6Network(n) for n in (
    "2001::/23",  # protocol assignments: Teredo, ORCHID, benchmarking
    "2001:db8::/32", "3fff::/20",  # documentation
    "2002::/16",  # 6to4: an IPv4 address inside, maybe a private one
))
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")  # a host whose last label is a number is IPv4
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_SANE_PORTS = range(1024, 65536)  # and the defaults 80 and 443: not 22, 25, 3306 ... of a host


@dataclass(frozen=True)
class Target:
    """A vetted address: what to connect to (``addresses``, all public or allowed) and what to
    say there (``host`` for SNI and the certificate, ``netloc`` for the Host header)."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA), lower case, no brackets
    port: int
    netloc: str  # ASCII, the port only if the URL names one
    path: str  # with the query, in ASCII
    addresses: tuple[Address, ...]


def is_public(address: Address) -> bool:
    """An address of the public Internet (an IPv4-mapped IPv6 address is judged as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address not in _GLOBAL_UNICAST_V6 or any(address in n for n in _NOT_PUBLIC_V6):
            return False
    elif any(address in n for n in _NOT_PUBLIC_V4):
        return False
    return address.is_global and not address.is_multicast


def parse_networks(value: str | Iterable[str] | None) -> tuple[Network, ...]:
    """The allow-list from its setting: CIDR networks (or single addresses), a list or a
    comma-separated string. Raises ValueError on one that does not parse."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (IPv4 and IPv6)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def check(url: str, *, resolver: Resolver | None = None) -> Target:
    """The rule with this application's settings; raises ``InvalidInput`` (translated) if refused."""
    config = current_app.config
    return vet(url, require_https=config["WEBHOOK_REQUIRE_HTTPS"],
               allowed=parse_networks(config.get("WEBHOOK_ALLOWED_NETWORKS")), resolver=resolver)


def vet(url: str, *, require_https: bool, allowed: Sequence[Network] = (),
        resolver: Resolver | None = None) -> Target:
    """Check ``url`` and resolve its host; every address must be public or in ``allowed``."""
    url = _well_formed(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if require_https and scheme != "https":
        raise InvalidInput(_l("The address must start with https://."))
    if scheme not in ("http", "https"):
        raise InvalidInput(_l("The address must be an http or https URL."))
    if "@" in parts.netloc:
        raise InvalidInput(_l("The address must not contain a user name or password."))
    if parts.fragment or "#" in url:
        raise InvalidInput(_l("The address must not contain a fragment (#)."))
    port = _port(parts, scheme)
    host, literal = _host(parts.hostname or "")
    found = [literal] if literal is not None else _resolve(host, port, resolver or system_resolver)
    addresses = [_unmapped(a) for a in found]
    for address in addresses:
        if is_public(address) or any(address in n for n in allowed if n.version == address.version):
            continue
        if literal is not None:
            raise InvalidInput(_l("The address %(host)s is not a public Internet address; webhooks are only "
                                  "sent to public addresses.", host=host))
        raise InvalidInput(_l("%(host)s resolves to an address that is not a public Internet address; "
                              "webhooks are only sent to public addresses.", host=host))
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if parts.port is not None else "")
    path = _ascii(parts.path or "/") + (f"?{_ascii(parts.query)}" if parts.query else "")
    return Target(url=url, scheme=scheme, host=host, port=port, netloc=netloc, path=path,
                  addresses=tuple(dict.fromkeys(addresses)))


def _ascii(text: str) -> str:
    """A path or query as it goes on the wire: characters beyond ASCII percent-encoded (UTF-8)."""
    return re.sub(r"[^\x21-\x7e]", lambda m: quote(m.group()), text)


def _well_formed(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(_l("The address must be an http or https URL."))
    url = url.strip()
    if len(url) > MAX_LENGTH:
        raise InvalidInput(_l("The address may be at most %(count)d characters long.", count=MAX_LENGTH))
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c == "\\" for c in url):
        raise InvalidInput(_l("The address must not contain spaces, backslashes or control characters."))
    return url


def _port(parts, scheme: str) -> int:
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is None:
        return 443 if scheme == "https" else 80
    if port not in (80, 443) and port not in _SANE_PORTS:
        raise InvalidInput(_l("The port must be 80, 443 or a number from 1024 to 65535."))
    return port


def _host(host: str) -> tuple[str, Address | None]:
    """The host in ASCII, and its address when it is an IP literal."""
    if not host:
        raise InvalidInput(_l("The address must name a host."))
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if isinstance(literal, ipaddress.IPv6Address) and literal.scope_id:
            raise InvalidInput(_l("The address must not name an IPv6 zone."))
        return host, literal
    if "%" in host or ":" in host:
        raise InvalidInput(_l("%(host)s is not a valid host name.", host=host))
    if _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
        # 2130706433, 0x7f000001, 0177.0.0.1, 127.1: resolvers read these as IPv4; people do not.
        raise InvalidInput(_l("Write an IP address as four decimal numbers (such as 93.184.215.14)."))
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidInput(_l("%(host)s is not a valid host name.", host=host)) from None
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(_l("%(host)s is not a valid host name.", host=host))
    return ascii_host, None


def _resolve(host: str, port: int, resolver: Resolver) -> list[Address]:
    try:
        found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host, port)]
    except (OSError, UnicodeError, ValueError):
        found = []
    if not found:
        raise InvalidInput(_l("The host %(host)s could not be found (DNS).", host=host))
    return found


def _unmapped(address: Address) -> Address:
    """::ffff:127.0.0.1 is 127.0.0.1: judged, allowed and connected to as the IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
